/**
 * The object-store port under the run store (DESIGN.md "Store layout"): an S3 bucket + prefix,
 * or a folder with the same keys. Keys are `/`-separated, relative, and checked by `assertKey`
 * before they reach a path or a request.
 */
import { UserError } from '../model/errors.js'
import type { StoreLocation } from '../model/store-location.js'

export interface PutOptions {
  /** write only when the key does not exist yet; `put` then returns false if it did */
  ifAbsent?: boolean
  contentType?: string
}

/** one page of a listing that starts after a key (see `ObjectStore.listAfter`) */
export interface ListPage {
  /** sorted by key; `tag` changes whenever the object is rewritten (S3 ETag, or size + mtime) */
  objects: { key: string; size: number; tag: string }[]
  /** more keys follow the last one returned */
  truncated: boolean
}

export interface ObjectStore {
  readonly location: StoreLocation
  /** the object's bytes, or undefined when the key does not exist */
  get(key: string): Promise<Buffer | undefined>
  getText(key: string): Promise<string | undefined>
  /** true when written; false when `ifAbsent` was set and the key already existed */
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<boolean>
  /** upload a local file (multipart for large files on S3) */
  putFile(key: string, path: string, opts?: { contentType?: string }): Promise<void>
  /** download to a local file (atomically: temp file + rename); false when the key does not exist */
  getToFile(key: string, path: string): Promise<boolean>
  exists(key: string): Promise<boolean>
  /** every object whose key starts with `prefix` (recursive), sorted by key, all pages */
  list(prefix: string): Promise<{ key: string; size: number }[]>
  /**
   * names of the child "folders" directly under `prefix` (delimiter `/`): for `a/` with objects
   * `a/x/1` and `a/y/2/3` → `['x', 'y']`. Sorted.
   */
  listPrefixes(prefix: string): Promise<string[]>
  /**
   * ONE request: at most `maxKeys` objects under `prefix` whose key sorts after `startAfter`
   * (S3 ListObjectsV2 `StartAfter`), so following a growing folder costs the same whatever its size.
   */
  listAfter(prefix: string, startAfter: string, maxKeys: number): Promise<ListPage>
  /**
   * Calls `onChange` soon after something under `prefix` may have changed, until the returned
   * function is called; only stores that learn of changes without asking (a local folder) have it.
   */
  watch?(prefix: string, onChange: () => void): () => void
  /** delete one object; deleting a missing key is not an error */
  delete(key: string): Promise<void>
  /** where a human finds the key: a file path for folders, an https URL for S3 (`key` may end in `/`) */
  url(key: string): string
  /** a time-limited https GET URL (S3 only) */
  presignGet?(key: string, seconds: number): Promise<string>
}

/**
 * Checks an object key (or a listing prefix when `prefix` is true: may be empty or end with `/`).
 * Rejects absolute keys, empty, `.` and `..` segments, backslashes and control characters.
 * Shell metacharacters are allowed here (no shell ever sees a key built by this module); run,
 * tag and repo names are held to the stricter rules of src/model/names.ts by `keys`.
 */
export function assertKey(key: string, opts: { prefix?: boolean } = {}): string {
  const bad = (why: string): never => {
    throw new UserError(`invalid store key ${JSON.stringify(key)}: ${why}`)
  }
  if (typeof key !== 'string') bad('not a string')
  if (key === '') {
    if (opts.prefix) return key
    bad('empty')
  }
  if (Buffer.byteLength(key) > 900) bad('longer than 900 bytes')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) bad('control characters or backslashes')
  if (key.startsWith('/')) bad('must be relative')
  const parts = key.split('/')
  if (opts.prefix && parts[parts.length - 1] === '') parts.pop()
  for (const p of parts) {
    if (p === '') bad('empty path segment')
    if (p === '.' || p === '..') bad('"." and ".." segments are not allowed')
  }
  return key
}

/** JSON as the store writes it: 2-space indent, trailing newline */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n'
}
