/**
 * Scenarios of issue 24 (training that outlives the CI job; docs/long-runs.md): `mode: start` /
 * `run -d` returns once the job started, with the runner detached from its SSM command; a later
 * process attaches, follows and finishes the run through run's own path; several attachers at once;
 * a run nobody watches still ends, saves and terminates itself; a spot reclaim with nobody watching
 * is retried by the next attach with the checkpoints restored; a run longer than SSM's 48 h;
 * `cleanup` never takes a live detached run's machine, and a vanished machine makes the run lost.
 * The same real parts as scenarios.test.ts (s3rver, the real bootstrap and runner run by bash with
 * the real aws CLI, EC2/SSM doubles) and its virtual clock for the backend. `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runWorkflow, type RunEvent } from '../../../src/orchestrate/index.js'
import { attachRun, type AttachOptions } from '../../../src/orchestrate/attach-run.js'
import { RunStore } from '../../../src/store/index.js'
import { refreshedStatus } from '../../../src/entry/cli-views.js'
import { runMarkdown } from '../../../src/report/index.js'
import type { RunRecord } from '../../../src/model/index.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { startHarness, until, WakingS3Store, type Harness } from './harness.js'

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

const HOUR = 3600_000

/** a task whose job waits for the test's go file (nothing depends on timing), then writes an artifact */
function task(o: { maxDuration?: string; body?: string; extra?: string } = {}): string {
  const go = join(h.root, 'go')
  return `type: task
name: train
commands:
  - echo "job started"
  - while [ ! -f ${go} ]; do sleep 0.2; done
  - ${o.body ?? 'echo "job went on"'}
  - mkdir -p out && echo "model" > out/model.txt
artifacts:
  - out
${o.extra ?? ''}resources:
  gpu: A10G
spot_policy: auto
regions: [us-east-1]
${o.maxDuration ? `max_duration: ${o.maxDuration}\n` : ''}`
}
const go = () => writeFileSync(join(h.root, 'go'), '')

function repoWith(text: string): string {
  const repo = makeRepo({ '.dstack/train.dstack.yml': text })
  cleanups.push(repo.cleanup)
  return repo.dir
}

function s3Store(): { objects: WakingS3Store; store: RunStore } {
  const objects = new WakingS3Store(h.s3)
  return { objects, store: new RunStore(objects) }
}

const logsOf = (events: RunEvent[], attempt?: number) =>
  events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log' && (attempt === undefined || e.attempt === attempt)).map((e) => e.text).join('')

/** `run -d` / `mode: start`: the process that starts the run, gone once this returns */
async function startDetached(text: string): Promise<{ rec: RunRecord; store: RunStore; objects: WakingS3Store; events: RunEvent[] }> {
  const { objects, store } = s3Store()
  const events: RunEvent[] = []
  const backend = h.backend()
  const rec = await runWorkflow({ repoDir: repoWith(text), workflow: 'train', args: [], environ: {}, backend, store, storeLocation: objects.location, signal: new AbortController().signal, emit: (e) => void events.push(e), pollIntervalMs: 200, detach: true })
  backend.close()
  return { rec, store, objects, events }
}

/** a later process: `attach` with a backend of its own */
async function attach(s: { rec: RunRecord; store: RunStore; objects: WakingS3Store }, over: Partial<AttachOptions> = {}) {
  const events: RunEvent[] = []
  const backend = h.backend()
  const res = await attachRun({ store: s.store, storeLocation: s.objects.location, backend, record: s.rec, environ: {}, signal: new AbortController().signal, emit: (e) => void events.push(e), pollIntervalMs: 200, ...over }).finally(() => backend.close())
  return { ...res, events }
}

/** the phase attempt 1's status.json says (a read that meets it half written counts as none) */
const phaseOf = async (s: { rec: RunRecord; store: RunStore }) => (await s.store.readStatus(s.rec.repoId, s.rec.run, 1).catch(() => undefined))?.phase
const instanceOf = (rec: RunRecord, n = 1) => rec.attempts.find((a) => a.n === n)!.machine!.id
const bootstrapOf = (id: string) => [...h.cloud.invocations].find((c) => c.instanceId === id && String(c.input.Comment).startsWith('dstack '))!
const shutdownLog = (id: string) => {
  const f = join(h.sim.instanceDir(id), 'shutdown.log')
  return existsSync(f) ? readFileSync(f, 'utf8') : ''
}

