/**
 * The run lifecycle with a fake backend (the port), the real folder store, real workflow files and
 * a real git revision. The fake "machine" writes what a runner writes (log chunks, status.json,
 * artifacts) so the orchestrator's reading side is exercised exactly as with a real backend.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runWorkflow, type RunEvent } from '../../src/orchestrate/index.js'
import { FolderStore, RunStore, keys } from '../../src/store/index.js'
import { NoCapacityError, type AttemptHandle, type Backend, type ExecState, type MachineInfo, type StartRequest, type AttemptStatus } from '../../src/model/index.js'
import { makeRepo } from '../helpers/git-repo.js'

type Script = (req: StartRequest, io: { writeLog(seq: number, text: string): Promise<void>; writeStatus(s: AttemptStatus): Promise<void> }) => Promise<ExecState | 'hang'>

/** A backend whose machines follow a script per attempt; it records what was started and released. */
class FakeBackend implements Backend {
  readonly name = 'local' as const
  started: MachineInfo[] = []
  released = new Set<string>()
  cancelled: string[] = []
  constructor(
    private readonly store: RunStore,
    private readonly objects: FolderStore,
    private readonly scripts: (Script | Error)[]
  ) {}
  async start(req: StartRequest): Promise<AttemptHandle> {
    const s = this.scripts[req.attempt - 1]
    if (!s) throw new Error(`no script for attempt ${req.attempt}`)
    if (s instanceof Error) throw s
    const machine: MachineInfo = { id: `fake-${req.attempt}`, backend: 'aws', instanceType: 'g5.xlarge', market: req.previousAttempts.some((a) => a.status === 'interrupted') ? 'on-demand' : 'spot', pricePerHour: 1.2 }
    this.started.push(machine)
    await req.onMachine(machine)
    const io = {
      writeLog: async (seq: number, text: string) => void (await this.objects.put(keys.logChunk(req.repoId, req.runName, req.attempt, seq), text)),
      writeStatus: (st: AttemptStatus) => this.store.writeStatus(req.repoId, req.runName, req.attempt, st)
    }
    let result: ExecState | 'hang' | undefined
    void s(req, io).then((r) => (result = r))
    const self = this
    return {
      machine,
      async poll() {
        return result && result !== 'hang' ? result : { state: 'running' }
      },
      async cancel() {
        self.cancelled.push(machine.id)
        await io.writeLog(1, 'got SIGTERM, saved artifacts\n')
        await io.writeStatus({ phase: 'done', status: 'cancelled', exitCode: 143, reason: 'cancelled: SIGTERM' })
        result = { state: 'ended', exitCode: 143 }
      },
      async release() {
        self.released.add(machine.id)
      }
    }
  }
  async releaseMachine(m: MachineInfo) {
    this.released.add(m.id)
  }
}

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands: [echo hi]
`

let repo: { dir: string; cleanup: () => void }
let root: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'once.dstack.yml': 'type: task\nname: once\nretry: false\ncommands: [echo once]\n' })
  root = mkdtempSync(join(tmpdir(), 'orch-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(root, { recursive: true, force: true })
})

function setup(name: string, scripts: (Script | Error)[]) {
  const objects = new FolderStore(join(root, name))
  const store = new RunStore(objects)
  const backend = new FakeBackend(store, objects, scripts)
  const events: RunEvent[] = []
  const controller = new AbortController()
  const opts = {
    repoDir: repo.dir,
    workflow: 'train',
    args: [],
    environ: {},
    backend,
    store,
    storeLocation: objects.location,
    signal: controller.signal,
    emit: (e: RunEvent) => void events.push(e),
    pollIntervalMs: 5,
    sleep: async () => {}
  }
  const logs = () => events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log').map((e) => `${e.attempt}:${e.text}`)
  return { store, backend, events, controller, opts, logs }
}

const succeed: Script = async (_req, io) => {
  await io.writeLog(0, 'line 1\n')
  await io.writeLog(1, 'line 2\n')
  await io.writeStatus({ phase: 'done', status: 'succeeded', exitCode: 0 })
  return { state: 'ended', exitCode: 0 }
}

describe('runWorkflow', () => {
  it('releases the machine as soon as its attempt has ended, not after the attempt\'s closing store writes (billed seconds)', async () => {
    const t = setup('release-early', [succeed])
    // the write that closes the attempt (its endedAt) notes whether the machine was already let go
    const releasedAtClose: boolean[] = []
    const saveRun = t.store.saveRun.bind(t.store)
    t.store.saveRun = async (rec) => {
      if (rec.attempts[0]?.endedAt && releasedAtClose.length === 0) releasedAtClose.push(t.backend.released.has('fake-1'))
      return saveRun(rec)
    }
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(releasedAtClose).toEqual([true])
    // once: the early release is the only one
    expect([...t.backend.released]).toEqual(['fake-1'])
    expect(t.logs()).toEqual(['1:line 1\n', '1:line 2\n'])
  })

  it('tells the backend the spec before the code snapshot is stored, so its launch reads go beside that work', async () => {
    const t = setup('prepare-early', [succeed])
    const order: string[] = []
    const backend = t.backend as FakeBackend & { prepare?: (s: unknown) => void }
    backend.prepare = (s) => void order.push(`prepare ${(s as { workflow: string }).workflow}`)
    const put = t.store.putCodeSnapshot.bind(t.store)
    t.store.putCodeSnapshot = (sha, tarGz) => (order.push('snapshot'), put(sha, tarGz))
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(order).toEqual(['prepare train', 'snapshot'])
  })

  it('names and records the run while the code snapshot goes up, and launches only once it is stored', async () => {
    const t = setup('snapshot-beside-naming', [succeed])
    const order: string[] = []
    let stored!: () => void
    const put = t.store.putCodeSnapshot.bind(t.store)
    // the snapshot's upload finishes only once the run has been recorded (or never, if that waited for it)
    t.store.putCodeSnapshot = (sha, tarGz) => new Promise<boolean>((resolve, reject) => {
      stored = () => void put(sha, tarGz).then((r) => (order.push('snapshot stored'), resolve(r)), reject)
    })
    const createRun = t.store.createRun.bind(t.store)
    t.store.createRun = async (rec) => {
      const named = await createRun(rec)
      order.push('run recorded')
      stored()
      return named
    }
    const start = t.backend.start.bind(t.backend)
    t.backend.start = (req) => (order.push('launch'), start(req))
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(order).toEqual(['run recorded', 'snapshot stored', 'launch'])
    expect(t.events.some((e) => e.type === 'info' && /code snapshot [0-9a-f]{12} \(\d+ bytes, uploaded\)/.test(e.message))).toBe(true)
  })

  it('a code snapshot that cannot be stored ends the run it named as failed, with the reason, and launches nothing', async () => {
    const t = setup('snapshot-fails', [succeed])
    t.store.putCodeSnapshot = async () => {
      throw new Error('AccessDenied: PutObject on code/')
    }
    let repoId = ''
    const createRun = t.store.createRun.bind(t.store)
    t.store.createRun = async (rec) => ((repoId = rec.repoId), createRun(rec))
    await expect(runWorkflow(t.opts)).rejects.toThrow(/AccessDenied: PutObject on code\//)
    expect(t.backend.started).toEqual([])
    const runs = await t.store.listRuns(repoId)
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^storing the code snapshot failed: AccessDenied/) })
  })

  it('writes the attempt\'s runner script and its provisioning record side by side before the launch', async () => {
    const t = setup('side-by-side', [succeed])
    let inFlight = 0
    let most = 0
    const counted = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
      most = Math.max(most, ++inFlight)
      try {
        await new Promise((r) => setImmediate(r))
        return await f(...a)
      } finally {
        inFlight--
      }
    }
    t.store.putRunnerScript = counted(t.store.putRunnerScript.bind(t.store))
    const saveRun = t.store.saveRun.bind(t.store)
    t.store.saveRun = (rec) => (rec.status === 'provisioning' ? counted(saveRun)(rec) : saveRun(rec))
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(most).toBe(2)
    expect(await t.store.getRun(rec.repoId, rec.run)).toMatchObject({ status: 'succeeded' })
  })

  it('launches beside those two writes: the backend gets them as a promise, and the machine\'s record is written after the provisioning one', async () => {
    const t = setup('launch-beside-writes', [succeed])
    const order: string[] = []
    let finish!: () => void
    const put = t.store.putRunnerScript.bind(t.store)
    const written = new Promise<void>((r) => (finish = r))
    t.store.putRunnerScript = async (...a) => {
      await written
      const key = await put(...a)
      order.push('runner.sh stored')
      return key
    }
    const saveRun = t.store.saveRun.bind(t.store)
    t.store.saveRun = async (rec) => {
      await saveRun(rec)
      if (rec.status === 'provisioning') order.push(rec.attempts[0]?.machine ? 'machine recorded' : 'provisioning recorded')
    }
    const start = t.backend.start.bind(t.backend)
    t.backend.start = async (req) => {
      order.push('launch')
      expect(req.runnerScriptKey).toBe(keys.runnerScript(req.repoId, req.runName, 1))
      finish()
      await req.runnerScriptStored
      order.push('backend saw it stored')
      return start(req)
    }
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(order.indexOf('launch')).toBeLessThan(order.indexOf('runner.sh stored'))
    expect(order.indexOf('runner.sh stored')).toBeLessThan(order.indexOf('backend saw it stored'))
    expect(order.indexOf('provisioning recorded')).toBeLessThan(order.indexOf('machine recorded'))
  })

  it('a runner script that cannot be stored fails the attempt with the reason, and its machine is released', async () => {
    const t = setup('runner-script-fails', [succeed])
    t.store.putRunnerScript = async () => {
      throw new Error('SlowDown: please reduce your request rate')
    }
    const rec = await runWorkflow({ ...t.opts, workflow: 'once' })
    expect(rec.status).toBe('failed')
    expect(rec.attempts[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/SlowDown/) })
    expect([...t.backend.released]).toEqual(t.backend.started.map((m) => m.id))
  })

  it('retries after a spot interruption, keeps both attempts\' logs and releases both machines', async () => {
    const interrupted: Script = async (_req, io) => {
      await io.writeLog(0, 'epoch 1\n')
      return { state: 'ended', interrupted: true, reclaimed: true, reason: 'Server.SpotInstanceTermination' }
    }
    const t = setup('interrupt', [interrupted, succeed])
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(rec.exitCode).toBe(0)
    expect(rec.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded'])
    expect(rec.attempts[1]!.machine!.market).toBe('on-demand')
    expect(t.logs()).toEqual(['1:epoch 1\n', '2:line 1\n', '2:line 2\n'])
    expect([...t.backend.released].sort()).toEqual(['fake-1', 'fake-2'])
    // every attempt keeps its runner script and logs in the store
    expect(await t.store.listLogChunks(rec.repoId, rec.run, 1)).toEqual([0])
    expect(await t.store.listLogChunks(rec.repoId, rec.run, 2)).toEqual([0, 1])
    const stored = await t.store.getRun(rec.repoId, rec.run)
    expect(stored?.status).toBe('succeeded')
    expect(stored?.attempts[0]?.costUsd).toBe(0) // AWS does not bill spot that EC2 itself reclaimed in the first hour
  })

  it('reports interrupted (not failed), exit code 1, when retry does not cover it', async () => {
    const t = setup('no-retry', [async () => ({ state: 'ended', interrupted: true }), succeed])
    const rec = await runWorkflow({ ...t.opts, workflow: 'once' })
    expect(rec).toMatchObject({ status: 'interrupted', exitCode: 1 })
    expect(rec.attempts).toHaveLength(1)
    expect(t.backend.released.has('fake-1')).toBe(true)
  })

  it('retries when no capacity is available, then succeeds', async () => {
    const t = setup('capacity', [new NoCapacityError('no g5 capacity in us-east-1a, us-east-1b'), succeed])
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('succeeded')
    expect(rec.attempts[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('no g5 capacity') })
    expect(t.backend.started).toHaveLength(1)
  })

  it('a launch error that is not capacity fails the run with its message, without retry', async () => {
    const t = setup('auth', [new Error('UnauthorizedOperation: not allowed to ec2:RunInstances'), succeed])
    const rec = await runWorkflow(t.opts)
    expect(rec).toMatchObject({ status: 'failed', exitCode: 1, reason: expect.stringContaining('UnauthorizedOperation') })
    expect(t.backend.started).toHaveLength(0)
  })

  it('cancellation while running asks the job to stop, keeps its logs, and releases the machine', async () => {
    const t = setup('cancel', [
      async (_req, io) => {
        await io.writeLog(0, 'working\n')
        setTimeout(() => t.controller.abort(), 30)
        return 'hang'
      }
    ])
    const rec = await runWorkflow(t.opts)
    expect(rec.status).toBe('cancelled')
    expect(rec.exitCode).toBe(1)
    expect(t.backend.cancelled).toEqual(['fake-1'])
    expect(t.backend.released.has('fake-1')).toBe(true)
    expect(t.logs()).toEqual(['1:working\n', '1:got SIGTERM, saved artifacts\n'])
  })

  it('a machine lost without a word fails with a reason and is still released', async () => {
    const t = setup('lost', [
      async (_req, io) => {
        await io.writeLog(0, 'a\n')
        await io.writeLog(2, 'c\n') // chunk 1 never reached the store
        return { state: 'ended', lost: true, reason: 'instance i-1 terminated (Server.InternalError)' }
      }
    ])
    const rec = await runWorkflow({ ...t.opts, workflow: 'once' })
    expect(rec.attempts[0]).toMatchObject({ status: 'failed', reason: 'instance i-1 terminated (Server.InternalError)' })
    expect(t.backend.released.has('fake-1')).toBe(true)
    // a missing chunk is said, never silently skipped
    expect(t.logs()).toEqual(['1:a\n', '1:[log chunks 1..1 are missing from the store]\n', '1:c\n'])
  })

  it('tags a succeeded run; a taken tag is refused before the run starts, one taken meanwhile fails the step with a reason', async () => {
    const t = setup('tags', [succeed, succeed])
    const first = await runWorkflow({ ...t.opts, tag: 'best' })
    expect(first.tags).toEqual(['best'])
    await expect(runWorkflow({ ...t.opts, tag: 'best' })).rejects.toThrow(/tag `best` already exists/)
    expect(t.backend.started).toHaveLength(1)
    // taken by another run while this one ran: checked again when applied
    const meanwhile: Script = async (req, io) => {
      await t.store.addTag(req.repoId, 'late', first.run)
      return succeed(req, io)
    }
    const t2 = { ...t, opts: { ...t.opts, backend: new FakeBackend(t.store, t.store.store as FolderStore, [meanwhile]) } }
    const second = await runWorkflow({ ...t2.opts, tag: 'late' })
    expect(second).toMatchObject({ status: 'failed', reason: expect.stringMatching(/tagging failed: .*already exists.*--force-tag/) })
  })

  it('saves the machine for cleanup the moment it exists', async () => {
    const seen: string[] = []
    const t = setup('onmachine', [succeed])
    await runWorkflow({ ...t.opts, onMachine: (_r, m) => void seen.push(m.id) })
    expect(seen).toEqual(['fake-1'])
  })
})
