/**
 * Cancellation keeps what the job made. GitHub gives a cancelled step 7.5 s before SIGTERM and
 * 2.5 s more before it kills it, while the runner on the machine gives the job `KILL_AFTER` (20 s)
 * after SIGTERM and then uploads artifacts, the last logs and status.json. So on a cancel the main
 * step only asks the runner to stop and leaves the machine to the `post:` step (which runs after
 * a cancellation), and the post step waits — bounded by DSTACK_CANCEL_WAIT_SEC, default
 * CANCEL_GRACE_SEC (120 s) — until the attempt's status.json says `done`, then terminates it.
 */
import * as core from '@actions/core'
import type { AttemptHandle, Backend, MachineInfo, RunRecord, StartRequest, StoreLocation } from '../model/index.js'
import type { RunStore } from '../store/index.js'

/** RUNNER_KILL_AFTER_SEC + RUNNER_SAVE_SEC of the AWS backend (src/backends/aws/options.ts; a test keeps them equal) */
export const CANCEL_WAIT_SEC = 120
export const STATE_ATTEMPTS = 'dstack-attempts'

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

export function saveAttemptRef(ref: AttemptRef): void {
  core.saveState(STATE_ATTEMPTS, JSON.stringify([...loadAttemptRefs().filter((r) => r.machineId !== ref.machineId), ref]))
}

export function loadAttemptRefs(): AttemptRef[] {
  try {
    const v = JSON.parse(core.getState(STATE_ATTEMPTS) || '[]') as unknown
    return Array.isArray(v) ? (v as AttemptRef[]) : []
  } catch {
    return []
  }
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

/**
 * The main step's backend on GitHub: once the job is cancelled, `release()` leaves the machine to
 * the post step (the runner still has to save; the step is about to be killed), instead of
 * terminating it under the runner's uploads.
 */
export function deferReleaseOnCancel(backend: Backend, signal: AbortSignal, log: (line: string) => void): Backend {
  const wrap = (h: AttemptHandle): AttemptHandle => ({
    get machine() {
      return h.machine
    },
    get machines() {
      return h.machines
    },
    poll: () => h.poll(),
    ...(h.pollNodes ? { pollNodes: () => h.pollNodes!() } : {}),
    ...(h.whenEnded ? { whenEnded: () => h.whenEnded!() } : {}),
    cancel: (reason, ranks) => h.cancel(reason, ranks),
    release: async () => {
      if (signal.aborted) {
        log(`cancelled: leaving ${h.machine.id} to the post step, which waits for the runner to save artifacts, logs and status before terminating it`)
        return
      }
      await h.release()
    }
  })
  return {
    name: backend.name,
    start: async (req: StartRequest) => wrap(await backend.start(req)),
    releaseMachine: (m) => backend.releaseMachine(m),
    close: () => backend.close?.()
  }
}
