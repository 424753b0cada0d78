import { describe, it, expect } from '@jest/globals'
import { readFileSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { storeFixture } from './store-fixture.js'
import { FolderStore } from '../../src/store/folder-store.js'
import { S3Store } from '../../src/store/s3-store.js'
import { RunStore, parseManifest } from '../../src/store/run-store.js'
import { keys } from '../../src/store/keys.js'
import type { ObjectStore } from '../../src/store/object-store.js'
import { UserError } from '../../src/model/errors.js'
import type { RunRecord, ManifestEntry } from '../../src/model/record.js'
import type { RunSpec } from '../../src/model/spec.js'
import type { RunStatus } from '../../src/model/status.js'

const R = 'github.com/acme/ml'
const OTHER = 'github.com/acme/data'
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

const fx = storeFixture('rs')
const tempDir = fx.tempDir

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    run: '',
    repoId: R,
    workflow: 'train',
    spec: { workflow: over.workflow ?? 'train' } as RunSpec,
    revision: { repoId: over.repoId ?? R, sha: 'c0ffee', branch: 'main', ref: 'refs/heads/main', event: 'push', snapshotSha256: 'f'.repeat(64) },
    trust: { trusted: true, trigger: 'push on main', why: 'the default branch' },
    backend: 'local',
    args: [],
    status: 'submitted',
    submittedAt: '2026-01-01T00:00:00.000Z',
    attempts: [],
    tags: [],
    ...over
  }
}

/** a stored run with status and artifacts (files written as the runner would) */
async function seedRun(
  rs: RunStore,
  over: Partial<RunRecord> & { status: RunStatus },
  files: Record<string, string> = {}
): Promise<RunRecord> {
  const r = await rs.createRun(record(over))
  const manifest: ManifestEntry[] = []
  for (const [path, body] of Object.entries(files)) {
    await rs.store.put(keys.artifacts(r.repoId, r.run, path), body)
    manifest.push({ path, size: Buffer.byteLength(body), sha256: sha(body) })
  }
  if (Object.keys(files).length) await rs.store.put(keys.manifest(r.repoId, r.run), JSON.stringify(manifest))
  return r
}

const impls: [string, () => ObjectStore][] = [
  ['FolderStore', () => new FolderStore(tempDir())],
  ['S3Store', () => new S3Store({ bucket: fx.s3().bucket, prefix: fx.nextPrefix(), endpoint: fx.s3().endpoint, client: fx.s3().client })]
]

