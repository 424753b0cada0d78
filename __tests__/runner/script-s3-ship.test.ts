/**
 * How the runner ships small objects (log chunks, status.json) to S3: with curl and SigV4 rather than
 * an `aws` process each (about a CPU second apiece), credentials from the aws CLI's chain handed to
 * curl on stdin, and the aws CLI again as soon as curl fails. Real bash, real aws CLI, s3rver.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { S3TestServer } from '../helpers/s3server.js'
import { makePlan, removeTempDirs, startRun, tempDir, s3StoreWithCode , recordingAws } from './fixture.js'
import type { StoreLocation } from '../../src/model/index.js'

const PREFIX = 'ship/store'
let s3: S3TestServer
let loc: StoreLocation

async function get(key: string): Promise<string | undefined> {
  try {
    return await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}` }))).Body!.transformToString()
  } catch {
    return undefined
  }
}
async function chunks(run: string): Promise<string> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/github.com/acme/models/runs/${run}/attempts/1/logs/` }))
  const keys = (r.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length + 1)).sort()
  return (await Promise.all(keys.map(get))).join('')
}

/** a `curl` that notes its arguments and stdin, then fails like a rejected signature (HTTP 403) */
function refusingCurl(): { dir: string; argv: () => string; stdin: () => string } {
  const dir = tempDir('curl-')
  const path = join(dir, 'curl')
  writeFileSync(
    path,
    `#!/bin/bash\nif [ "$1" = --help ]; then echo ' --aws-sigv4 <provider1[:prov2[:reg[:srv]]]>'; exit 0; fi\nprintf '%s\\n' "$*" >>'${dir}/argv'\ncat >>'${dir}/stdin'\nprintf 403\nexit 0\n`
  )
  chmodSync(path, 0o755)
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')
  return { dir, argv: () => read('argv'), stdin: () => read('stdin') }
}

beforeAll(async () => {
  ;({ s3, loc } = await s3StoreWithCode('ship-bucket', PREFIX, { 'a.txt': 'a\n' }))
})
afterAll(async () => {
  await s3?.close()
  removeTempDirs()
})

const job = ['for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.3; done', 'echo done-here']

describe('runner: shipping small objects to S3', () => {
  test('log chunks and status.json go through curl: the aws CLI runs only to fetch the code and the credentials', async () => {
    const aws = recordingAws()
    const s = await startRun(makePlan(loc, { runName: 'quick-elk-1', commands: job }), {
      backend: { env: { ...s3.env, DSTACK_AWS_CLI: aws.path, DSTACK_S3_ENDPOINT: s3.endpoint } }
    })
    expect(await s.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    const log = await chunks('quick-elk-1')
    for (let i = 1; i <= 6; i++) expect(log.match(new RegExp(`tick ${i}\\n`, 'g'))).toHaveLength(1)
    expect(log).toContain('done-here')
    expect(JSON.parse((await get('github.com/acme/models/runs/quick-elk-1/attempts/1/status.json'))!)).toMatchObject({ phase: 'done', status: 'succeeded' })
    const calls = aws.calls()
    expect(calls.filter((c) => / s3 cp .*\/(logs\/\d+\.log|status\.json) /.test(c))).toEqual([])
    expect(calls.filter((c) => c.startsWith('configure export-credentials'))).toHaveLength(1)
    // the chunks came while the job ran, not at the end: more than one
    expect(Number(JSON.parse((await get('github.com/acme/models/runs/quick-elk-1/attempts/1/status.json'))!).logChunks)).toBeGreaterThan(1)
  })

  test('when curl is refused, the aws CLI ships everything; the keys reach curl on stdin, never its arguments', async () => {
    const aws = recordingAws()
    const curl = refusingCurl()
    const secretKey = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
    const s = await startRun(makePlan(loc, { runName: 'slow-elk-2', commands: job }), {
      backend: {
        env: { ...s3.env, AWS_SECRET_ACCESS_KEY: secretKey, AWS_SESSION_TOKEN: 'session-token-1', PATH: `${curl.dir}:${process.env.PATH}`, DSTACK_AWS_CLI: aws.path, DSTACK_S3_ENDPOINT: s3.endpoint }
      }
    })
    expect(await s.ended()).toMatchObject({ state: 'ended', exitCode: 0 })
    const log = await chunks('slow-elk-2')
    for (let i = 1; i <= 6; i++) expect(log.match(new RegExp(`tick ${i}\\n`, 'g'))).toHaveLength(1)
    expect(JSON.parse((await get('github.com/acme/models/runs/slow-elk-2/attempts/1/status.json'))!)).toMatchObject({ phase: 'done', status: 'succeeded' })
    // tried once, and once more with fresh credentials, then never again
    expect(curl.argv().trim().split('\n')).toHaveLength(2)
    expect(curl.argv()).toContain('--aws-sigv4 aws:amz:us-east-1:s3')
    expect(curl.argv()).not.toContain(secretKey)
    expect(curl.argv()).not.toContain('session-token-1')
    expect(curl.stdin()).toContain(`user = "S3RVER:${secretKey}"`)
    expect(curl.stdin()).toContain('header = "x-amz-security-token: session-token-1"')
    expect(aws.calls().filter((c) => / s3 cp .*status\.json /.test(c)).length).toBeGreaterThanOrEqual(2)
  })
})
