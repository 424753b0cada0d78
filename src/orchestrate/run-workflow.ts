/**
 * The run lifecycle (DESIGN.md): prepare → submit → attempts (provision, run, watch) → finish.
 * Backend-agnostic: the backend gets a machine and starts the runner script; everything the user
 * sees (logs, status, artifacts) is read back from the store, the same way for every backend.
 */
import type { Backend, AttemptHandle, ExecState, MachineInfo, NodeRecord, RunRecord, RunSpec, StoreLocation, AttemptRecord, RunGroup } from '../model/index.js'
import { NoCapacityError, UserError, isTerminal } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import { renderRunnerScript } from '../runner/render.js'
import { withRunName } from './run-name-fields.js'
import { prepareRun, type PrepareOptions, type PreparedRun } from './prepare.js'
import { runnerPlan } from './runner-plan.js'
import { attemptOutcome, shouldRetry, exitCodeFor, attemptCost, type AttemptOutcome } from './outcome.js'
import { LogFollower } from './log-follower.js'
import { watchAttempt, DEFAULT_PACE, type WatchPace } from './watch-attempt.js'
import { checkEnvNames, checkTag } from './preflight.js'
import { WatchOutage, DEFAULT_WATCH_OUTAGE_MS } from './watch-outage.js'
import { watchCluster, type ClusterWatchResult } from './watch-cluster.js'
import { clusterOutcome, nodeResult, type NodeView } from './cluster-rule.js'
import type { EventSink } from './events.js'
import { redactEnv } from './secret-values.js'
import { runProvenance, writeProvenance } from './provenance.js'
import { keys, sha256 } from '../store/index.js'
import { redactorFor } from '../report/redact.js'
import { saveDetachedState, type DetachedState } from './detached-state.js'

export interface RunWorkflowOptions extends PrepareOptions {
  backend: Backend
  store: RunStore
  storeLocation: StoreLocation
  /** tag to apply when the run succeeds */
  tag?: string
  forceTag?: boolean
  /** return right after the first attempt started (CLI `-d`, `mode: start`) */
  detach?: boolean
  /** start every attempt's runner detached from this process (a detached run's retry, started by `attach`) */
  detachRunner?: boolean
  /** kept with a detached run for whoever attaches later (detached-state.ts) */
  detachedState?: Pick<DetachedState, 'placement' | 'workRoot'>
  /** continue a detached run from another process (attach-run.ts): watch its last attempt through `handle` */
  resume?: { record: RunRecord; prepared: PreparedRun; handle: AttemptHandle }
  /** only the process that claims attempt n (n ≥ 2) starts it; the others return the record (several attachers) */
  claimAttempt?: (n: number) => Promise<boolean>
  /** only the process that claims the end writes it; the others wait for it in the store */
  claimFinish?: () => Promise<boolean>
  signal: AbortSignal
  emit: EventSink
  /** called with the record whenever a machine exists, so the CI can save it for its post step */
  onMachine?: (record: RunRecord, machine: MachineInfo) => Promise<void> | void
  ciUrl?: string
  /** the group of runs this one belongs to (a CI matrix over seeds; docs/seed-groups.md) */
  group?: RunGroup
  workRoot?: string
  /** wait between polls while the log flows (default: DEFAULT_PACE of the store) */
  pollIntervalMs?: number
  /** the watch loop's pace: fast while the log flows, backing off to slowMs when quiet */
  pace?: Partial<WatchPace>
  /** how long a cancelled job gets to save its artifacts before the machine is released */
  cancelGraceMs?: number
  /** how long the watch rides out failing polls (lost credentials or network) before it gives the attempt up */
  watchOutageMs?: number
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function runWorkflow(o: RunWorkflowOptions): Promise<RunRecord> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? defaultSleep
  if (o.resume) return continueRun(o, o.resume.prepared, o.resume.record)
  // the backend may start what its launch reads (AWS: AMI, preflight, catalogue) beside the snapshot and the run record
  // the code snapshot goes up while the run is named and recorded: it is awaited before the attempt
  const { snapshotStored, ...prepared } = await prepareRun({ ...o, onSpec: (spec) => o.backend.prepare?.(spec, o.storeLocation) }, o.store, o.emit)
  checkEnvNames(prepared.spec)
  if (o.detach && prepared.spec.nodes > 1) {
    throw new UserError(`workflow \`${prepared.spec.workflow}\` runs on ${prepared.spec.nodes} nodes, which cannot be detached: dstack's rule (a failed node stops the others) is applied by the process that watches them`, 'run it without -d')
  }
  await checkTag(o.store, prepared.revision.repoId, o.tag, Boolean(o.forceTag), prepared.trust.trusted)
  o.emit({ type: 'step', step: 'submit', message: `Submitting \`${prepared.spec.workflow}\`` })
  let record = await o.store.createRun({
    run: '',
    repoId: prepared.revision.repoId,
    workflow: prepared.spec.workflow,
    spec: prepared.spec,
    revision: prepared.revision,
    backend: o.backend.name,
    args: o.args,
    status: 'submitted',
    submittedAt: new Date(now()).toISOString(),
    attempts: [],
    requestedTag: o.tag,
    tags: [],
    ciUrl: o.ciUrl,
    trust: prepared.trust,
    ...(o.group ? { group: o.group } : {})
  })
  // a 0.x artifact path may name the run (`${{ run.name }}`), known only now
  const named = withRunName(prepared.spec, record.run)
  if (named !== prepared.spec) {
    prepared.spec = named
    record = { ...record, spec: named }
    await o.store.saveRun(record)
  }
  if (o.detach || o.detachRunner) await saveDetachedState(o.store, record, prepared, { forceTag: o.forceTag, ...o.detachedState })
  try {
    await snapshotStored
  } catch (e) {
    // the run was named meanwhile: it ends here, recorded, rather than stay `submitted` for ever
    const failed: RunRecord = { ...record, status: 'failed', exitCode: exitCodeFor('failed', undefined), reason: `storing the code snapshot failed: ${(e as Error).message}`, endedAt: new Date(now()).toISOString() }
    await o.store.saveRun(failed).catch(() => undefined)
    throw e
  }
  o.emit({ type: 'status', status: 'submitted', record })
  return continueRun(o, prepared, record)
}

