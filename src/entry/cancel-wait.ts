/**
 * Cancellation keeps what the job made. GitHub gives a cancelled step 7.5 s before SIGTERM and
 * 2.5 s more before it kills it, while the runner on the machine gives the job `KILL_AFTER` (20 s)
 * after SIGTERM and then uploads artifacts, the last logs and status.json. So on a cancel the main
 * step only asks the runner to stop and leaves the machine to the `post:` step (which runs after
 * a cancellation), and the post step waits — bounded by DSTACK_CANCEL_WAIT_SEC, default
 * CANCEL_GRACE_SEC (120 s) — until the attempt's status.json says `done`, then terminates it.
 */
import * as core from '@actions/core'
import type { AttemptHandle, Backend, StartRequest } from '../model/index.js'
import type { AttemptRef } from './runner-save.js'

export * from './runner-save.js'

export const STATE_ATTEMPTS = 'dstack-attempts'

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
    release: async (opts) => {
      if (signal.aborted) {
        log(`cancelled: leaving ${h.machine.id} to the post step, which waits for the runner to save artifacts, logs and status before terminating it`)
        return
      }
      await h.release(opts)
    }
  })
  return {
    name: backend.name,
    start: async (req: StartRequest) => wrap(await backend.start(req)),
    releaseMachine: (m, log) => backend.releaseMachine(m, log),
    close: () => backend.close?.()
  }
}
