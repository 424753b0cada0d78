/** Pull-style reading of a byte stream: lines and exact byte counts (for `git cat-file --batch`). */
import type { Readable } from 'node:stream'

export class ByteReader {
  private buf: Buffer = Buffer.alloc(0)
  private readonly it: AsyncIterator<Buffer>

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  }

  private async fill(): Promise<boolean> {
    const r = await this.it.next()
    if (r.done) return false
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value
    return true
  }

  /** the next line without its `\n`; throws at end of stream */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf(10)
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString('utf8')
        this.buf = this.buf.subarray(i + 1)
        return line
      }
      if (!(await this.fill())) throw new Error('unexpected end of stream while reading a line')
    }
  }

  /** exactly `n` bytes, in chunks as they arrive; throws at end of stream */
  async *bytes(n: number): AsyncGenerator<Buffer> {
    let left = n
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw new Error(`unexpected end of stream (${left} bytes missing)`)
      const take = Math.min(left, this.buf.length)
      yield this.buf.subarray(0, take)
      this.buf = this.buf.subarray(take)
      left -= take
    }
  }

  /** exactly `n` bytes as one buffer */
  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = []
    for await (const chunk of this.bytes(n)) parts.push(chunk)
    return Buffer.concat(parts)
  }
}
