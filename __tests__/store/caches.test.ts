/** The `cache` entries in the store: listing, actions/cache's choice, trust namespaces, pruning (docs/cache.md). */
import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { FolderStore } from '../../src/store/index.js'
import { assertCacheKey, cacheKeys, chooseCache, listCaches, pruneCaches, type CacheEntry } from '../../src/store/caches.js'
import { planCaches } from '../../src/orchestrate/cache-plan.js'
import { storeFixture } from './store-fixture.js'

const fx = storeFixture('caches')
const REPO = 'github.com/acme/cache-demo'

/** what the runner writes for one saved folder: the archive, then its index entry */
async function save(store: FolderStore, o: { path: string; key: string; trusted: boolean; at: string; workflow?: string }): Promise<void> {
  const workflow = o.workflow ?? 'train'
  const base = cacheKeys.entryBase(REPO, workflow, o.path, o.key, o.trusted)
  const bytes = Buffer.from(`archive of ${o.key}`)
  await store.put(`${base}.tar.gz`, bytes)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  await store.put(`${base}.json`, JSON.stringify({ workflow, path: o.path, key: o.key, format: 'tar.gz', size: bytes.length, sha256, createdAt: o.at, run: 'r-1', trusted: o.trusted }))
}

const entry = (key: string, at: string, trusted = true): CacheEntry => ({
  workflow: 'train', path: 'p', key, format: 'tar.gz', size: 1, sha256: 'a'.repeat(64), createdAt: at, run: 'r', trusted, entryKey: `x/${key}.json`, archiveKey: `x/${key}.tar.gz`
})

describe('chooseCache (actions/cache: the exact key, else the newest entry of each restore key in order)', () => {
  const list = [entry('pip-aaa', '2026-01-01T00:00:00Z'), entry('pip-bbb', '2026-01-03T00:00:00Z'), entry('npm-ccc', '2026-01-05T00:00:00Z')]
  it.each([
    ['exact key', 'pip-aaa', ['pip-'], 'pip-aaa', 'exact'],
    ['newest of the first restore key that matches', 'pip-zzz', ['pip-'], 'pip-bbb', { restoreKey: 'pip-' }],
    ['restore keys in order', 'x', ['none-', 'npm-', 'pip-'], 'npm-ccc', { restoreKey: 'npm-' }],
    ['the empty restore key: the newest of all', 'x', [''], 'npm-ccc', { restoreKey: '' }]
  ])('%s', (_w, key, restore, want, matched) => {
    expect(chooseCache(list, key as string, restore as string[])).toEqual({ entry: expect.objectContaining({ key: want }), matched })
  })
  it('nothing without a match', () => {
    expect(chooseCache(list, 'x', ['y-'])).toBeUndefined()
    expect(chooseCache(list, 'x', [])).toBeUndefined()
  })
  it('keys are checked', () => {
    expect(() => assertCacheKey('../x')).toThrow(/invalid cache key/)
    expect(() => assertCacheKey('a b')).toThrow(/invalid cache key/)
    expect(assertCacheKey('pip-v1.2_x')).toBe('pip-v1.2_x')
  })
})

describe('the store namespaces and the plan', () => {
  it('a trusted run never restores what an untrusted run saved; an untrusted run reads both and saves under its own', async () => {
    const store = new FolderStore(fx.tempDir())
    await save(store, { path: '~/.cache/pip', key: 'git-old', trusted: true, at: '2026-01-01T00:00:00.000Z' })
    await save(store, { path: '~/.cache/pip', key: 'git-poisoned', trusted: false, at: '2026-01-02T00:00:00.000Z' })
    const spec = { workflow: 'train', cache: ['~/.cache/pip'] }
    const trusted = await planCaches({ store, repoId: REPO, spec, trusted: true, revisionSha: 'abcdef1234567890' })
    expect(trusted).toEqual([{ path: '~/.cache/pip', key: 'git-abcdef123456', restore: expect.objectContaining({ key: 'git-old', trusted: true }), saveBase: expect.stringMatching(/^github\.com\/acme\/cache-demo\/caches\/train\/[0-9a-f]{16}\/git-abcdef123456$/) }])
    const untrusted = await planCaches({ store, repoId: REPO, spec, trusted: false, revisionSha: 'abcdef1234567890' })
    expect(untrusted[0]!.restore).toEqual(expect.objectContaining({ key: 'git-poisoned', trusted: false }))
    expect(untrusted[0]!.saveBase).toMatch(/\/untrusted-caches\/train\//)
  })

  it('an exact hit restores and is not saved again; a given key without restore_keys does not fall back', async () => {
    const store = new FolderStore(fx.tempDir())
    await save(store, { path: 'data', key: 'data-v1', trusted: true, at: '2026-01-01T00:00:00.000Z' })
    const hit = await planCaches({ store, repoId: REPO, spec: { workflow: 'train', cache: ['data'], cacheOptions: { data: { key: 'data-v1' } } }, trusted: true, revisionSha: 'f'.repeat(40) })
    expect(hit[0]).toEqual({ path: 'data', key: 'data-v1', restore: expect.objectContaining({ key: 'data-v1' }) })
    const miss = await planCaches({ store, repoId: REPO, spec: { workflow: 'train', cache: ['data'], cacheOptions: { data: { key: 'data-v2' } } }, trusted: true, revisionSha: 'f'.repeat(40) })
    expect(miss[0]!.restore).toBeUndefined()
    const fallback = await planCaches({ store, repoId: REPO, spec: { workflow: 'train', cache: ['data'], cacheOptions: { data: { key: 'data-v2', restoreKeys: ['data-'] } } }, trusted: true, revisionSha: 'f'.repeat(40) })
    expect(fallback[0]!.restore).toEqual(expect.objectContaining({ key: 'data-v1' }))
    // other workflows' entries are theirs
    const other = await planCaches({ store, repoId: REPO, spec: { workflow: 'eval', cache: ['data'] }, trusted: true, revisionSha: 'f'.repeat(40) })
    expect(other[0]!.restore).toBeUndefined()
  })

  it('lists newest first, leaves damaged entries out, and prunes all but the newest', async () => {
    const store = new FolderStore(fx.tempDir())
    for (let i = 1; i <= 4; i++) await save(store, { path: 'p', key: `k${i}`, trusted: true, at: `2026-01-0${i}T00:00:00.000Z` })
    await store.put(`${cacheKeys.dir(REPO, 'train', 'p', true)}broken.json`, '{"key":"other"}')
    const all = await listCaches(store, REPO, { trusted: 'both' })
    expect(all.map((e) => e.key)).toEqual(['k4', 'k3', 'k2', 'k1'])
    const gone = await pruneCaches(store, all, 2)
    expect(gone.map((e) => e.key)).toEqual(['k2', 'k1'])
    expect((await listCaches(store, REPO, { workflow: 'train', trusted: true })).map((e) => e.key)).toEqual(['k4', 'k3'])
    expect(await store.exists(gone[0]!.archiveKey)).toBe(false)
  })
})
