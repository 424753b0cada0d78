/** Streams an attempt's log chunks from the store in order, each exactly once. */
import type { RunStore } from '../store/index.js'

export class LogFollower {
  private next = 0

  constructor(
    private readonly store: RunStore,
    private readonly repoId: string,
    private readonly run: string,
    private readonly attempt: number,
    private readonly sink: (text: string) => void
  ) {}

  /** print every chunk that has arrived since the last call, in sequence; stops at the first gap */
  async poll(): Promise<number> {
    const seqs = new Set(await this.store.listLogChunks(this.repoId, this.run, this.attempt))
    let printed = 0
    while (seqs.has(this.next)) {
      const chunk = await this.store.readLogChunk(this.repoId, this.run, this.attempt, this.next)
      if (chunk === undefined) break
      this.sink(chunk.toString('utf8'))
      this.next++
      printed++
    }
    return printed
  }

  /** after the attempt ended: everything that is there, even past a gap (a lost chunk is reported) */
  async drain(): Promise<void> {
    await this.poll()
    const seqs = (await this.store.listLogChunks(this.repoId, this.run, this.attempt)).filter((s) => s >= this.next).sort((a, b) => a - b)
    for (const s of seqs) {
      if (s !== this.next) this.sink(`[log chunks ${this.next}..${s - 1} are missing from the store]\n`)
      const chunk = await this.store.readLogChunk(this.repoId, this.run, this.attempt, s)
      if (chunk) this.sink(chunk.toString('utf8'))
      this.next = s + 1
    }
  }

  get chunksSeen(): number {
    return this.next
  }
}
