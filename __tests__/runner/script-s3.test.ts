/**
 * The runner script executed for real by bash (through the LocalBackend) against s3rver on
 * 127.0.0.1, with the real Debian aws CLI (DSTACK_AWS_CLI=/usr/bin/aws, DSTACK_S3_ENDPOINT).
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

function start(plan: RunnerPlan, secretEnv: Record<string, string> = {}, env: Record<string, string> = {}) {
  return startRun(plan, {
    secretEnv,
    // checkpoints (mount: true) every second here, not every 30 s, so the test sees one mid-run
    backend: { env: { ...s3.env, DSTACK_AWS_CLI: awsCliPath(), DSTACK_S3_ENDPOINT: s3.endpoint, DSTACK_CHECKPOINT_INTERVAL: '1', ...env } }
  })
}

/** an aws CLI that writes each call's arguments to a file, then runs the real one */
function countingAwsCli(): { cli: string; calls: () => string[]; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'aws-calls-'))
  const cli = join(dir, 'aws')
  writeFileSync(cli, `#!/bin/sh\nprintf '%s\\n' "$*" >>'${dir}/calls'\nexec '${awsCliPath()}' "$@"\n`)
  chmodSync(cli, 0o755)
  const calls = () => {
    try {
      return readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean)
    } catch {
      return []
    }
  }
  return { cli, calls, remove: () => rmSync(dir, { recursive: true, force: true }) }
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

  test('artifacts into a fresh prefix go up through curl (no aws sync), with their Content-Type; a file over the limit goes through the CLI', async () => {
    const aws = countingAwsCli()
    try {
      const plan = makePlan(loc, {
        runName: 'fast-elk-4',
        commands: ['mkdir -p out/sub && printf png > out/plot.png && echo b > out/sub/b.txt && printf x > "out/sub/c d.bin"'],
        artifacts: [{ path: 'out', mount: false }]
      })
      expect((await (await start(plan, {}, { DSTACK_AWS_CLI: aws.cli })).ended()).exitCode).toBe(0)
      const p = 'github.com/acme/models/runs/fast-elk-4'
      expect(await get(`${p}/artifacts/out/sub/b.txt`)).toBe('b\n')
      expect(await get(`${p}/artifacts/out/sub/c d.bin`)).toBe('x')
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${p}/artifacts/out/plot.png` }))
      expect(head.ContentType).toBe('image/png')
      expect(JSON.parse((await get(`${p}/artifacts.json`))!).map((e: { path: string }) => e.path)).toEqual(['out/plot.png', 'out/sub/b.txt', 'out/sub/c d.bin'])
      expect(aws.calls().filter((c) => c.includes('s3 sync') || c.includes(' cp '))).toEqual([])

      // a file over DSTACK_S3_TREE_MAX_BYTES: the CLI's sync sends the folder
      const big = makePlan(loc, {
        runName: 'big-elk-5',
        commands: ['mkdir -p out && head -c 200 /dev/zero > out/big.bin && echo s > out/small.txt'],
        artifacts: [{ path: 'out', mount: false }]
      })
      expect((await (await start(big, {}, { DSTACK_AWS_CLI: aws.cli, DSTACK_S3_TREE_MAX_BYTES: '100' })).ended()).exitCode).toBe(0)
      expect(aws.calls().filter((c) => c.includes('s3 sync') && c.includes('big-elk-5/artifacts/out'))).toHaveLength(1)
      expect((await get('github.com/acme/models/runs/big-elk-5/artifacts/out/big.bin'))?.length).toBe(200)
      expect(await get('github.com/acme/models/runs/big-elk-5/artifacts/out/small.txt')).toBe('s\n')

      // files over DSTACK_S3_TREE_PART_BYTES: one or a few go through the CLI's multipart; eight or
      // more through curl, one PUT each (as many streams as multipart would open)
      const few = makePlan(loc, {
        runName: 'few-elk-6',
        commands: ['mkdir -p out && for i in 1 2 3; do head -c 200 /dev/zero > out/big$i.bin; done'],
        artifacts: [{ path: 'out', mount: false }]
      })
      expect((await (await start(few, {}, { DSTACK_AWS_CLI: aws.cli, DSTACK_S3_TREE_PART_BYTES: '100' })).ended()).exitCode).toBe(0)
      expect(aws.calls().filter((c) => c.includes('s3 sync') && c.includes('few-elk-6/artifacts/out'))).toHaveLength(1)
      const many = makePlan(loc, {
        runName: 'many-elk-7',
        commands: ['mkdir -p out && for i in 1 2 3 4 5 6 7 8 9; do head -c 200 /dev/zero > out/big$i.bin; done'],
        artifacts: [{ path: 'out', mount: false }]
      })
      expect((await (await start(many, {}, { DSTACK_AWS_CLI: aws.cli, DSTACK_S3_TREE_PART_BYTES: '100' })).ended()).exitCode).toBe(0)
      expect(aws.calls().filter((c) => c.includes('many-elk-7/artifacts/out'))).toEqual([])
      const stored = JSON.parse((await get('github.com/acme/models/runs/many-elk-7/artifacts.json'))!) as { path: string; size: number }[]
      expect(stored.map((e) => e.size)).toEqual(Array(9).fill(200))
      for (const e of stored) expect((await get(`github.com/acme/models/runs/many-elk-7/artifacts/${e.path}`))?.length).toBe(200)
    } finally {
      aws.remove()
    }
  })
})
