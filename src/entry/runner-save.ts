/**
 * Keeping what a stopped job made: before a machine a CI job left behind is released (the action's
 * `post:` step, GitLab's `after_script` through `release`), its runner is asked to stop and given a
 * bounded wait (DSTACK_CANCEL_WAIT_SEC, default CANCEL_WAIT_SEC) to save artifacts, logs and status.
 * No CI library here: the CLI uses it too.
 */
import type { Backend, MachineInfo, RunRecord, StoreLocation } from '../model/index.js'
import type { RunStore } from '../store/index.js'

/** RUNNER_KILL_AFTER_SEC + RUNNER_SAVE_SEC of the AWS backend (src/backends/aws/options.ts; a test keeps them equal) */
export const CANCEL_WAIT_SEC = 120

/** where a machine's attempt writes its status.json */
export interface AttemptRef {
  machineId: string
  store: StoreLocation
  repoId: string
  run: string
  attempt: number
  /** a node of a multi-node attempt: its own status.json (`…/nodes/<rank>/`) */
  rank?: number
}

export function attemptRef(store: StoreLocation, rec: RunRecord, m: MachineInfo): AttemptRef {
  const n = rec.attempts.find((a) => a.machine?.id === m.id)?.n ?? rec.attempts.length
  return { machineId: m.id, store, repoId: rec.repoId, run: rec.run, attempt: n, ...(m.rank !== undefined ? { rank: m.rank } : {}) }
}

/** DSTACK_CANCEL_WAIT_SEC, else CANCEL_WAIT_SEC */
export function cancelWaitSec(environ: Record<string, string | undefined>): number {
  const n = Number(environ.DSTACK_CANCEL_WAIT_SEC)
  return Number.isFinite(n) && n >= 0 && environ.DSTACK_CANCEL_WAIT_SEC !== '' && environ.DSTACK_CANCEL_WAIT_SEC !== undefined ? n : CANCEL_WAIT_SEC
}

export interface WaitDeps {
  timeoutSec: number
  sleep: (ms: number) => Promise<void>
  now: () => number
  log: (line: string) => void
  pollMs?: number
}

/** Waits until the attempt's status.json is `done` (artifacts, logs and status saved), or the bound. */
export async function awaitRunnerSaved(store: RunStore, ref: AttemptRef, d: WaitDeps): Promise<'saved' | 'timeout'> {
  const until = d.now() + d.timeoutSec * 1000
  let said = false
  for (;;) {
    const st = await store.readStatus(ref.repoId, ref.run, ref.attempt, ref.rank).catch(() => undefined)
    if (st?.phase === 'done') return 'saved'
    if (d.now() >= until) return 'timeout'
    if (!said) {
      d.log(`waiting up to ${d.timeoutSec} s for the runner on ${ref.machineId} to save artifacts, logs and status (phase: ${st?.phase ?? 'unknown'})`)
      said = true
    }
    await d.sleep(Math.min(d.pollMs ?? 2000, Math.max(0, until - d.now())))
  }
}

/** a backend that can ask a remote runner to stop (aws: SSM CancelCommand); the local one stops its runner in releaseMachine */
interface RunnerStopper {
  stopRunner(m: MachineInfo, reason: string): Promise<void>
}

/** a machine a CI job left behind, with what is needed to wait for its runner */
export interface LeftMachine {
  m: MachineInfo
  ref?: AttemptRef
  backend: Backend
  store?: RunStore
}

/**
 * Release the machines a job left behind (the action's `post:`, GitLab's `after_script` through
 * `release`), keeping what their runners make: every runner whose attempt's status.json is not
 * `done` is asked to stop at once (the nodes of a cluster save side by side), then each machine is
 * released in turn once its runner has saved, all within one bound (`timeoutSec`). Returns each
 * machine's error, if releasing it failed.
 */
export async function saveThenReleaseAll(items: LeftMachine[], d: WaitDeps): Promise<{ m: MachineInfo; error?: Error }[]> {
  const asked = await Promise.all(items.map(async ({ m, ref, backend, store }) => {
    const stopper = (backend as Partial<RunnerStopper>).stopRunner ? (backend as unknown as RunnerStopper) : undefined
    if (!ref || !store || !stopper) return false
    const st = await store.readStatus(ref.repoId, ref.run, ref.attempt, ref.rank).catch(() => undefined)
    if (st?.phase === 'done') return false
    await stopper.stopRunner(m, 'the CI job ended').catch((e: Error) => d.log(`could not ask the runner on ${m.id} to stop: ${e.message}`))
    return true
  }))
  const deadline = d.now() + d.timeoutSec * 1000
  const out: { m: MachineInfo; error?: Error }[] = []
  for (const [i, { m, ref, backend, store }] of items.entries()) {
    try {
      if (asked[i] && ref && store) {
        const waited = await awaitRunnerSaved(store, ref, { ...d, timeoutSec: Math.max(0, (deadline - d.now()) / 1000) })
        d.log(waited === 'saved' ? `the runner on ${m.id} saved artifacts, logs and status` : `the runner on ${m.id} did not finish saving within ${d.timeoutSec} s (DSTACK_CANCEL_WAIT_SEC); terminating it anyway`)
      }
      await backend.releaseMachine(m, d.log)
      out.push({ m })
    } catch (e) {
      out.push({ m, error: e as Error })
    }
  }
  return out
}

/** one machine (saveThenReleaseAll); throws when releasing it failed */
export async function saveThenRelease(backend: Backend, m: MachineInfo, ref: AttemptRef | undefined, store: RunStore | undefined, d: WaitDeps): Promise<void> {
  const [r] = await saveThenReleaseAll([{ m, ref, backend, store }], d)
  if (r?.error) throw r.error
}
