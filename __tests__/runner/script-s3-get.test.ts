/**
 * How the runner fetches the code snapshot and restores a one-file checkpoint from S3: with curl and
 * SigV4 (the same signing and credentials as the small puts) rather than an `aws` process each (about
 * a CPU second and a second of start-up apiece), and the aws CLI as soon as curl gets any other answer
 * than the object. Real bash, real aws CLI, s3rver.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsV2Command, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { S3TestServer } from '../helpers/s3server.js'
import { makePlan, removeTempDirs, runPrefix, startRun, tempDir, s3StoreWithCode , recordingAws } from './fixture.js'
import type { StoreLocation } from '../../src/model/index.js'

const PREFIX = 'get/store'
let s3: S3TestServer
let loc: StoreLocation

async function logOf(run: string, n = 1): Promise<string> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/${runPrefix(run)}/attempts/${n}/logs/` }))
  const keys = (r.Contents ?? []).map((o) => o.Key!).sort()
  const texts = await Promise.all(keys.map(async (Key) => (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body!.transformToString()))
  return texts.join('')
}

/** a `curl` whose PUTs (-T) are the real curl's, while every GET is refused like a denied signature (HTTP 403) */
function curlRefusingGets(): { dir: string; gets: () => number } {
  const dir = tempDir('curl-get-')
  writeFileSync(
    join(dir, 'curl'),
    `#!/bin/bash\nfor a in "$@"; do [ "$a" = -T ] && exec /usr/bin/curl "$@"; done\n[ "$1" = --help ] && exec /usr/bin/curl "$@"\ncat >/dev/null\necho get >>'${dir}/gets'\nprintf 403\n`
  )
  chmodSync(join(dir, 'curl'), 0o755)
  return { dir, gets: () => (existsSync(join(dir, 'gets')) ? readFileSync(join(dir, 'gets'), 'utf8').trim().split('\n').length : 0) }
}

const env = (aws: string, extra: Record<string, string> = {}) => ({ ...s3.env, DSTACK_AWS_CLI: aws, DSTACK_S3_ENDPOINT: s3.endpoint, ...extra })

beforeAll(async () => {
  ;({ s3, loc } = await s3StoreWithCode('get-bucket', PREFIX, { 'a.txt': 'from the snapshot\n' }))
})
afterAll(async () => {
  await s3?.close()
  removeTempDirs()
})

describe('runner: fetching from S3 without an aws process', () => {
  test('the code snapshot comes through curl: no aws process fetches it, and the job runs in it', async () => {
    const aws = recordingAws()
    const s = await startRun(makePlan(loc, { runName: 'swift-owl-1', commands: ['cat a.txt'] }), { backend: { env: env(aws.path) } })
    expect(await s.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(await logOf('swift-owl-1')).toContain('from the snapshot')
    expect(aws.calls().filter((c) => c.includes('code/'))).toEqual([])
  })

  test('when curl cannot get the snapshot, the aws CLI fetches it, checked as ever', async () => {
    const aws = recordingAws()
    const curl = curlRefusingGets()
    const s = await startRun(makePlan(loc, { runName: 'swift-owl-2', commands: ['cat a.txt'] }), { backend: { env: env(aws.path, { PATH: `${curl.dir}:${process.env.PATH}` }) } })
    expect(await s.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(await logOf('swift-owl-2')).toContain('from the snapshot')
    expect(curl.gets()).toBeGreaterThanOrEqual(1)
    expect(aws.calls().filter((c) => / s3 cp s3:\/\/get-bucket\/get\/store\/code\//.test(c))).toHaveLength(1)
  })

  test('attempt 2 restores a one-file checkpoint through curl, and a folder one (no object at its key) with one sync and no failing cp first', async () => {
    const run = 'swift-owl-3'
    const put = (key: string, body: string) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${runPrefix(run)}/artifacts/${key}`, Body: body }))
    await put('state.txt', 'step 7\n')
    await put('ckpt/w.bin', 'weights\n')
    const aws = recordingAws()
    const plan = makePlan(loc, {
      runName: run,
      attempt: 2,
      artifacts: [{ path: 'state.txt', mount: true }, { path: 'ckpt', mount: true }],
      commands: ['cat state.txt ckpt/w.bin', 'echo "restored: $(printf %s "$DSTACK_RESTORED" | tr "\\n" " ")"']
    })
    const s = await startRun(plan, { backend: { env: env(aws.path) } })
    expect(await s.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    const log = await logOf(run, 2)
    expect(log).toContain('step 7\nweights\n')
    expect(log).toContain('restored: state.txt ckpt')
    const downloads = aws.calls().filter((c) => /\bs3 (cp|sync) s3:\/\//.test(c))
    expect(downloads).toHaveLength(1)
    expect(downloads[0]).toMatch(/ s3 sync s3:\/\/get-bucket\/get\/store\/github\.com\/acme\/models\/runs\/swift-owl-3\/artifacts\/ckpt\/ /)
  })
})