/** the newest end of an attempt that got a machine (dstack's retry window starts there) */
function lastProvisionedEnd(record: RunRecord): number | undefined {
  const ends = record.attempts.filter((a) => a.machine && a.endedAt).map((a) => Date.parse(a.endedAt!))
  return ends.length ? Math.max(...ends) : undefined
}

/** attempts (the first, or the resumed one) until one ends the run, then finish */
async function continueRun(o: RunWorkflowOptions, prepared: PreparedRun, record: RunRecord): Promise<RunRecord> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? defaultSleep
  const runStartedMs = o.resume ? Date.parse(record.submittedAt) : now()
  let lastProvisionedEndMs: number | undefined = o.resume ? lastProvisionedEnd(record) : undefined
  let resumed = o.resume?.handle

  for (let n = o.resume ? Math.max(1, record.attempts.length) : 1; ; n++) {
    if (o.signal.aborted && !o.resume) return finish(record, { status: 'cancelled', reason: 'cancelled before a machine was started' })
    const existing = resumed
    resumed = undefined
    // several attachers: only one starts the retry; the others follow it
    if (!existing && n > 1 && o.claimAttempt && !(await o.claimAttempt(n))) return (await o.store.getRun(record.repoId, record.run)) ?? record
    const result = await runAttempt(o, prepared, record, n, sleep, existing).catch(async (e: Error) => {
      // never leave the run `submitted` or `provisioning` behind an error: record it, then report it
      await finish({ ...record, ...((await o.store.getRun(record.repoId, record.run).catch(() => undefined)) ?? {}) }, { status: 'failed', reason: e.message }).catch(() => undefined)
      throw e
    })
    record = result.record
    if (result.detached) return record
    const out = result.outcome
    // an attempt that got a machine restarts dstack's retry window when it ends
    if (out.event !== 'no-capacity') lastProvisionedEndMs = now()
    if (out.status !== 'succeeded' && !o.signal.aborted && shouldRetry(out, prepared.spec.retry, runStartedMs, now(), lastProvisionedEndMs)) {
      o.emit({ type: 'warning', message: `attempt ${n} ${out.status}: ${out.reason}; retrying (retry.on_events includes ${out.event})` })
      if (out.event === 'no-capacity') await sleep(Math.min(60_000, 5_000 * n))
      continue
    }
    return finish(record, out)
  }

  async function finish(rec: RunRecord, out: Pick<AttemptOutcome, 'status' | 'reason' | 'exitCode'>): Promise<RunRecord> {
    if (o.claimFinish && !(await o.claimFinish())) return finishedElsewhere(o, rec)
    o.emit({ type: 'step', step: 'finish', message: `Run ${rec.run} ${out.status}` })
    rec = { ...rec, status: out.status, reason: out.reason, exitCode: exitCodeFor(out.status, out.exitCode), endedAt: new Date(now()).toISOString() }
    const costs = rec.attempts.map((a) => a.costUsd).filter((c): c is number => typeof c === 'number')
    if (costs.length) rec.costUsd = Math.round(costs.reduce((a, b) => a + b, 0) * 10000) / 10000
    rec = { ...rec, provenance: rec.provenance ?? runProvenance(rec, prepared.deps) }
    rec = await writeProvenance(o.store, rec, redactorFor(prepared.redactTexts)).catch((e: Error) => (o.emit({ type: 'warning', message: `writing the provenance statement failed: ${e.message}` }), rec))
    await o.store.saveRun(rec)
    if (out.status === 'succeeded' && o.tag) {
      try {
        const t = await o.store.addTag(rec.repoId, o.tag, rec.run, { force: o.forceTag })
        rec = (await o.store.getRun(rec.repoId, rec.run)) ?? { ...rec, tags: [...rec.tags, o.tag] }
        o.emit({ type: 'info', message: `tagged ${rec.run} as \`${o.tag}\`${t.trusted === false ? ' among the untrusted runs\' tags (trusted runs never use them)' : ''}` })
      } catch (e) {
        // the run itself succeeded and its artifacts are stored; the tag failure fails the step
        rec = { ...rec, status: 'failed', exitCode: 1, reason: `the run succeeded but tagging failed: ${(e as Error).message}` }
        await o.store.saveRun(rec)
      }
    }
    o.emit({ type: 'status', status: rec.status, record: rec })
    return rec
  }
}

