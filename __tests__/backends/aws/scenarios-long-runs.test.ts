/**
 * Scenarios of issue 14 (hours-long spot training): checkpoints (`mount: true` artifacts) carried
 * across a spot interruption, the order and timing of the notice's save, AWS sessions renewed for
 * as long as the run lasts, and the session's end foreseen when there is no role to renew.
 * The same real parts as scenarios.test.ts (s3rver, the real bootstrap and runner run by bash with
 * the real aws CLI, EC2/SSM doubles), plus a fake STS on loopback and a virtual clock: the renewed
 * sessions cover hours that take no real time. `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { createServer, request as httpRequest } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { S3Client } from '@aws-sdk/client-s3'
import type { AwsCredentialIdentity } from '@aws-sdk/types'
import { runWorkflow, type RunEvent } from '../../../src/orchestrate/index.js'
import { RunStore, S3Store, FolderStore, s3ClientConfig } from '../../../src/store/index.js'
import { LocalBackend } from '../../../src/backends/local/index.js'
import { defaultClientFactory, type AwsClientFactory } from '../../../src/backends/aws/index.js'
import { renewingWebIdentityCredentials, type RenewingCredentials } from '../../../src/backends/aws/renewing-credentials.js'
import { runMarkdown } from '../../../src/report/index.js'
import type { StoreLocation } from '../../../src/model/index.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { awsError } from './fake-cloud.js'
import { startHarness, spec, until, WakingS3Store, type Harness } from './harness.js'
import { fakeSts, listen, close } from './fake-sts.js'

const REPO_ID = 'github.com/acme/ml-demo'

let h: Harness
let cleanups: (() => void | Promise<void>)[] = []

beforeEach(async () => {
  h = await startHarness()
  cleanups = []
})

afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  await h.close()
})

function repoWith(task: string): string {
  const repo = makeRepo({ '.dstack/train.dstack.yml': task })
  cleanups.push(repo.cleanup)
  return repo.dir
}

function s3Store(client: S3Client = h.s3.client): { objects: S3Store; store: RunStore } {
  const objects = new WakingS3Store(h.s3, { client })
  return { objects, store: new RunStore(objects) }
}

const logsOf = (events: RunEvent[], attempt: number) =>
  events
    .filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log' && e.attempt === attempt)
    .map((e) => e.text)
    .join('')
const warningsOf = (events: RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'warning' }> => e.type === 'warning').map((e) => e.message)
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

/** AWS reclaims the first instance once its job log shows `line` (its runner gets the notice first) */
function reclaimFirstWhen(line: string, opts: { noticeInMs?: number } = {}): { stop: () => void; done: Promise<void> } {
  let stopped = false
  const done = (async () => {
    await until(() => stopped || [...h.cloud.instances.values()].some((i) => h.jobLog(i.id, 1).includes(line)), 90_000)
    if (stopped) return
    const first = [...h.cloud.instances.values()][0]!
    h.sim.onExit = (_c, inst) => {
      if (inst.id === first.id) h.cloud.reclaim(inst.id)
    }
    h.sim.announceInterruption(first.id, opts.noticeInMs)
  })()
  return { stop: () => void (stopped = true), done }
}

// a training job that checkpoints every step; attempt 1 is slow after step 3 (the notice comes then)
const TRAIN = `type: task
name: train
commands:
  - |
    mkdir -p ckpt
    start=0
    if [ -f ckpt/step ]; then start=$(cat ckpt/step); echo "resuming from step $start (attempt $DSTACK_ATTEMPT resumes attempt $DSTACK_RESUMED_FROM; restored: $DSTACK_RESTORED)"; fi
    for i in $(seq $((start + 1)) 6); do
      echo "train step $i"
      echo "$i" > ckpt/step
      if [ "$DSTACK_ATTEMPT" = 1 ] && [ "$i" = 3 ]; then sleep 60; fi
    done
  - mkdir -p out && echo "trained to step $(cat ckpt/step) in attempt $DSTACK_ATTEMPT" > out/model.txt
artifacts:
  - path: ckpt
    mount: true
  - out
resources:
  gpu: A10G
spot_policy: auto
regions: [us-east-1]
`

