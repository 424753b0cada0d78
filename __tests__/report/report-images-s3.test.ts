/**
 * GitHub with an S3 store: the report's relative image becomes a presigned link into the store
 * (real SDK against s3rver on loopback), which serves the image's bytes, and the section states
 * until when the link works. A file that is no artifact of the run is never linked.
 */
import { describe, it, expect } from '@jest/globals'
import { RunStore, S3Store, keys } from '../../src/store/index.js'
import { DEFAULTS, type RunRecord, type RunSpec } from '../../src/model/index.js'
import { prepareRunReport } from '../../src/ci/run-report.js'
import { storeFixture } from '../store/store-fixture.js'

const fx = storeFixture('report-images')
const REPO = 'github.com/acme/ml'
const spec = { workflow: 'train', format: 'workflows.yaml', source: { file: 'w.yaml', line: 1, column: 1 }, commands: ['x'], setup: [], env: {}, secretEnv: {}, workingDir: '.', args: [], artifacts: [], deps: [], ports: [], cache: [], resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 60, retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1 } satisfies RunSpec

describe('report images on GitHub with an S3 store', () => {
  it('are presigned store links that serve the image, with the expiry stated', async () => {
    const s3 = fx.s3()
    const store = new RunStore(new S3Store({ bucket: s3.bucket, prefix: fx.nextPrefix(), endpoint: s3.endpoint, client: s3.client }))
    const r: RunRecord = { run: 'sunny-seal-1', repoId: REPO, workflow: 'train', spec, backend: 'aws', args: [], revision: { repoId: REPO, sha: 'a'.repeat(40), event: 'push', snapshotSha256: 'b'.repeat(64) }, status: 'succeeded', submittedAt: '2026-03-01T00:00:00Z', endedAt: '2026-03-01T00:01:00Z', attempts: [], tags: [] }
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])
    const report = '![curve](plots/loss.png) ![secret](../../other-run/artifacts/x.png) ![missing](plots/nope.png)\n'
    await store.saveRun(r)
    await store.store.put(keys.artifacts(REPO, r.run, 'plots/loss.png'), png)
    await store.store.put(keys.artifacts(REPO, r.run, '_dstack/report.md'), report)
    const manifest = [{ path: 'plots/loss.png', size: png.length, sha256: 'c'.repeat(64) }, { path: '_dstack/report.md', size: report.length, sha256: 'd'.repeat(64) }]
    const rr = await prepareRunReport({ store, environ: {}, record: r, manifest, links: store.artifactLinks(r), warn: (m) => { throw new Error(m) }, now: () => new Date('2026-03-01T00:02:00Z') })
    const md = await rr.render('github', 15_000)
    const url = /!\[curve\]\((http[^)]+)\)/.exec(md)?.[1]
    expect(url).toContain('X-Amz-Expires=604800')
    const res = await fetch(url!.replace(/%29/g, ')'))
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true)
    expect(md).toContain('valid until 2026-03-08 at the latest')
    expect(md).toContain('🖼️ secret (`../../other-run/artifacts/x.png`: image not shown')
    expect(md).toContain('🖼️ missing (`plots/nope.png`: image not shown')
  })
})