describe('runs longer than a CI job: start detached, attach from anywhere', () => {
  it('detached start: returns once the job runs; the SSM command has ended while the runner goes on', async () => {
    const s = await startDetached(task())
    expect(s.rec.status).toBe('running')
    const id = instanceOf(s.rec)
    const cmd = bootstrapOf(id)
    // the bootstrap returned once the runner ran: SSM's executionTimeout bounds only that start
    expect(cmd.status).toBe('Success')
    expect(Number((cmd.input.Parameters as Record<string, string[]>).executionTimeout![0])).toBeLessThanOrEqual(600)
    expect(cmd.stdout).toMatch(/runner \d+ started detached/)
    expect(h.sim.detachedRunnerPid(id)).toBeDefined()
    expect(h.cloud.instances.get(id)!.state).toBe('running')
    await until(async () => (await phaseOf(s)) === 'running', 60_000)
    // the record says running, and so does `ps` (its attempt's status.json is not final)
    expect(await refreshedStatus(s.store, (await s.store.getRun(s.rec.repoId, s.rec.run))!)).toBe('running')
    go()
    const end = await attach(s)
    expect(end.record.status).toBe('succeeded')
  })

  it('attach later: another process follows the live log from the start of the attempt and finishes the run as `run` does', async () => {
    const s = await startDetached(task())
    let told = false
    const res = await attach(s, {
      emit: (e) => {
        if (!told && e.type === 'log' && e.text.includes('job started')) {
          told = true
          go()
        }
      }
    })
    expect(told).toBe(true)
    expect(res.ended).toBe(true)
    const rec = res.record
    expect(rec.status).toBe('succeeded')
    expect(rec.exitCode).toBe(0)
    expect(rec.attempts.map((a) => a.status)).toEqual(['succeeded'])
    expect(rec.attempts[0]!.costUsd).toBeGreaterThan(0)
    expect(rec.costUsd).toBe(rec.attempts[0]!.costUsd)
    expect(rec.provenance).toBeDefined()
    expect((await s.store.readManifest(rec.repoId, rec.run))!.map((m) => m.path)).toEqual(['out/model.txt'])
    expect(runMarkdown(rec, (await s.store.readManifest(rec.repoId, rec.run))!, s.store.artifactLinks(rec))).toMatch(/succeeded/)
    // the attach released the machine once status.json said done (the machine also ends itself: see no watcher lifetime)
    expect(h.cloud.instances.get(instanceOf(rec))!.state).toBe('terminated')
  })

  it('attach twice: two attachers at once both see the end; the end is written once; an attach that times out leaves the run untouched', async () => {
    const s = await startDetached(task())
    // an attach whose time is up: the run, its machine and runner stay as they were
    const early = await attach(s, { timeoutMs: 0 })
    expect(early.ended).toBe(false)
    expect(early.record.status).toBe('running')
    expect(h.cloud.instances.get(instanceOf(s.rec))!.state).toBe('running')
    expect(h.sim.detachedRunnerPid(instanceOf(s.rec))).toBeDefined()

    const a = attach(s)
    const b = attach(s)
    go()
    const [ra, rb] = await Promise.all([a, b])
    expect(ra.record.status).toBe('succeeded')
    expect(rb.record.status).toBe('succeeded')
    const finishes = [...ra.events, ...rb.events].filter((e) => e.type === 'step' && e.step === 'finish')
    expect(finishes).toHaveLength(1)
    expect(await s.objects.exists(`${s.rec.repoId}/runs/${s.rec.run}/claims/finish.json`)).toBe(true)
    expect((await s.store.getRun(s.rec.repoId, s.rec.run))!.attempts).toHaveLength(1)
  })

  it('no watcher lifetime: with nobody attached the runner ends, stores its logs, artifacts and status, and the machine ends itself; a reconcile later finishes the record', async () => {
    const s = await startDetached(task())
    go()
    await until(async () => (await phaseOf(s)) === 'done', 90_000)
    const id = instanceOf(s.rec)
    const written = (await s.store.readStatus(s.rec.repoId, s.rec.run, 1))!
    expect(written.status).toBe('succeeded')
    expect((await s.store.readManifest(s.rec.repoId, s.rec.run))!.map((m) => m.path)).toEqual(['out/model.txt'])
    // the instance's own limits: the self-destruct armed at max_duration, and its shutdown at the end
    await until(() => /-h now/.test(shutdownLog(id)), 30_000)
    expect(shutdownLog(id)).toMatch(/-h \+\d+ dstack: run .* reached its max duration/)
    // nobody finished the record yet; `ps` reads the attempt's status.json
    const stale = (await s.store.getRun(s.rec.repoId, s.rec.run))!
    expect(stale.status).toBe('running')
    expect(await refreshedStatus(s.store, stale)).toBe('succeeded')
    // one look (`reconcile`): the end is written
    const r = await attach(s, { timeoutMs: 0 })
    expect(r.ended).toBe(true)
    expect(r.record.status).toBe('succeeded')
  })

  it('detached interruption retry: AWS reclaims the spot instance with nobody watching; the next attach starts attempt 2 with the checkpoint restored', async () => {
    const TRAIN = `type: task
name: train
commands:
  - |
    mkdir -p ckpt
    start=0
    if [ -f ckpt/step ]; then start=$(cat ckpt/step); echo "resuming from step $start (restored: $DSTACK_RESTORED)"; fi
    for i in $(seq $((start + 1)) 4); do
      echo "train step $i"
      echo "$i" > ckpt/step
      if [ "$DSTACK_ATTEMPT" = 1 ] && [ "$i" = 2 ]; then sleep 120; fi
    done
artifacts:
  - path: ckpt
    mount: true
resources:
  gpu: A10G
spot_policy: auto
regions: [us-east-1]
`
    const s = await startDetached(TRAIN)
    const first = instanceOf(s.rec)
    // nobody is attached: the notice comes, the runner saves and stops, then AWS takes the machine
    await until(() => h.jobLog(first, 1).includes('train step 2'), 90_000)
    h.sim.announceInterruption(first)
    await until(async () => (await phaseOf(s)) === 'done', 90_000)
    h.cloud.reclaim(first)

    const res = await attach(s)
    const rec = res.record
    expect(rec.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded'])
    expect(rec.status).toBe('succeeded')
    expect(logsOf(res.events, 2)).toContain('resuming from step 2 (restored: ckpt)')
    expect(logsOf(res.events, 2).match(/^train step \d$/gm)).toEqual(['train step 3', 'train step 4'])
    // attempt 2 ran detached too, on-demand first after a reclaim (spot_policy: auto)
    const second = instanceOf(rec, 2)
    expect(second).not.toBe(first)
    expect(bootstrapOf(second).stdout).toMatch(/started detached/)
    expect(rec.attempts[1]!.machine!.market).toBe('on-demand')
    expect(runMarkdown(rec, (await s.store.readManifest(rec.repoId, rec.run))!, s.store.artifactLinks(rec))).toMatch(/\| 1 \|.*\| interrupted \|[\s\S]*\| 2 \|.*\| succeeded \|/)
  })

  it('beyond 48 hours: the SSM command\'s 48 h limit passes on the clock and the job goes on; attach finishes it', async () => {
    const s = await startDetached(task({ maxDuration: '72h' }))
    const id = instanceOf(s.rec)
    const cmd = bootstrapOf(id)
    h.clock.advance(49 * HOUR)
    // SSM has long forgotten the command; the runner and the instance are still there
    expect(cmd.status).toBe('Success')
    expect(h.sim.detachedRunnerPid(id)).toBeDefined()
    expect(h.cloud.instances.get(id)!.state).toBe('running')
    // the instance's tag lets cleanup know it lives until max_duration, not until SSM's limit
    expect(Date.parse(h.cloud.instances.get(id)!.tags['dstack:expires-at']!)).toBeGreaterThan(h.clock.now() + 20 * HOUR)
    go()
    const res = await attach(s)
    expect(res.record.status).toBe('succeeded')
    expect(logsOf(res.events)).toContain('job went on')
  })

  it('cleanup spares detached: a live detached run past 48 h is no orphan; a machine that vanished makes the run lost', async () => {
    const s = await startDetached(task({ maxDuration: '72h' }))
    const id = instanceOf(s.rec)
    h.clock.advance(49 * HOUR)
    const backend = h.backend()
    const swept = await backend.cleanupExpired()
    expect(swept.terminated).toEqual([])
    expect(h.cloud.instances.get(id)!.state).toBe('running')
    expect(h.sim.detachedRunnerPid(id)).toBeDefined()
    // past max_duration it is expired, and cleanup takes it
    h.clock.advance(24 * HOUR)
    expect((await backend.cleanupExpired()).terminated).toEqual([id])
    backend.close()
    // the machine vanished without a result: the next look marks the run lost
    const res = await attach(s)
    expect(res.record.status).toBe('failed')
    expect(res.record.reason).toMatch(/^lost: the machine vanished/)
  })
})
