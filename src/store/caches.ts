/**
 * The `cache` of a workflow in the run store (docs/cache.md): listing, choosing, pruning.
 *
 *   <repoId>/caches/<workflow>/<path id>/<key>.json            what the runner saved (the index entry)
 *   <repoId>/caches/<workflow>/<path id>/<key>.tar.zst|tar.gz  the folder's files
 *   <repoId>/untrusted-caches/…                                the same, saved by untrusted runs
 *
 * A trusted run reads only `caches/`; an untrusted run reads both and writes `untrusted-caches/`,
 * so nothing an untrusted run wrote is ever restored into a trusted one.
 */
import { createHash } from 'node:crypto'
import { assertName, assertRepoId } from '../model/names.js'
import { UserError } from '../model/errors.js'
import type { ObjectStore } from './object-store.js'

export type CacheFormat = 'tar.zst' | 'tar.gz'

export interface CacheEntry {
  workflow: string
  /** the path as the workflow lists it (`~/.cache/pip`, `data`, `/opt/x`) */
  path: string
  key: string
  format: CacheFormat
  size: number
  sha256: string
  createdAt: string
  run: string
  trusted: boolean
  /** store key of the index entry (`….json`) and of the archive */
  entryKey: string
  archiveKey: string
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const PREFIX_RE = /^[A-Za-z0-9._-]{0,128}$/

/** a cache key: letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most 128 */
export function assertCacheKey(key: string): string {
  if (typeof key !== 'string' || !KEY_RE.test(key)) throw new UserError(`invalid cache key ${JSON.stringify(key)}: letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit, at most 128 characters`)
  return key
}

/** a restore key (a prefix of keys; empty matches every key) */
export function assertRestoreKey(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) throw new UserError(`invalid cache restore key ${JSON.stringify(prefix)}: letters, digits, \`.\`, \`_\` and \`-\`, at most 128 characters`)
  return prefix
}

/** a path's folder name in the store: 16 hex digits of its sha256 (the path itself is in each entry) */
export function cachePathId(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 16)
}

export const cacheKeys = {
  /** `<repoId>/caches/` or `<repoId>/untrusted-caches/` */
  root: (repoId: string, trusted: boolean): string => `${assertRepoId(repoId)}/${trusted ? 'caches' : 'untrusted-caches'}/`,
  workflow: (repoId: string, workflow: string, trusted: boolean): string => `${cacheKeys.root(repoId, trusted)}${assertName('workflow name', workflow)}/`,
  /** the folder of one listed path's entries */
  dir: (repoId: string, workflow: string, path: string, trusted: boolean): string => `${cacheKeys.workflow(repoId, workflow, trusted)}${cachePathId(path)}/`,
  /** `…/<key>` without its extension: the runner adds `.json` and `.tar.zst` / `.tar.gz` */
  entryBase: (repoId: string, workflow: string, path: string, key: string, trusted: boolean): string => `${cacheKeys.dir(repoId, workflow, path, trusted)}${assertCacheKey(key)}`
}

function parseEntry(text: string, entryKey: string, trusted: boolean): CacheEntry | undefined {
  let j: unknown
  try {
    j = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!j || typeof j !== 'object') return undefined
  const o = j as Record<string, unknown>
  const key = entryKey.slice(entryKey.lastIndexOf('/') + 1, -'.json'.length)
  if (o.key !== key || !KEY_RE.test(key)) return undefined
  if (o.format !== 'tar.zst' && o.format !== 'tar.gz') return undefined
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) return undefined
  if (typeof o.path !== 'string' || typeof o.workflow !== 'string' || typeof o.createdAt !== 'string') return undefined
  const size = typeof o.size === 'number' && Number.isSafeInteger(o.size) && o.size >= 0 ? o.size : 0
  return {
    workflow: o.workflow,
    path: o.path,
    key,
    format: o.format,
    size,
    sha256: o.sha256,
    createdAt: o.createdAt,
    run: typeof o.run === 'string' ? o.run : '',
    // the namespace decides, never what the entry says of itself
    trusted,
    entryKey,
    archiveKey: `${entryKey.slice(0, -'.json'.length)}.${o.format}`
  }
}

/** the entries of a repository (one workflow, and one path, when given), newest first; damaged entries are left out */
export async function listCaches(store: ObjectStore, repoId: string, o: { workflow?: string; path?: string; trusted: boolean | 'both' }): Promise<CacheEntry[]> {
  const spaces = o.trusted === 'both' ? [true, false] : [o.trusted]
  const lists = await Promise.all(
    spaces.map(async (trusted) => {
      const prefix = o.workflow === undefined ? cacheKeys.root(repoId, trusted) : o.path === undefined ? cacheKeys.workflow(repoId, o.workflow, trusted) : cacheKeys.dir(repoId, o.workflow, o.path, trusted)
      const objects = (await store.list(prefix)).filter((x) => x.key.endsWith('.json'))
      const entries = await Promise.all(objects.map(async (x) => parseEntry((await store.getText(x.key).catch(() => undefined)) ?? '', x.key, trusted)))
      return entries.filter((e): e is CacheEntry => e !== undefined && (o.path === undefined || e.path === o.path))
    })
  )
  return lists.flat().sort(newestFirst)
}

function newestFirst(a: CacheEntry, b: CacheEntry): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.key < b.key ? 1 : -1
}

export interface CacheChoice {
  entry: CacheEntry
  /** `exact`: the key itself; else the restore key whose newest entry was taken */
  matched: 'exact' | { restoreKey: string }
}

/**
 * actions/cache's rule: the entry of the exact key, else, for each restore key in order, the newest
 * entry whose key starts with it. `entries` must already be the ones this run may read.
 */
export function chooseCache(entries: CacheEntry[], key: string, restoreKeys: string[]): CacheChoice | undefined {
  const sorted = [...entries].sort(newestFirst)
  const exact = sorted.find((e) => e.key === key)
  if (exact) return { entry: exact, matched: 'exact' }
  for (const r of restoreKeys) {
    const hit = sorted.find((e) => e.key.startsWith(r))
    if (hit) return { entry: hit, matched: { restoreKey: r } }
  }
  return undefined
}

/** deletes an entry: its index first (so no one chooses it), then its archive */
export async function removeCache(store: ObjectStore, e: Pick<CacheEntry, 'entryKey' | 'archiveKey'>): Promise<void> {
  await store.delete(e.entryKey)
  await store.delete(e.archiveKey)
}

/** keeps the `keep` newest entries of each path and namespace, deletes the others; returns what it deleted */
export async function pruneCaches(store: ObjectStore, entries: CacheEntry[], keep: number): Promise<CacheEntry[]> {
  const groups = new Map<string, CacheEntry[]>()
  for (const e of entries) {
    const g = `${e.trusted}/${e.workflow}/${e.path}`
    groups.set(g, [...(groups.get(g) ?? []), e])
  }
  const gone = [...groups.values()].flatMap((list) => list.sort(newestFirst).slice(Math.max(0, keep)))
  for (const e of gone) await removeCache(store, e)
  return gone
}
