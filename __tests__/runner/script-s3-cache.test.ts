/**
 * `cache` on an S3 store (docs/cache.md): the runner saves a folder with the aws CLI, the store side
 * (src/store/caches.ts over S3Store) lists and chooses the entry, and the next run restores it,
 * checked against its sha256. Real bash, real aws CLI, s3rver.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3'
import type { S3TestServer } from '../helpers/s3server.js'
import { makePlan, removeTempDirs, runPrefix, startRun, s3StoreWithCode, REPO } from './fixture.js'
import type { StoreLocation } from '../../src/model/index.js'
import { S3Store } from '../../src/store/index.js'
import { planCaches } from '../../src/orchestrate/cache-plan.js'
import { awsCliPath } from '../helpers/s3server.js'

const PREFIX = 'cache/store'
let s3: S3TestServer
let loc: StoreLocation

async function logOf(run: string): Promise<string> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/${runPrefix(run)}/attempts/1/logs/` }))
  const keys = (r.Contents ?? []).map((o) => o.Key!).sort()
  return (await Promise.all(keys.map(async (Key) => (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body!.transformToString()))).join('')
}

const env = () => ({ ...s3.env, DSTACK_AWS_CLI: awsCliPath(), DSTACK_S3_ENDPOINT: s3.endpoint })

beforeAll(async () => {
  ;({ s3, loc } = await s3StoreWithCode('cache-bucket', PREFIX, { 'a.txt': 'code\n' }))
})
afterAll(async () => {
  await s3?.close()
  removeTempDirs()
})

describe('runner: cache on S3', () => {
  test('a first run saves, the next restores what the store side chose; a tampered archive is not restored', async () => {
    const store = new S3Store({ bucket: s3.bucket, prefix: PREFIX, endpoint: s3.endpoint, client: s3.client })
    const spec = { workflow: 'train', cache: ['wheels'] }
    const first = await planCaches({ store, repoId: REPO, spec, trusted: true, revisionSha: '1111111111111111' })
    expect(first[0]!.restore).toBeUndefined()
    const s1 = await startRun(makePlan(loc, { runName: 'cache-one-1', caches: first, trusted: true, commands: ['mkdir -p wheels/sub && echo torch > wheels/sub/w.txt'] }), { backend: { env: env() } })
    expect(await s1.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(await logOf('cache-one-1')).toMatch(/cache wheels: saved key git-111111111111 \(/)

    const second = await planCaches({ store, repoId: REPO, spec, trusted: true, revisionSha: '2222222222222222' })
    expect(second[0]!.restore).toEqual(expect.objectContaining({ key: 'git-111111111111', trusted: true }))
    const s2 = await startRun(makePlan(loc, { runName: 'cache-two-1', caches: second, trusted: true, commands: ['cat wheels/sub/w.txt'] }), { backend: { env: env() } })
    expect(await s2.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    const log2 = await logOf('cache-two-1')
    expect(log2).toMatch(/cache wheels: restored key git-111111111111 \(/)
    expect(log2).toContain('torch\n')
    // an untrusted run's plan never lands in the trusted namespace
    const untrusted = await planCaches({ store, repoId: REPO, spec, trusted: false, revisionSha: '3333333333333333' })
    expect(untrusted[0]!.saveBase).toContain('/untrusted-caches/')

    // the archive's bytes are not the ones its entry lists: nothing is unpacked
    const tampered = { ...second[0]!, restore: { ...second[0]!.restore!, sha256: 'b'.repeat(64) } }
    const s3run = await startRun(makePlan(loc, { runName: 'cache-three-1', caches: [tampered], trusted: true, commands: ['test ! -e wheels/sub/w.txt'] }), { backend: { env: env() } })
    expect(await s3run.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(await logOf('cache-three-1')).toContain('does not have the sha256 its entry lists')
  })
})