describe.each(impls)('RunStore on %s', (_name, make) => {
  const fixed = new Date('2026-02-03T04:05:06.000Z')
  const newStore = (): RunStore => new RunStore(make(), () => fixed)

  describe('runs', () => {
    it('creates runs named <adjective>-<animal>-<n>, n counting up per base, and reads them back', async () => {
      const rs = newStore()
      const a = await rs.createRun(record({ run: 'ignored' }), { rng: () => 0.5 })
      const b = await rs.createRun(record(), { rng: () => 0.5 })
      expect(a.run).toMatch(/^[a-z]+-[a-z]+-1$/)
      expect(b.run).toBe(a.run.replace(/-1$/, '-2'))
      const c = await rs.createRun(record(), { rng: () => 0.1 })
      expect(c.run).toMatch(/-1$/)
      expect(c.run).not.toBe(a.run)
      expect(await rs.getRun(R, a.run)).toEqual(a)
      expect(await rs.store.getText(`${R}/runs/${a.run}/run.json`)).toContain(`"run": "${a.run}"`)
      expect(await rs.getRun(R, 'nope-nope-1')).toBeUndefined()
    })

    it('skips a number already taken (the claim is ifAbsent)', async () => {
      const rs = newStore()
      const a = await rs.createRun(record(), { rng: () => 0 })
      // someone else took -2 between our listing and our write: simulate by pre-writing -2 and -3
      await rs.store.put(keys.run(R, a.run.replace(/-1$/, '-3')), '{"squatter":true}')
      const b = await rs.createRun(record(), { rng: () => 0 })
      expect(b.run).toBe(a.run.replace(/-1$/, '-4'))
      expect(await rs.store.getText(keys.run(R, a.run.replace(/-1$/, '-3')))).toBe('{"squatter":true}')
    })

    it('lists runs newest first, saves updates, ignores folders without run.json', async () => {
      const rs = newStore()
      const old = await rs.createRun(record({ submittedAt: '2026-01-01T00:00:00Z' }))
      const mid = await rs.createRun(record({ submittedAt: '2026-01-02T00:00:00Z' }))
      const neu = await rs.createRun(record({ submittedAt: '2026-01-03T00:00:00Z' }))
      await rs.store.put(`${R}/runs/stray/attempts/1/status.json`, '{}')
      await rs.createRun(record({ repoId: OTHER }))
      await rs.saveRun({ ...mid, status: 'succeeded', endedAt: '2026-01-02T01:00:00Z' })
      const runs = await rs.listRuns(R)
      expect(runs.map((r) => r.run)).toEqual([neu.run, mid.run, old.run])
      expect(runs[1]!.status).toBe('succeeded')
      expect(await rs.listRuns('github.com/acme/empty')).toEqual([])
    })

    it('stores attempt scripts, statuses and log chunks under the attempt', async () => {
      const rs = newStore()
      const r = await rs.createRun(record())
      const key = await rs.putRunnerScript(R, r.run, 1, '#!/bin/bash\necho hi\n')
      expect(key).toBe(`${R}/runs/${r.run}/attempts/1/runner.sh`)
      expect(await rs.store.getText(key)).toBe('#!/bin/bash\necho hi\n')
      expect(await rs.readStatus(R, r.run, 1)).toBeUndefined()
      await rs.writeStatus(R, r.run, 1, { phase: 'done', status: 'interrupted', reason: 'machine lost' })
      expect(await rs.readStatus(R, r.run, 1)).toEqual({ phase: 'done', status: 'interrupted', reason: 'machine lost' })
      for (const seq of [10, 0, 2, 1]) await rs.store.put(keys.logChunk(R, r.run, 1, seq), `chunk ${seq}\n`)
      await rs.store.put(`${R}/runs/${r.run}/attempts/1/logs/notes.txt`, 'x')
      expect(await rs.store.exists(`${R}/runs/${r.run}/attempts/1/logs/000010.log`)).toBe(true)
      expect(await rs.listLogChunks(R, r.run, 1)).toEqual([0, 1, 2, 10])
      expect(await rs.listLogChunks(R, r.run, 2)).toEqual([])
      expect((await rs.readLogChunk(R, r.run, 1, 2))!.toString()).toBe('chunk 2\n')
      expect(await rs.readLogChunk(R, r.run, 1, 3)).toBeUndefined()
    })

    it('uploads a code snapshot once: an unchanged revision uploads nothing', async () => {
      const rs = newStore()
      const tar = Buffer.from('pretend tar.gz')
      const puts: string[] = []
      const orig = rs.store.put.bind(rs.store)
      rs.store.put = (k, b, o) => (puts.push(k), orig(k, b, o))
      expect(await rs.putCodeSnapshot(sha(tar), tar)).toBe(true)
      expect(await rs.putCodeSnapshot(sha(tar), tar)).toBe(false)
      expect(puts).toEqual([`code/${sha(tar)}.tar.gz`])
      expect((await rs.store.get(`code/${sha(tar)}.tar.gz`))!.equals(tar)).toBe(true)
      await expect(rs.putCodeSnapshot('0'.repeat(64), tar)).rejects.toThrow(/sha256/)
      await expect(rs.putCodeSnapshot('../x', tar)).rejects.toThrow(UserError)
    })
  })

  describe('artifacts', () => {
    it('downloads every file, verified, into outDir', async () => {
      const rs = newStore()
      const r = await seedRun(rs, { status: 'succeeded' }, { 'model/w.bin': 'weights', 'model/cfg/a.json': '{}', 'metrics.json': '{"acc":1}' })
      const out = tempDir()
      const got = await rs.downloadArtifacts(R, r.run, out)
      expect(got.map((e) => e.path).sort()).toEqual(['metrics.json', 'model/cfg/a.json', 'model/w.bin'])
      expect(readFileSync(join(out, 'model/w.bin'), 'utf8')).toBe('weights')
      expect(readFileSync(join(out, 'model/cfg/a.json'), 'utf8')).toBe('{}')
      const some = tempDir()
      expect((await rs.downloadArtifacts(R, r.run, some, { paths: ['model/cfg'] })).map((e) => e.path)).toEqual(['model/cfg/a.json'])
      expect(readdirSync(some)).toEqual(['model'])
      await expect(rs.downloadArtifacts(R, r.run, some, { paths: ['nope'] })).rejects.toThrow(/no artifact `nope`.*it has: model, metrics.json/)
    })

    it('detects a sha256 mismatch and names the file', async () => {
      const rs = newStore()
      const r = await seedRun(rs, { status: 'succeeded' }, { 'ok.txt': 'fine', 'data/bad.bin': 'original' })
      await rs.store.put(keys.artifacts(R, r.run, 'data/bad.bin'), 'tampered') // same size, other bytes
      const out = tempDir()
      await expect(rs.downloadArtifacts(R, r.run, out)).rejects.toThrow(/artifact `data\/bad.bin` of run `.*` is corrupt/)
      expect(existsSync(join(out, 'data/bad.bin'))).toBe(false)
    })

    it('refuses a manifest that points outside outDir, and a missing file', async () => {
      const rs = newStore()
      const r = await seedRun(rs, { status: 'succeeded' }, { 'a.txt': 'a' })
      await rs.store.put(keys.manifest(R, r.run), JSON.stringify([{ path: '../../evil', size: 1, sha256: sha('x') }]))
      await expect(rs.downloadArtifacts(R, r.run, tempDir())).rejects.toThrow(UserError)
      await rs.store.put(keys.manifest(R, r.run), JSON.stringify([{ path: 'gone.txt', size: 1, sha256: sha('x') }]))
      await expect(rs.downloadArtifacts(R, r.run, tempDir())).rejects.toThrow(/`gone.txt`.*missing from the store/)
      const bare = await rs.createRun(record())
      await expect(rs.downloadArtifacts(R, bare.run, tempDir())).rejects.toThrow(/no artifacts manifest/)
      await expect(rs.downloadArtifacts(R, 'nope-nope-1', tempDir())).rejects.toThrow(/no run `nope-nope-1`/)
    })

    it('verifies the manifest: every listed file exists with its size', async () => {
      const rs = newStore()
      const r = await seedRun(rs, { status: 'succeeded' }, { 'a.txt': 'aaa', 'b/c.txt': 'cc', 'd.txt': 'd' })
      expect(await rs.verifyManifest(R, r.run)).toMatchObject({ ok: true, missing: [], wrongSize: [], unlisted: [] })
      await rs.store.delete(keys.artifacts(R, r.run, 'b/c.txt'))
      await rs.store.put(keys.artifacts(R, r.run, 'a.txt'), 'a')
      await rs.store.put(keys.artifacts(R, r.run, 'extra.txt'), 'e')
      expect(await rs.verifyManifest(R, r.run)).toMatchObject({
        ok: false, missing: ['b/c.txt'], wrongSize: [{ path: 'a.txt', expected: 3, actual: 1 }], unlisted: ['extra.txt']
      })
      expect((await rs.readManifest(R, r.run))!.length).toBe(3)
    })

    it('gives artifact URLs under the run', async () => {
      const rs = newStore()
      expect(rs.artifactUrl(R, 'r-1')).toContain(`${R}/runs/r-1/artifacts/`)
      expect(rs.artifactUrl(R, 'r-1', 'model/w.bin')).toContain(`${R}/runs/r-1/artifacts/model/w.bin`)
      expect(() => rs.artifactUrl(R, 'r-1', '../x')).toThrow(UserError)
    })
  })

  describe('tags', () => {
    it('tags a succeeded run, records the manifest hash, and updates run.json', async () => {
      const rs = newStore()
      const r = await seedRun(rs, { status: 'succeeded' }, { 'w.bin': 'w' })
      const t = await rs.addTag(R, 'v1', r.run)
      const manifestBytes = (await rs.store.get(keys.manifest(R, r.run)))!
      expect(t).toEqual({
        tag: 'v1', run: r.run, workflow: 'train', repoId: R,
        revision: { sha: 'c0ffee', branch: 'main', ref: 'refs/heads/main' },
        created_at: fixed.toISOString(), manifest_sha256: sha(manifestBytes), trusted: true
      })
      expect(await rs.getTag(R, 'v1')).toEqual(t)
      expect(await rs.store.exists(`${R}/tags/v1.json`)).toBe(true)
      expect((await rs.getRun(R, r.run))!.tags).toEqual(['v1'])
      expect(await rs.addTag(R, 'v1', r.run)).toEqual(t) // same run again: nothing replaced
    })

    it.each([['failed'], ['running'], ['interrupted']] as [RunStatus][])('refuses a %s run, naming its status', async (status) => {
      const rs = newStore()
      const r = await seedRun(rs, { status })
      await expect(rs.addTag(R, 'v1', r.run)).rejects.toThrow(new RegExp(`status is \`${status}\`.*only succeeded`))
      expect(await rs.getTag(R, 'v1')).toBeUndefined()
    })

    it('never silently replaces a tag; --force moves it', async () => {
      const rs = newStore()
      const a = await seedRun(rs, { status: 'succeeded' })
      const b = await seedRun(rs, { status: 'succeeded' })
      await rs.addTag(R, 'best', a.run)
      const err = await rs.addTag(R, 'best', b.run).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as Error).message).toBe(`tag \`best\` already exists (run ${a.run}); to move it, use \`tags add --force\`, \`run --force-tag\`, or the action input \`force-tag: true\``)
      expect((await rs.getTag(R, 'best'))!.run).toBe(a.run)
      await rs.addTag(R, 'best', b.run, { force: true })
      expect((await rs.getTag(R, 'best'))!.run).toBe(b.run)
      expect((await rs.getRun(R, a.run))!.tags).toEqual([])
      expect((await rs.getRun(R, b.run))!.tags).toEqual(['best'])
      await expect(rs.addTag(R, 'x', 'nope-nope-1')).rejects.toThrow(/no run `nope-nope-1`/)
      await expect(rs.addTag(R, 'a;rm -rf', a.run)).rejects.toThrow(UserError)
    })

    it('lists and deletes tags; deleting a missing tag is a UserError', async () => {
      const rs = newStore()
      const a = await seedRun(rs, { status: 'succeeded' })
      await rs.addTag(R, 'zeta', a.run)
      await rs.addTag(R, 'alpha', a.run)
      expect((await rs.listTags(R)).map((t) => t.tag)).toEqual(['alpha', 'zeta'])
      expect((await rs.getRun(R, a.run))!.tags).toEqual(['zeta', 'alpha'])
      await rs.deleteTag(R, 'zeta')
      expect(await rs.getTag(R, 'zeta')).toBeUndefined()
      expect((await rs.getRun(R, a.run))!.tags).toEqual(['alpha'])
      await expect(rs.deleteTag(R, 'zeta')).rejects.toThrow('no tag `zeta` in github.com/acme/ml; tags: alpha')
      expect(await rs.listTags(OTHER)).toEqual([])
    })
  })

  describe('deps', () => {
    it('resolves a tag, the latest succeeded run of a workflow, and another repo', async () => {
      const rs = newStore()
      const tagged = await seedRun(rs, { status: 'succeeded', workflow: 'prep', submittedAt: '2026-01-01T00:00:00Z' })
      const newer = await seedRun(rs, { status: 'succeeded', workflow: 'prep', submittedAt: '2026-01-03T00:00:00Z' })
      await seedRun(rs, { status: 'failed', workflow: 'prep', submittedAt: '2026-01-04T00:00:00Z' })
      await seedRun(rs, { status: 'succeeded', workflow: 'other', submittedAt: '2026-01-05T00:00:00Z' })
      await rs.addTag(R, 'data-v1', tagged.run)
      const foreign = await seedRun(rs, { repoId: OTHER, status: 'succeeded', workflow: 'download' })
      await rs.addTag(OTHER, 'raw', foreign.run)

      expect(await rs.resolveDep(R, { kind: 'tag', name: 'data-v1' })).toMatchObject({ repoId: R, run: { run: tagged.run } })
      expect(await rs.resolveDep(R, { kind: 'workflow', name: 'prep' })).toMatchObject({ repoId: R, run: { run: newer.run } })
      expect(await rs.resolveDep(R, { kind: 'tag', name: 'raw', repo: OTHER })).toMatchObject({ repoId: OTHER, run: { run: foreign.run } })
      expect(await rs.resolveDep(R, { kind: 'workflow', name: 'download', repo: 'acme/data' })).toMatchObject({
        repoId: OTHER, run: { run: foreign.run }
      })
      const all = await rs.resolveDeps(R, [{ kind: 'tag', name: 'data-v1' }, { kind: 'workflow', name: 'prep' }])
      expect(all.map((d) => d.run.run)).toEqual([tagged.run, newer.run])
    })

    it('explains what exists when a dep cannot be resolved, and reports every failure at once', async () => {
      const rs = newStore()
      const ok = await seedRun(rs, { status: 'succeeded', workflow: 'train' })
      const bad = await seedRun(rs, { status: 'failed', workflow: 'prep' })
      await rs.addTag(R, 'v1', ok.run)
      await expect(rs.resolveDep(R, { kind: 'tag', name: 'x' })).rejects.toThrow('no tag `x` in github.com/acme/ml; tags: v1')
      await expect(rs.resolveDep(R, { kind: 'workflow', name: 'prep' })).rejects.toThrow(
        `no succeeded run of workflow \`prep\` in github.com/acme/ml; runs of \`prep\`: ${bad.run} (failed)`
      )
      await expect(rs.resolveDep(R, { kind: 'workflow', name: 'eval' })).rejects.toThrow(
        'no succeeded run of workflow `eval` in github.com/acme/ml; workflows with succeeded runs: train'
      )
      await expect(rs.resolveDep(R, { kind: 'tag', name: 'v1', repo: OTHER })).rejects.toThrow('no tag `v1` in github.com/acme/data; tags: (none)')
      await expect(rs.resolveDep(R, { kind: 'tag', name: 'v1', repo: '../../etc' })).rejects.toThrow(UserError)

      const err = (await rs.resolveDeps(R, [
        { kind: 'tag', name: 'v1' },
        { kind: 'tag', name: 'nope' },
        { kind: 'workflow', name: 'prep', repo: OTHER }
      ]).catch((e: unknown) => e)) as Error
      expect(err).toBeInstanceOf(UserError)
      expect(err.message).toBe(
        'cannot resolve 2 deps:\n' +
          '- tag `nope`: no tag `nope` in github.com/acme/ml; tags: v1\n' +
          '- workflow `prep`: no succeeded run of workflow `prep` in github.com/acme/data; workflows with succeeded runs: (none)'
      )
    })
  })
})

