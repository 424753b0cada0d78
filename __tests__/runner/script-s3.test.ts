/**
 * The runner script executed for real by bash (through the LocalBackend) against s3rver on
 * 127.0.0.1, with the real Debian aws CLI (DSTACK_AWS_CLI=/usr/bin/aws, DSTACK_S3_ENDPOINT).
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { awsCliPath, type S3TestServer } from '../helpers/s3server.js'
import { makePlan, removeTempDirs, sha256, startRun, waitFor, s3StoreWithCode } from './fixture.js'
import type { StoreLocation } from '../../src/model/index.js'
import type { RunnerPlan } from '../../src/runner/plan.js'

const PREFIX = 'team/store'
const RUN_PREFIX = 'github.com/acme/models/runs/wise-cat-1'

let s3: S3TestServer
let loc: StoreLocation

async function get(key: string): Promise<string | undefined> {
  try {
    const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}` }))
    return await r.Body!.transformToString()
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined
    throw e
  }
}

async function list(prefix: string): Promise<string[]> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/${prefix}` }))
  return (r.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length + 1)).sort()
}

async function chunks(run = 'wise-cat-1'): Promise<string[]> {
  const keys = (await list(`github.com/acme/models/runs/${run}/attempts/1/logs/`)).filter((k) => /\/\d{6}\.log$/.test(k))
  return Promise.all(keys.map(async (k) => (await get(k))!))
}

async function status(run = 'wise-cat-1'): Promise<Record<string, unknown> | undefined> {
  const t = await get(`github.com/acme/models/runs/${run}/attempts/1/status.json`)
  return t === undefined ? undefined : JSON.parse(t)
}

function start(plan: RunnerPlan, secretEnv: Record<string, string> = {}) {
  return startRun(plan, {
    secretEnv,
    // checkpoints (mount: true) every second here, not every 30 s, so the test sees one mid-run
    backend: { env: { ...s3.env, DSTACK_AWS_CLI: awsCliPath(), DSTACK_S3_ENDPOINT: s3.endpoint, DSTACK_CHECKPOINT_INTERVAL: '1' } }
  })
}

beforeAll(async () => {
  ;({ s3, loc } = await s3StoreWithCode('runs-bucket', PREFIX, { 'train.py': 'print("hi")\n', 'conf/a.yaml': 'lr: 0.1\n' }))
})

afterAll(async () => {
  await s3?.close()
  removeTempDirs()
})

describe('runner script, S3 store (s3rver + aws CLI 2)', () => {
  test('success: logs stream while the job runs, mount artifact early, artifacts + manifest + status at the end', async () => {
    const secret = 'tok-0123456789-secret'
    const plan = makePlan(loc, {
      secretEnvNames: ['WANDB_API_KEY'],
      env: { MODE: "it's $(fast)" },
      args: ['--epochs', '2'],
      commands: [
        'echo "mode=$MODE args=" ${{ run.args }} && cat conf/a.yaml',
        'mkdir -p ckpt out && echo c1 > ckpt/1.txt && echo PART-ONE',
        'sleep 5',
        'echo c2 > ckpt/2.txt && printf "%s" "$WANDB_API_KEY" | sha256sum > out/key.sha && echo PART-TWO'
      ],
      artifacts: [{ path: 'ckpt', mount: true }, { path: 'out', mount: false }]
    })
    const s = await start(plan, { WANDB_API_KEY: secret })
    await waitFor('first log chunk in S3', async () => (await chunks()).join('').includes('PART-ONE'), 20_000)
    await waitFor('the mounted artifact in S3', async () => (await get(`${RUN_PREFIX}/artifacts/ckpt/1.txt`)) === 'c1\n', 20_000)
    expect((await s.handle.poll()).state).toBe('running')
    expect((await status())?.phase).toBe('running')
    const end = await s.ended()
    expect(end).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(s.script).not.toContain(secret)
    const st = (await status())!
    expect(st).toMatchObject({ phase: 'done', status: 'succeeded', exitCode: 0 })
    const cs = await chunks()
    expect(st.logChunks).toBe(cs.length)
    expect(cs.length).toBeGreaterThanOrEqual(2)
    const log = cs.join('')
    expect(log).toContain("mode=it's $(fast) args= --epochs 2\nlr: 0.1\n")
    expect(log.match(/PART-ONE/g)).toHaveLength(1)
    expect(log.match(/PART-TWO/g)).toHaveLength(1)
    expect(await get(`${RUN_PREFIX}/artifacts/ckpt/2.txt`)).toBe('c2\n')
    const keySha = `${sha256(secret)}  -\n`
    expect(await get(`${RUN_PREFIX}/artifacts/out/key.sha`)).toBe(keySha)
    expect(JSON.parse((await get(`${RUN_PREFIX}/artifacts.json`))!)).toEqual([
      { path: 'ckpt/1.txt', size: 3, sha256: sha256('c1\n') },
      { path: 'ckpt/2.txt', size: 3, sha256: sha256('c2\n') },
      { path: 'out/key.sha', size: keySha.length, sha256: sha256(keySha) }
    ])
    for (const k of await list('github.com/')) expect(await get(k)).not.toContain(secret)
  })

  test('failure: later commands do not run; status failed; artifacts + manifest saved', async () => {
    const plan = makePlan(loc, {
      runName: 'sad-owl-2',
      commands: ['mkdir -p out && echo half > out/h.txt', 'false', 'echo NOPE > out/n.txt'],
      artifacts: [{ path: 'out', mount: false }]
    })
    const s = await start(plan)
    const end = await s.ended()
    expect(end.exitCode).toBe(1)
    const st = (await status('sad-owl-2'))!
    expect(st).toMatchObject({ phase: 'done', status: 'failed', exitCode: 1 })
    expect(st.reason).toContain('`commands[2]` (false) exited with 1')
    const p = 'github.com/acme/models/runs/sad-owl-2'
    expect(await get(`${p}/artifacts/out/h.txt`)).toBe('half\n')
    expect(await get(`${p}/artifacts/out/n.txt`)).toBeUndefined()
    expect(JSON.parse((await get(`${p}/artifacts.json`))!)).toEqual([{ path: 'out/h.txt', size: 5, sha256: sha256('half\n') }])
  })

  test('cancel(): status cancelled, artifacts and logs saved to S3', async () => {
    const plan = makePlan(loc, {
      runName: 'calm-fox-3',
      commands: ['mkdir -p out && echo kept > out/k.txt && echo WORKING', 'sleep 60'],
      artifacts: [{ path: 'out', mount: false }]
    })
    const s = await start(plan)
    await waitFor('the job to print', async () => (await chunks('calm-fox-3')).join('').includes('WORKING'), 20_000)
    await s.handle.cancel('test')
    const end = await s.ended()
    expect(end.exitCode).toBe(143)
    expect(await status('calm-fox-3')).toMatchObject({ phase: 'done', status: 'cancelled' })
    expect(await get('github.com/acme/models/runs/calm-fox-3/artifacts/out/k.txt')).toBe('kept\n')
    expect((await chunks('calm-fox-3')).join('')).toMatch(/WORKING\n[\s\S]*cancelled/)
  })
})
