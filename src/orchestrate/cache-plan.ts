/**
 * Which stored cache entry each `cache` path of a run restores, and where it saves (docs/cache.md).
 * A trusted run reads only the trusted namespace; an untrusted run reads both and writes its own.
 */
import type { RunSpec } from '../model/index.js'
import type { RunnerCache } from '../runner/plan.js'
import { cacheKeys, chooseCache, listCaches, pruneCaches, type CacheEntry } from '../store/caches.js'
import type { ObjectStore } from '../store/object-store.js'
import type { EventSink } from './events.js'

/** entries kept per path and namespace; older ones are deleted when a run of the workflow starts */
export const CACHE_KEEP = 5

export interface CachePlanInput {
  store: ObjectStore
  repoId: string
  spec: Pick<RunSpec, 'workflow' | 'cache' | 'cacheOptions'>
  trusted: boolean
  /** the commit: the default key */
  revisionSha: string
  emit?: EventSink
}

/** the default key: the commit (12 hex digits), with every earlier entry as the fall-back */
export function defaultCacheKey(revisionSha: string): string {
  return `git-${revisionSha.replace(/[^0-9A-Za-z]/g, '').slice(0, 12) || 'none'}`
}

export async function planCaches(p: CachePlanInput): Promise<RunnerCache[]> {
  const out: RunnerCache[] = []
  for (const path of p.spec.cache) {
    const own = p.spec.cacheOptions?.[path]
    const key = own?.key ?? defaultCacheKey(p.revisionSha)
    const restoreKeys = own?.restoreKeys ?? (own?.key === undefined ? [''] : [])
    let entries: CacheEntry[] = []
    try {
      entries = await listCaches(p.store, p.repoId, { workflow: p.spec.workflow, path, trusted: p.trusted ? true : 'both' })
    } catch (e) {
      p.emit?.({ type: 'warning', message: `cache ${path}: listing the stored entries failed (${(e as Error).message}); the job starts without it` })
    }
    // an untrusted run prefers what its own namespace holds for the same key
    const choice = chooseCache(p.trusted ? entries : [...entries.filter((e) => !e.trusted), ...entries.filter((e) => e.trusted)], key, restoreKeys)
    const cache: RunnerCache = { path, key }
    if (choice) {
      cache.restore = { archiveKey: choice.entry.archiveKey, sha256: choice.entry.sha256, key: choice.entry.key, trusted: choice.entry.trusted }
      p.emit?.({ type: 'info', message: `cache ${path}: restoring ${choice.matched === 'exact' ? `key ${key}` : `${choice.entry.key} (restore key \`${choice.matched.restoreKey}\`)`}${choice.entry.trusted ? '' : ' (untrusted)'}, ${choice.entry.size} bytes` })
    } else p.emit?.({ type: 'info', message: `cache ${path}: no entry for key ${key}${restoreKeys.length ? ' or its restore keys' : ''}; saved after the job` })
    // an exact hit is not saved again (as actions/cache)
    if (!choice || choice.matched !== 'exact') cache.saveBase = cacheKeys.entryBase(p.repoId, p.spec.workflow, path, key, p.trusted)
    out.push(cache)
    const mine = entries.filter((e) => e.trusted === p.trusted && e.entryKey !== choice?.entry.entryKey)
    await pruneCaches(p.store, mine, CACHE_KEEP - 1).catch(() => [])
  }
  return out
}