describe('RunStore concurrency on FolderStore', () => {
  it('gives 20 concurrent createRun calls 20 distinct names, even on one base', async () => {
    const rs = new RunStore(new FolderStore(tempDir()))
    const same = await Promise.all(Array.from({ length: 20 }, () => rs.createRun(record(), { rng: () => 0.42 })))
    const names = same.map((r) => r.run)
    expect(new Set(names).size).toBe(20)
    const base = names[0]!.replace(/-\d+$/, '')
    expect(names.map((n) => Number(n.slice(base.length + 1))).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const random = await Promise.all(Array.from({ length: 20 }, () => rs.createRun(record())))
    expect(new Set([...names, ...random.map((r) => r.run)]).size).toBe(40)
    expect((await rs.listRuns(R)).length).toBe(40)
    for (const r of [...same, ...random]) expect((await rs.getRun(R, r.run))!.run).toBe(r.run)
  })
})

describe('parseManifest', () => {
  it('accepts an array or {files}, and rejects malformed entries', () => {
    const e = { path: './a//b', size: 1, sha256: 'a'.repeat(64) }
    expect(parseManifest(JSON.stringify([e]))).toEqual([{ ...e, path: 'a/b' }])
    expect(parseManifest(JSON.stringify({ files: [e] }))).toEqual([{ ...e, path: 'a/b' }])
    expect(() => parseManifest('{')).toThrow(/not valid JSON/)
    expect(() => parseManifest(JSON.stringify([{ ...e, size: -1 }]))).toThrow(/entry 0/)
    expect(() => parseManifest(JSON.stringify([{ ...e, sha256: 'xyz' }]))).toThrow(/entry 0/)
    expect(() => parseManifest(JSON.stringify([{ ...e, path: '/etc/passwd' }]))).toThrow(UserError)
  })
})
