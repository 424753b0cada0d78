/**
 * `attach` / `mode: attach` / `reconcile` (docs/long-runs.md): follow a detached run from any later
 * process, and when its attempt ends do what `run` does at that point, through the same code
 * (run-workflow.ts, resumed): the attempt's outcome and cost, dstack's retry rule (the retry starts
 * detached too, with the checkpoints restored by its runner), the run's end, provenance and tag.
 *
 * An attach stops watching when its time is up or it is told to stop: the run, its machine and its
 * runner are left exactly as they are, and whoever attaches next takes over. Several attachers at
 * once are safe: starting a retry and writing the end are each claimed once (detached-state.ts).
 */
import type { AttemptHandle, Backend, ExecState, RunRecord, StoreLocation } from '../model/index.js'
import { isTerminal } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import type { EventSink } from './events.js'
import { runWorkflow, type RunWorkflowOptions } from './run-workflow.js'
import { claim, preparedFromState, readDetachedState, type DetachedState } from './detached-state.js'

export interface AttachOptions {
  store: RunStore
  storeLocation: StoreLocation
  backend: Backend
  /** the run as resolved by name or tag */
  record: RunRecord
  environ: Record<string, string | undefined>
  /** aborted: stop watching (never stops the run) */
  signal: AbortSignal
  emit: EventSink
  /** stop watching after this long (undefined: until the run ends); 0: one look (reconcile) */
  timeoutMs?: number
  /** who this attacher is, in its claims (a CI job URL, host and pid) */
  attacher?: string
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  pace?: RunWorkflowOptions['pace']
  pollIntervalMs?: number
  workRoot?: string
}

export interface AttachResult {
  record: RunRecord
  /** the run has ended (its record is final); false: the watch stopped and the run goes on */
  ended: boolean
}

const neverAborted = new AbortController().signal
const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** a handle that reports `watchStopped` once the attach should stop, unless the attempt has ended */
function stoppingHandle(inner: AttemptHandle, stop: () => boolean, ended: () => Promise<ExecState | undefined>): AttemptHandle {
  return {
    get machine() {
      return inner.machine
    },
    async poll(): Promise<ExecState> {
      const st = await inner.poll()
      if (st.state === 'ended' || !stop()) return st
      return (await ended()) ?? { state: 'ended', watchStopped: true, reason: 'the attach stopped watching' }
    },
    ...(inner.whenEnded ? { whenEnded: () => inner.whenEnded!() } : {}),
    cancel: (reason, ranks) => inner.cancel(reason, ranks),
    release: () => inner.release()
  }
}

export async function attachRun(o: AttachOptions): Promise<AttachResult> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? defaultSleep
  const startedAt = now()
  const stop = () => o.signal.aborted || (o.timeoutMs !== undefined && now() - startedAt >= o.timeoutMs)
  const by = o.attacher ?? `pid ${process.pid}`
  let rec = o.record
  let state: DetachedState | undefined
  for (;;) {
    rec = (await o.store.getRun(rec.repoId, rec.run)) ?? rec
    if (isTerminal(rec.status)) return { record: rec, ended: true }
    const last = rec.attempts[rec.attempts.length - 1]
    if (!last?.machine || last.endedAt) {
      // the starter (or another attacher) is still getting the attempt its machine
      if (stop()) return { record: rec, ended: false }
      await sleep(2000)
      continue
    }
    if (rec.spec.nodes > 1) throw new Error(`run ${rec.run} runs on ${rec.spec.nodes} nodes, which cannot be attached to`)
    state ??= (await readDetachedState(o.store, rec)) ?? { version: 1, deps: [], ciEnv: {} }
    const { prepared, missingSecrets } = preparedFromState(rec, state, o.environ)
    if (missingSecrets.length) o.emit({ type: 'warning', message: `a retry of ${rec.run} would need ${missingSecrets.map((m) => `\`${m}\``).join(', ')} from the environment, which ${missingSecrets.length > 1 ? 'are' : 'is'} not set here` })
    if (!o.backend.reattach) throw new Error(`the ${o.backend.name} backend cannot attach to a run`)
    const n = last.n
    const handle = stoppingHandle(o.backend.reattach(last.machine, { runName: rec.run, repoId: rec.repoId, attempt: n }), stop, async () => {
      const w = await o.store.readStatus(rec.repoId, rec.run, n).catch(() => undefined)
      return w?.phase === 'done' && w.status ? { state: 'ended', exitCode: w.exitCode, ...(w.reason ? { reason: w.reason } : {}) } : undefined
    })
    const before = rec.attempts.length
    rec = await runWorkflow({
      repoDir: '.',
      workflow: rec.workflow,
      args: rec.args,
      environ: o.environ,
      backend: o.backend,
      store: o.store,
      storeLocation: o.storeLocation,
      tag: rec.requestedTag,
      forceTag: state.forceTag,
      detachRunner: true,
      workRoot: o.workRoot ?? state.workRoot,
      resume: { record: rec, prepared, handle },
      claimAttempt: (k) => claim(o.store, rec, `attempt-${k}`, by),
      claimFinish: () => claim(o.store, rec, 'finish', by),
      signal: neverAborted,
      emit: o.emit,
      now: o.now,
      sleep: o.sleep,
      pace: o.pace,
      pollIntervalMs: o.pollIntervalMs
    })
    if (isTerminal(rec.status)) return { record: rec, ended: true }
    if (stop()) return { record: rec, ended: false }
    // another attacher claimed the retry: follow the attempt it starts
    if (rec.attempts.length === before) await sleep(1000)
  }
}