describe('long runs on spot: resume, notice save, renewed credentials', () => {
  it('resume after interrupt: the retry restores the checkpoint attempt 1 saved and continues from it; the manifest holds the final files once', async () => {
    const { objects, store } = s3Store()
    const events: RunEvent[] = []
    const reclaimer = reclaimFirstWhen('train step 3')
    const rec = await runWorkflow({
      repoDir: repoWith(TRAIN),
      workflow: 'train',
      args: [],
      environ: {},
      backend: h.backend(),
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 200
    }).finally(reclaimer.stop)
    await reclaimer.done

    expect(rec.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded'])
    expect(rec.status).toBe('succeeded')
    const a1 = logsOf(events, 1)
    const a2 = logsOf(events, 2)
    expect(a1).toContain('train step 3')
    expect(a1).toMatch(/notice save: checkpoints \(\S+\) in \d+\.\d s, then logs in \d+\.\d s, then status in \d+\.\d s/)
    // attempt 2 got the checkpoint back before its commands and continued from step 3
    expect(a2).toMatch(/attempt 2 resumes: restored ckpt \(1 files/)
    expect(a2).toContain('resuming from step 3 (attempt 2 resumes attempt 1; restored: ckpt)')
    expect(a2.match(/^train step \d$/gm)).toEqual(['train step 4', 'train step 5', 'train step 6'])
    expect(await objects.getText(`${REPO_ID}/runs/${rec.run}/artifacts/out/model.txt`)).toBe('trained to step 6 in attempt 2\n')
    // the run's manifest: the final files, once (artifacts are per run, not per attempt)
    const manifest = (await store.readManifest(rec.repoId, rec.run))!
    expect(manifest.map((m) => m.path)).toEqual(['ckpt/step', 'out/model.txt'])
    expect(manifest[0]!.sha256).toBe(sha256('6\n'))
    const keys = await h.keys(`dstack/${REPO_ID}/runs/${rec.run}/`)
    expect(keys.filter((k) => k.includes('/artifacts/'))).toEqual([`dstack/${REPO_ID}/runs/${rec.run}/artifacts/ckpt/step`, `dstack/${REPO_ID}/runs/${rec.run}/artifacts/out/model.txt`])
    expect(keys.filter((k) => /\/attempts\/\d+\/.*ckpt/.test(k))).toEqual([])
    // the summary shows what the notice save took
    expect(runMarkdown(rec, manifest, store.artifactLinks(rec))).toMatch(/\| 1 \|.*\| interrupted \|.*notice save: checkpoints/)
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 180_000)

  it('resume after interrupt on the local backend: a simulated spot notice, the retry continues from the checkpoint', async () => {
    const root = mkdtempSync(join(tmpdir(), 'long-local-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    let notice = false
    const imds = await listen(
      createServer((req, res) => {
        if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('t')
        if (req.url === '/latest/meta-data/spot/instance-action' && notice) return void res.end(JSON.stringify({ action: 'terminate', time: new Date(Date.now() + 120_000).toISOString() }))
        res.statusCode = 404
        res.end()
      })
    )
    cleanups.push(() => close(imds.server))
    const location: StoreLocation = { kind: 'folder', root: join(root, 'store') }
    const store = new RunStore(new FolderStore(location.root))
    const backend = new LocalBackend({
      graceMs: 5000,
      env: { DSTACK_WORK_ROOT: join(root, 'work'), DSTACK_LOG_INTERVAL: '1', DSTACK_SPOT_WATCH: '1', DSTACK_SPOT_POLL_INTERVAL: '1', DSTACK_IMDS_ENDPOINT: imds.url, DSTACK_KILL_AFTER: '5' }
    })
    const events: RunEvent[] = []
    const rec = await runWorkflow({
      repoDir: repoWith(TRAIN),
      workflow: 'train',
      args: [],
      environ: {},
      backend,
      store,
      storeLocation: location,
      signal: new AbortController().signal,
      emit: (e) => {
        events.push(e)
        if (e.type === 'log' && e.text.includes('train step 3')) notice = true
        // the retry runs on a "new machine": no notice there
        if (e.type === 'warning' && e.message.startsWith('attempt 1 interrupted')) notice = false
      },
      pollIntervalMs: 200
    })
    expect(rec.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded'])
    const a2 = logsOf(events, 2)
    expect(a2).toContain('resuming from step 3 (attempt 2 resumes attempt 1; restored: ckpt)')
    expect(a2.match(/^train step \d$/gm)).toEqual(['train step 4', 'train step 5', 'train step 6'])
    const manifest = (await store.readManifest(rec.repoId, rec.run))!
    expect(manifest.map((m) => [m.path, m.sha256])).toEqual([
      ['ckpt/step', sha256('6\n')],
      ['out/model.txt', sha256('trained to step 6 in attempt 2\n')]
    ])
  }, 180_000)

  it('notice save order: checkpoints, then logs, then status, timed and reported; a save that cannot fit is said in the summary', async () => {
    // every S3 request of the runner goes through a recording proxy
    const puts: string[] = []
    const proxy = await listen(
      createServer((req, res) => {
        if (req.method === 'PUT') puts.push(decodeURIComponent((req.url ?? '').split('?')[0]!))
        const target = new URL(h.s3.endpoint)
        const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        })
        req.pipe(up)
      })
    )
    cleanups.push(() => close(proxy.server))
    // one periodic sync only (the first, at the job's start): b.bin is left for the notice; and after the
    // first chunk the watch loop ships no other, so the notice's line is shipped by the notice save itself
    // (on a busy machine the job can take more than a tick to die, and the loop would ship it first)
    h.sim.envOverrides = { DSTACK_S3_ENDPOINT: proxy.url, DSTACK_CHECKPOINT_INTERVAL: '600', DSTACK_SHIP_GAP_MS: '600000' }
    const go = mkdtempSync(join(tmpdir(), 'long-go-'))
    cleanups.push(() => rmSync(go, { recursive: true, force: true }))
    const task = `type: task
name: train
env:
  - GO_DIR=${go}
commands:
  - mkdir -p ckpt && head -c 300000 /dev/urandom > ckpt/a.bin && echo wrote-a
  - while [ ! -e "$GO_DIR/go" ]; do sleep 0.2; done; head -c 200000 /dev/urandom > ckpt/b.bin && echo wrote-b && sleep 60
artifacts:
  - path: ckpt
    mount: true
resources:
  gpu: A10G
retry: false
regions: [us-east-1]
`
    const { objects, store } = s3Store()
    const events: RunEvent[] = []
    // the notice arrives late: its termination time has already passed
    const reclaimer = reclaimFirstWhen('wrote-b', { noticeInMs: -30_000 })
    // b.bin is written once the periodic sync has stored a.bin
    const writer = until(() => puts.some((k) => k.endsWith('/artifacts/ckpt/a.bin')), 120_000).then(() => writeFileSync(join(go, 'go'), ''))
    const rec = await runWorkflow({
      repoDir: repoWith(task),
      workflow: 'train',
      args: [],
      environ: {},
      backend: h.backend(),
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 200
    }).finally(reclaimer.stop)
    await reclaimer.done
    await writer

    expect(rec.status).toBe('interrupted')
    // b.bin changed after the last periodic sync (every 30 s): the notice uploads it, then the log, then status.json
    const attemptKey = `/runs-bucket/dstack/${REPO_ID}/runs/${rec.run}`
    const fromNotice = puts.slice(puts.indexOf(`${attemptKey}/artifacts/ckpt/b.bin`))
    expect(fromNotice.length).toBeGreaterThan(3)
    expect(fromNotice[0]).toBe(`${attemptKey}/artifacts/ckpt/b.bin`)
    expect(fromNotice[1]).toMatch(new RegExp(`^${escapeRe(attemptKey)}/attempts/1/logs/\\d{6}\\.log$`))
    expect(fromNotice[2]).toBe(`${attemptKey}/attempts/1/status.json`)
    // ...then the rest: the manifest, the last log chunk and the final status.json
    expect(fromNotice.slice(3)).toContain(`${attemptKey}/artifacts.json`)
    expect(fromNotice[fromNotice.length - 1]).toBe(`${attemptKey}/attempts/1/status.json`)

    const reason = rec.attempts[0]!.reason!
    expect(reason).toMatch(/spot interruption notice/)
    expect(reason).toMatch(/the spot notice came too late \(its time had passed\): the checkpoints changed since the last sync \(\d+(\.\d)?K?B\) may be lost, the last complete sync \(at most 600 s old\) is kept/)
    expect(reason).toMatch(/notice save: checkpoints \(\S+\) in \d+\.\d s, then logs in \d+\.\d s, then status in \d+\.\d s: \d+\.\d s in all, after the notice's time had passed/)
    const manifest = (await store.readManifest(rec.repoId, rec.run)) ?? []
    expect(manifest.map((m) => m.path)).toEqual(['ckpt/a.bin', 'ckpt/b.bin'])
    const summary = runMarkdown(rec, manifest, store.artifactLinks(rec))
    expect(summary).toContain('the spot notice came too late')
    expect(summary).toContain('notice save: checkpoints')
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 180_000)

  it('credentials renewed: a session that expires three times during one run is renewed each time with a fresh OIDC token, and the run succeeds', async () => {
    const sts = await fakeSts(() => h.clock.now())
    cleanups.push(() => close(sts.server))
    let tokens = 0
    const credentials = renewingWebIdentityCredentials({
      roleArn: 'arn:aws:iam::123456789012:role/dstack-ci',
      token: async () => `oidc-token-${++tokens}`,
      sessionName: 'dstack-run-gh-42-1',
      region: 'us-east-1',
      stsEndpoint: sts.url,
      now: h.clock.now,
      log: () => undefined
    })
    // AWS refuses requests signed with an ended session: every client checks it by the virtual clock
    const used = new Set<string>()
    const check = async (provider: () => Promise<AwsCredentialIdentity>) => {
      const c = await provider()
      if (!c.expiration || c.expiration.getTime() <= h.clock.now()) throw awsError('ExpiredToken', 'The security token included in the request is expired')
      used.add(c.sessionToken!)
    }
    const s3 = new S3Client({ ...s3ClientConfig({ region: 'us-east-1', endpoint: h.s3.endpoint }), credentials })
    s3.middlewareStack.add((next) => async (args) => (await check(credentials), next(args)), { step: 'build', name: 'sessionCheck' })
    cleanups.push(() => s3.destroy())
    const { objects, store } = s3Store(s3)

    const go = mkdtempSync(join(tmpdir(), 'long-go-'))
    cleanups.push(() => rmSync(go, { recursive: true, force: true }))
    const task = `type: task
name: train
env:
  - GO_DIR=${go}
commands:
  - for p in 1 2 3 4; do echo "phase $p"; while [ ! -e "$GO_DIR/go-$p" ]; do sleep 0.2; done; done
  - mkdir -p out && echo trained > out/model.txt
artifacts:
  - out
resources:
  gpu: A10G
max_duration: 6h
regions: [us-east-1]
`
    const events: RunEvent[] = []
    // each phase takes a virtual hour and a minute: the session (1 h) ends during phases 1, 2 and 3
    let stopped = false
    const driver = (async () => {
      for (const p of [1, 2, 3, 4]) {
        await until(() => stopped || logsOf(events, 1).includes(`phase ${p}\n`), 90_000)
        if (stopped) return
        if (p < 4) {
          const before = credentials.sessions
          h.clock.advance(61 * 60_000)
          await until(() => stopped || credentials.sessions > before, 30_000)
        }
        writeFileSync(join(go, `go-${p}`), '')
      }
    })()
    const rec = await runWorkflow({
      repoDir: repoWith(task),
      workflow: 'train',
      args: [],
      environ: {},
      backend: h.backend({ credentials, clientFactory: checkingFactory(credentials, check) }),
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 100,
      now: h.clock.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100)))
    }).finally(() => (stopped = true))
    await driver

    expect(rec.status).toBe('succeeded')
    expect(rec.attempts).toHaveLength(1)
    // one session at the start, renewed after each of the three expiries, each with a fresh token
    expect(credentials.sessions).toBe(4)
    expect(sts.calls.map((c) => c.token)).toEqual(['oidc-token-1', 'oidc-token-2', 'oidc-token-3', 'oidc-token-4'])
    expect(sts.calls.every((c) => c.roleArn === 'arn:aws:iam::123456789012:role/dstack-ci' && c.durationSeconds === '3600' && c.sessionName === 'dstack-run-gh-42-1')).toBe(true)
    expect([...used].sort()).toEqual(['session-1', 'session-2', 'session-3', 'session-4'])
    // nothing was refused on the way: no lost contact, no expired credentials
    expect(warningsOf(events).filter((w) => /lost contact|expired/i.test(w))).toEqual([])
    expect(logsOf(events, 1)).toContain('phase 4')
    expect(await objects.getText(`${REPO_ID}/runs/${rec.run}/artifacts/out/model.txt`)).toBe('trained\n')
    // a virtual 3 h run: the session's lifetime was never the limit
    expect(Date.parse(rec.endedAt!) - Date.parse(rec.submittedAt)).toBeGreaterThan(3 * 3600_000)
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 180_000)

  it('no role expiry warning: without role-to-assume, the start says when the session ends and what happens then', async () => {
    const start = h.clock.now()
    const s = spec({ maxDurationSec: 6 * 3600, commands: ['true'], artifacts: [] })
    const ends = new Date(start + 3600_000).toISOString()

    // a session that ends in 1 h, with a run that may last 6 h
    const req = await h.request(1, s)
    const handle = await h.backend({ env: { AWS_SESSION_TOKEN: 'x', AWS_CREDENTIAL_EXPIRATION: ends } }).start(req)
    const warning = req.lines.find((l) => l.startsWith('warning: the AWS session'))
    expect(warning).toBe(
      `warning: the AWS session ends at ${ends} (in 1h 0m 0s), before this run may end (max_duration 6h 0m 0s): from then on this step cannot watch the run nor terminate its instance: ` +
        'it stops with an error once the store and EC2 stay unreachable; the run goes on, its instance writes logs, artifacts and status to the store with its own role (`dstack-run logs <run>` shows them) and stops itself at max_duration, ' +
        'and `cleanup` terminates it once its dstack:expires-at tag has passed. To watch the whole run, give `role-to-assume` (GitHub: with `permissions: id-token: write`; GitLab: an `id_tokens` entry DSTACK_AWS_ID_TOKEN): the session is then renewed for as long as the run lasts'
    )
    await handle.release()

    // an unknown end (configure-aws-credentials exports no expiry): said as such
    const req2 = await h.request(2, s)
    const h2 = await h.backend({ env: { AWS_SESSION_TOKEN: 'x' } }).start(req2)
    expect(req2.lines.join('\n')).toMatch(/warning: the AWS credentials are a temporary session \(AWS_SESSION_TOKEN is set\) that this step cannot renew, and its end is not known here .*max_duration 6h 0m 0s/)
    await h2.release()

    // a session that outlasts the run, long-lived keys, or a renewed role: nothing to warn about
    for (const env of [{ AWS_SESSION_TOKEN: 'x', AWS_CREDENTIAL_EXPIRATION: new Date(start + 7 * 3600_000).toISOString() }, { AWS_ACCESS_KEY_ID: 'AKIA' }]) {
      const r = await h.request(3, s)
      const hx = await h.backend({ env }).start(r)
      expect(r.lines.filter((l) => l.includes('AWS session') || l.includes('temporary session'))).toEqual([])
      await hx.release()
    }
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 180_000)

  it('no role expiry warning, then the session ends mid-run: the step gives up after the outage limit, the instance finishes on its own', async () => {
    const start = h.clock.now()
    const ends = new Date(start + 3600_000)
    // the CI's session: one hour, not renewable; AWS (and the store) refuse it afterwards
    const session = async (): Promise<AwsCredentialIdentity> => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', sessionToken: 'ci-session', expiration: ends })
    const check = async (provider: () => Promise<AwsCredentialIdentity>) => {
      const c = await provider()
      if (c.expiration && c.expiration.getTime() <= h.clock.now()) throw awsError('ExpiredToken', 'The security token included in the request is expired')
    }
    const s3 = new S3Client({ ...s3ClientConfig({ region: 'us-east-1', endpoint: h.s3.endpoint }), credentials: session })
    s3.middlewareStack.add((next) => async (args) => (await check(session), next(args)), { step: 'build', name: 'sessionCheck' })
    cleanups.push(() => s3.destroy())
    const { objects, store } = s3Store(s3)
    const go = mkdtempSync(join(tmpdir(), 'long-go-'))
    cleanups.push(() => rmSync(go, { recursive: true, force: true }))
    const task = `type: task
name: train
env:
  - GO_DIR=${go}
commands:
  - echo "line 1"; while [ ! -e "$GO_DIR/go" ]; do sleep 0.2; done; echo "line 2"
resources:
  gpu: A10G
max_duration: 6h
regions: [us-east-1]
`
    const events: RunEvent[] = []
    const backend = h.backend({ env: { AWS_SESSION_TOKEN: 'ci-session', AWS_CREDENTIAL_EXPIRATION: ends.toISOString() }, clientFactory: checkingFactory(session as unknown as RenewingCredentials, check) })
    let stopped = false
    const driver = (async () => {
      await until(() => stopped || logsOf(events, 1).includes('line 1'), 90_000)
      h.clock.advance(61 * 60_000) // the session ends
      await until(() => stopped || warningsOf(events).some((w) => w.startsWith('lost contact with the run')), 30_000)
      h.clock.advance(10 * 60_000) // and stays ended for the outage limit
    })()
    const err = await runWorkflow({
      repoDir: repoWith(task),
      workflow: 'train',
      args: [],
      environ: {},
      backend,
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 100,
      now: h.clock.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100)))
    })
      .then(() => undefined)
      .catch((e: unknown) => e as Error)
      .finally(() => (stopped = true))
    await driver

    const info = events.filter((e): e is Extract<RunEvent, { type: 'info' }> => e.type === 'info').map((e) => e.message)
    expect(info.some((m) => m.startsWith(`warning: the AWS session ends at ${ends.toISOString()} (in 1h 0m 0s), before this run may end (max_duration 6h 0m 0s)`))).toBe(true)
    // as said at the start: the step loses sight of the run and fails...
    expect(warningsOf(events).some((w) => /^lost contact with the run \((AWS credentials expired|The security token included in the request is expired)/.test(w))).toBe(true)
    expect(warningsOf(events).some((w) => /^releasing i-\w+ failed: AWS credentials expired/.test(w))).toBe(true)
    expect(err?.message).toMatch(/security token included in the request is expired/)
    // ...while the run goes on: its instance finishes and writes its status with its own role
    expect(h.cloud.running()).toHaveLength(1)
    writeFileSync(join(go, 'go'), '')
    const reader = s3Store().objects
    // s3rver writes an object in place: a read while the runner rewrites it can find it empty or cut (S3 never does): not yet
    const attemptStatus = async (): Promise<Record<string, unknown>> => {
      const key = (await h.keys(`dstack/${REPO_ID}/runs/`)).find((k) => k.endsWith('/attempts/1/status.json'))
      try {
        return key ? (JSON.parse((await reader.getText(key.slice('dstack/'.length))) ?? '{}') as Record<string, unknown>) : {}
      } catch {
        return {}
      }
    }
    await until(async () => (await attemptStatus()).phase === 'done', 90_000)
    expect(await attemptStatus()).toMatchObject({ status: 'succeeded', exitCode: 0 })
    // cleanup's part, with credentials that work
    await h.backend().releaseMachine({ id: h.cloud.running()[0]!.id, backend: 'aws', region: 'us-east-1' })
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 240_000)

  it('the watch survives a short loss of credentials: it keeps following the run through the store and the run succeeds', async () => {
    const { objects, store } = s3Store()
    const events: RunEvent[] = []
    const go = mkdtempSync(join(tmpdir(), 'long-go-'))
    cleanups.push(() => rmSync(go, { recursive: true, force: true }))
    const task = `type: task
name: train
env:
  - GO_DIR=${go}
commands:
  - echo "line 1"; while [ ! -e "$GO_DIR/go" ]; do sleep 0.2; done; echo "line 2"
artifacts: []
resources:
  gpu: A10G
regions: [us-east-1]
`
    let injected = false
    const rec = await runWorkflow({
      repoDir: repoWith(task),
      workflow: 'train',
      args: [],
      environ: {},
      backend: h.backend(),
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => {
        events.push(e)
        // once the job runs, EC2 and SSM refuse three polls in a row
        if (!injected && e.type === 'log' && e.text.includes('line 1')) {
          injected = true
          h.cloud.pollErrors = [1, 2, 3].map(() => awsError('ExpiredToken', 'The security token included in the request is expired'))
        }
        // the job ends only once the watch has contact again
        if (e.type === 'warning' && e.message.startsWith('contact with the run is back')) writeFileSync(join(go, 'go'), '')
      },
      pollIntervalMs: 200
    })
    expect(injected).toBe(true)
    expect(rec.status).toBe('succeeded')
    const w = warningsOf(events)
    expect(w.some((m) => /^lost contact with the run \(AWS credentials expired .*\); watching it through the store and trying again for up to 10m/.test(m))).toBe(true)
    expect(w.some((m) => /^contact with the run is back after .* \(\d+ failed poll\(s\)\): watching again$/.test(m))).toBe(true)
    expect(logsOf(events, 1)).toContain('line 2')
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
  }, 120_000)
})

/** the clients of the default factory, each request first checked against the session (as AWS does) */
function checkingFactory(credentials: RenewingCredentials, check: (p: () => Promise<AwsCredentialIdentity>) => Promise<void>): AwsClientFactory {
  const inner = defaultClientFactory({ credentials })
  const wrap = <T extends object>(client: T): T =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (prop !== 'send' || typeof v !== 'function') return v
        return async (...args: unknown[]) => {
          await check((target as unknown as { config: { credentials: () => Promise<AwsCredentialIdentity> } }).config.credentials)
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
    })
  return {
    ec2: (r) => wrap(inner.ec2(r)),
    launchEc2: (r) => wrap(inner.launchEc2(r)),
    ssm: (r) => wrap(inner.ssm(r)),
    sendSsm: (r) => wrap(inner.sendSsm(r)),
    pricing: () => wrap(inner.pricing()),
    sts: (r) => wrap(inner.sts(r)),
    iam: () => wrap(inner.iam()),
    quotas: (r) => wrap(inner.quotas(r)),
    destroy: () => inner.destroy()
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