/** another attacher writes the run's end: wait for it in the store */
async function finishedElsewhere(o: RunWorkflowOptions, rec: RunRecord): Promise<RunRecord> {
  const sleep = o.sleep ?? defaultSleep
  for (let i = 0; i < 600; i++) {
    const got = await o.store.getRun(rec.repoId, rec.run)
    if (got && isTerminal(got.status)) {
      o.emit({ type: 'status', status: got.status, record: got })
      return got
    }
    await sleep(1000)
  }
  return rec
}

interface AttemptResult {
  record: RunRecord
  outcome: AttemptOutcome
  detached?: boolean
}

async function runAttempt(o: RunWorkflowOptions, prepared: PreparedRun, record: RunRecord, n: number, sleep: (ms: number) => Promise<void>, existing?: AttemptHandle): Promise<AttemptResult> {
  const now = o.now ?? Date.now
  let attempt: AttemptRecord
  let scriptKey = ''
  let script = ''
  // runner.sh and the provisioning record, written beside the launch (the launch reads neither)
  let stored: Promise<void> = Promise.resolve()
  if (existing) {
    // a detached attempt that another process started: watch it where it is
    attempt = { ...(record.attempts.find((a) => a.n === n) ?? { n, startedAt: new Date(now()).toISOString() }) }
  } else {
    const plan = runnerPlan({
      runName: record.run,
      repoId: record.repoId,
      revisionSha: prepared.revision.sha,
      snapshotSha256: prepared.revision.snapshotSha256,
      attempt: n,
      spec: prepared.spec,
      args: o.args,
      store: o.storeLocation,
      deps: prepared.deps,
      ciEnv: prepared.ciEnv,
      backend: o.backend.name,
      workRoot: o.workRoot,
      caches: prepared.caches,
      trusted: prepared.trust.trusted
    })
    script = renderRunnerScript(plan)
    attempt = { n, startedAt: new Date(now()).toISOString(), runnerScriptSha256: sha256(script) }
    record = { ...record, status: 'provisioning', attempts: [...record.attempts, attempt] }
    // two writes that do not depend on each other, side by side, and beside the launch: the backend
    // waits for them only before its machine fetches the script (StartRequest.runnerScriptStored)
    const writes = Promise.all([o.store.putRunnerScript(record.repoId, record.run, n, script), o.store.saveRun(record)])
    scriptKey = keys.runnerScript(record.repoId, record.run, n)
    stored = writes.then(() => undefined)
    stored.catch(() => undefined) // awaited below, after the launch (or by the backend before it)
    o.emit({ type: 'status', status: 'provisioning', record })
    o.emit({ type: 'step', step: 'provision', message: `Attempt ${n}: starting a machine (${o.backend.name})` })
  }

  let handle: AttemptHandle | undefined
  // the machine is released once, as soon as its attempt has ended (release(), below)
  let released: Promise<void> | undefined
  const release = (h: AttemptHandle, status?: AttemptOutcome['status']): Promise<void> =>
    (released ??= h.release(status ? { status } : undefined).catch((e: Error) => o.emit({ type: 'warning', message: `releasing ${h.machine.id} failed: ${e.message}` })))
  const launchAbort = new AbortController()
  const onAbort = () => launchAbort.abort()
  o.signal.addEventListener('abort', onAbort)
  try {
    try {
      handle = existing ?? await o.backend.start({
        runName: record.run,
        repoId: record.repoId,
        attempt: n,
        spec: prepared.spec,
        store: o.storeLocation,
        runnerScriptKey: scriptKey,
        runnerScript: script,
        runnerScriptStored: stored,
        secretEnv: { ...prepared.secretValues, ...redactEnv(prepared.redactTexts) },
        previousAttempts: record.attempts.slice(0, -1),
        signal: launchAbort.signal,
        detached: Boolean(o.detach || o.detachRunner),
        log: (line) => o.emit({ type: 'info', message: line }),
        onMachine: async (machine) => {
          // the provisioning record first: this write must not be overtaken by it (a failed one fails
          // the attempt after the launch, and this machine is recorded for cleanup all the same)
          await stored.catch(() => undefined)
          attempt.machine = machine
          record = { ...record, attempts: record.attempts.map((a) => (a.n === n ? { ...attempt } : a)) }
          await o.store.saveRun(record)
          o.emit({ type: 'machine', machine, record })
          await o.onMachine?.(record, machine)
        }
      })
      await stored
    } catch (e) {
      const outcome: AttemptOutcome = o.signal.aborted
        ? { status: 'cancelled', reason: 'cancelled while starting a machine' }
        : e instanceof NoCapacityError
          ? { status: 'failed', reason: e.message, event: 'no-capacity' }
          : { status: 'failed', reason: (e as Error).message }
      return { record: await closeAttempt(record, n, outcome, undefined), outcome }
    }

    attempt.machine = handle.machine
    record = { ...record, status: 'running', attempts: record.attempts.map((a) => (a.n === n ? { ...attempt } : a)) }
    if (!existing) await o.store.saveRun(record)
    o.emit({ type: 'status', status: 'running', record })
    if (o.detach) {
      const h = handle
      handle = undefined // a detached run keeps its machine; `stop` or the runner's own limits end it
      void h
      return { record, outcome: { status: 'succeeded', reason: 'detached' }, detached: true }
    }

    if (prepared.spec.nodes > 1) {
      o.emit({ type: 'step', step: 'run', message: `Attempt ${n} running on ${prepared.spec.nodes} nodes: ${(handle.machines ?? [handle.machine]).map(describeMachine).join(', ')}` })
      // once every node has ended, what they wrote is in the store: the billed machines go then,
      // beside the last log reads and the closing writes rather than after them
      const h = handle
      const watched = await watchNodes(o, handle, record, n, prepared.spec, () => void release(h))
      void release(handle)
      const outcome = clusterOutcome(watched.nodes, watched.trigger, o.signal.aborted)
      const nodes = nodeRecords(watched.nodes, handle, prepared.spec, o.signal.aborted)
      record = { ...record, provenance: runProvenance(record, prepared.deps, { imageDigest: watched.nodes[0]?.written?.imageDigest }) }
      // a node is free only when EC2 itself took it back (the others of an interrupted cluster are billed)
      const reclaimed = watched.nodes.map((v) => v.exec.state === 'ended' && Boolean(v.exec.reclaimed))
      return { record: await closeAttempt(record, n, outcome, handle.machine, nodes, handle.machines, reclaimed), outcome }
    }
    o.emit({ type: 'step', step: 'run', message: `Attempt ${n} running on ${describeMachine(handle.machine)}` })
    const follower = new LogFollower(o.store, record.repoId, record.run, n, (text) => o.emit({ type: 'log', attempt: n, text }))
    const exec = await watch(o, handle, follower, record, n)
    if (exec.state === 'ended' && exec.watchStopped) {
      // an attach that stops watching leaves the attempt and its machine as they are
      await follower.poll().catch(() => 0)
      handle = undefined
      return { record, outcome: { status: 'succeeded', reason: 'watch stopped' }, detached: true }
    }
    const written = await o.store.readStatus(record.repoId, record.run, n).catch((e: Error) => {
      o.emit({ type: 'warning', message: e.message }) // a damaged status.json counts as none: the backend's word decides
      return undefined
    })
    const outcome = attemptOutcome(written, exec, o.signal.aborted)
    // the attempt has ended (status.json done, or the backend says so): the machine's part is over,
    // so it is released beside the closing reads and writes rather than after them (billed seconds);
    // how it ended decides whether a failed run's machine is kept (keep-on-failure)
    void release(handle, outcome.status)
    await follower.drain()
    record = { ...record, provenance: runProvenance(record, prepared.deps, { imageDigest: written?.imageDigest }) }
    return { record: await closeAttempt(record, n, outcome, handle.machine), outcome }
  } finally {
    o.signal.removeEventListener('abort', onAbort)
    if (handle) await release(handle)
  }

  async function closeAttempt(rec: RunRecord, num: number, out: AttemptOutcome, machine?: MachineInfo, nodes?: NodeRecord[], machines?: MachineInfo[], nodeReclaimed?: boolean[]): Promise<RunRecord> {
    const endedAt = new Date(now()).toISOString()
    const done: AttemptRecord = { ...attempt, endedAt, status: out.status, exitCode: out.exitCode, reason: out.reason, ...(nodes ? { nodes } : {}) }
    // every node is billed (a cluster: the sum of its machines)
    const billed = machines?.length ? machines : machine ? [machine] : []
    const costs = billed
      .map((m, rank) => ({ m, reclaimed: nodeReclaimed ? Boolean(nodeReclaimed[m.rank ?? rank]) : out.reclaimed }))
      .filter(({ m }) => m.pricePerHour !== undefined)
      .map(({ m, reclaimed }) => attemptCost(m.pricePerHour!, m.launchedAt ?? done.startedAt, endedAt, out.status, reclaimed, m))
    if (costs.length) done.costUsd = Math.round(costs.reduce((a, b) => a + b, 0) * 10000) / 10000
    const updated = { ...rec, attempts: rec.attempts.map((a) => (a.n === num ? done : a)) }
    await o.store.saveRun(updated)
    return updated
  }
}

