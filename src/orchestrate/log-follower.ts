/**
 * Streams an attempt's log chunks from the store in order, each exactly once. A poll costs one
 * listing request that starts after the last chunk seen (plus one read per new chunk), however long
 * the run has been going; the same listing tells whether status.json changed.
 */
import type { RunStore } from '../store/index.js'

/** chunks asked for per listing (S3's maximum page) */
const PAGE = 1000

export class LogFollower {
  private next = 0
  private status: string | undefined
  /** one stream per attempt: a UTF-8 character split across two chunks is decoded whole */
  private readonly decoder = new TextDecoder('utf-8')

  constructor(
    private readonly store: RunStore,
    private readonly repoId: string,
    private readonly run: string,
    private readonly attempt: number,
    private readonly sink: (text: string) => void,
    /** a node of a multi-node attempt: its own logs and status (`…/attempts/<n>/nodes/<rank>/`) */
    private readonly rank?: number
  ) {}

  /** print every chunk that has arrived since the last call, in sequence; stops at the first gap */
  async poll(): Promise<number> {
    const u = await this.store.attemptUpdates(this.repoId, this.run, this.attempt, this.next - 1, PAGE, this.rank)
    if (u.statusTag !== undefined) this.status = u.statusTag
    let printed = 0
    for (const seq of u.chunks) {
      if (seq !== this.next) break // a gap: the chunk may still come; drain() reports it if it never does
      const chunk = await this.store.readLogChunk(this.repoId, this.run, this.attempt, seq, this.rank)
      if (chunk === undefined) break
      this.sink(this.decoder.decode(chunk, { stream: true }))
      this.next++
      printed++
    }
    return printed
  }

  /** after the attempt ended: everything that is there, even past a gap (a lost chunk is reported) */
  async drain(): Promise<void> {
    await this.poll()
    for (;;) {
      const u = await this.store.attemptUpdates(this.repoId, this.run, this.attempt, this.next - 1, PAGE, this.rank)
      for (const s of u.chunks) {
        if (s !== this.next) this.sink(`${this.decoder.decode()}[log chunks ${this.next}..${s - 1} are missing from the store]\n`)
        const chunk = await this.store.readLogChunk(this.repoId, this.run, this.attempt, s, this.rank)
        if (chunk) this.sink(this.decoder.decode(chunk, { stream: true }))
        this.next = s + 1
      }
      if (!u.truncated || u.chunks.length === 0) break
    }
    const rest = this.decoder.decode()
    if (rest) this.sink(rest)
  }

  get chunksSeen(): number {
    return this.next
  }

  /** status.json's version as of the last poll that reached it (undefined before it is written) */
  get statusTag(): string | undefined {
    return this.status
  }
}
