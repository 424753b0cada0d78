/**
 * File-system errors of a folder store, said plainly: which file or folder, what was being done,
 * and why (read-only, permission, no space…), as a UserError. And a `mkdir -p` that cannot spin:
 * Node's recursive mkdir loops forever under /proc, where a missing parent can never be created.
 */
import { promises as fs } from 'node:fs'
import { dirname } from 'node:path'
import { UserError } from '../model/errors.js'

const WHY: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'a folder on the way does not exist and cannot be created',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'something else already exists there',
  ENAMETOOLONG: 'the name is too long for the file system',
  EMFILE: 'too many open files',
  EIO: 'an input/output error of the device'
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/** a UserError for an errno error (other errors are returned as they are) */
export function storeFsError(what: string, path: string, storeRoot: string, err: unknown): unknown {
  const code = errnoCode(err)
  if (!code || !(code in WHY)) return err
  return new UserError(
    `cannot ${what} ${path} in the run store ${storeRoot}: ${WHY[code]} (${code})`,
    'give a folder you can write to with --store (or DSTACK_STORE), or fix the permissions of this one'
  )
}

/** `mkdir -p` that creates one level at a time from the nearest existing folder, and never loops */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = []
  let d = dir
  for (;;) {
    try {
      const st = await fs.stat(d)
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a folder`), { code: 'ENOTDIR', path: d })
      break
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      missing.push(d)
      const up = dirname(d)
      if (up === d) break
      d = up
    }
  }
  for (const m of missing.reverse()) {
    try {
      await fs.mkdir(m)
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err
    }
  }
}