/** Watch until the attempt ended (watch-attempt.ts); cancel on abort, and give the job time to save. */
function watch(o: RunWorkflowOptions, handle: AttemptHandle, follower: LogFollower, record: RunRecord, n: number): Promise<ExecState> {
  return watchAttempt({ ...watchDeps(o, record, n), handle, follower })
}

/** Watch every node of a multi-node attempt (watch-cluster.ts), its log lines prefixed with the node's rank. */
function watchNodes(o: RunWorkflowOptions, handle: AttemptHandle, record: RunRecord, n: number, spec: RunSpec, onEnded: () => void): Promise<ClusterWatchResult> {
  return watchCluster({ ...watchDeps(o, record, n), handle, nodes: spec.nodes, stopCriteria: spec.stopCriteria, emit: (node, text) => o.emit({ type: 'log', attempt: n, node, text }), onEnded })
}

/** what both watch loops take from the run's options: the store, the pace, the clock, cancellation and the outage rule */
function watchDeps(o: RunWorkflowOptions, record: RunRecord, n: number) {
  const base = DEFAULT_PACE[o.storeLocation.kind]
  const fastMs = o.pollIntervalMs ?? o.pace?.fastMs ?? base.fastMs
  const now = o.now ?? Date.now
  const warn = (message: string) => o.emit({ type: 'warning', message })
  return {
    store: o.store, repoId: record.repoId, run: record.run, attempt: n, signal: o.signal, sleep: o.sleep, now, warn,
    pace: { fastMs, slowMs: Math.max(fastMs, o.pace?.slowMs ?? base.slowMs), holdMs: o.pace?.holdMs ?? base.holdMs },
    cancelGraceMs: o.cancelGraceMs ?? 60_000,
    outage: new WatchOutage(o.watchOutageMs ?? DEFAULT_WATCH_OUTAGE_MS, now, warn)
  }
}

/** a record per node: its group, machine and own result */
function nodeRecords(nodes: NodeView[], handle: AttemptHandle, spec: RunSpec, cancelledByUser: boolean): NodeRecord[] {
  const groupOf = (rank: number): string | undefined => {
    let end = 0
    for (const g of spec.groups ?? []) if (rank < (end += g.nodes)) return g.name
    return undefined
  }
  return nodes.map((v) => {
    const r = nodeResult(v, cancelledByUser)
    const machine = handle.machines?.[v.rank]
    const group = groupOf(v.rank)
    return {
      rank: v.rank,
      ...(group !== undefined ? { group } : {}),
      ...(machine ? { machine } : {}),
      status: r?.status ?? 'failed',
      ...(r?.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
      reason: r?.reason ?? 'the node did not end within the grace period'
    }
  })
}

function describeMachine(m: MachineInfo): string {
  return [m.id, m.instanceType, m.market, m.zone].filter(Boolean).join(' ')
}
