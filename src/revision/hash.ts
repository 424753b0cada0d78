import { createHash } from 'node:crypto'

/** sha256 of `data` as lower-case hex */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}
