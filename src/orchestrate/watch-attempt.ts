/**
 * Watching a running attempt: print its log as it arrives and notice its end, at a request rate
 * that follows the job. While chunks arrive the store is read every `fastMs`; when the job is quiet
 * the wait doubles up to `slowMs`. A store that can tell about changes (a local folder: inotify) and
 * a backend that knows when its runner exited (local) wake the loop at once, so polling is only the
 * fallback there. The runner writes status.json last: once it says `done`, everything is stored and
 * the attempt is over, without waiting for the backend (SSM, EC2) to notice.
 *
 * While status.json says `uploading` (the job has ended; its artifacts are going up) the loop stays
 * at fastMs too, and a change of status.json holds it there for holdMs like a chunk does: the
 * machine is billed until the loop sees `done` and releases it.
 *
 * Requests per poll: one store listing (+ one read per new chunk, + one read when status.json
 * changed) and the backend's own poll, which rate-limits itself (AWS: see backends/aws/handle.ts).
 */
import type { AttemptHandle, ExecState } from '../model/index.js'
import type { StoreLocation } from '../model/store-location.js'
import type { RunStore } from '../store/index.js'
import type { LogFollower } from './log-follower.js'
import type { WatchOutage } from './watch-outage.js'

export interface WatchPace {
  /** wait between polls while log chunks arrive */
  fastMs: number
  /** the longest wait, when the job has been quiet for a while */
  slowMs: number
  /**
   * how long the loop stays at fastMs after the last chunk before it backs off: longer than the
   * runner's gap between chunks (1 s on S3, 0.5 s on a folder) plus a tick, so a job that prints
   * steadily is never read at a backed-off pace between two chunks
   */
  holdMs?: number
}

/**
 * Defaults per store. S3 when quiet: one LIST per 10 s (6/min) + the AWS backend's 2 reads per
 * 30 s (4/min) = 10 requests/min ≤ the budget of 12 (README "Performance").
 */
export const DEFAULT_PACE: Record<StoreLocation['kind'], WatchPace> = {
  folder: { fastMs: 250, slowMs: 2000, holdMs: 1000 },
  s3: { fastMs: 500, slowMs: 10_000, holdMs: 1500 }
}

const WAKE_SETTLE_MS = 20
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** a wait between polls that the store, the backend or a cancellation can cut short (`poke`) */
export class Waker {
  private wake: (() => void) | undefined
  readonly poke = (): void => this.wake?.()

  constructor(private readonly sleep?: (ms: number) => Promise<void>) {}

  /** `ms`, or until poked; by default a timer that is cleared on wake-up, so it never holds the process */
  async wait(ms: number): Promise<void> {
    let woken = false
    let timer: NodeJS.Timeout | undefined
    const wakeUp = new Promise<void>((resolve) => (this.wake = resolve)).then(() => void (woken = true))
    const slept = this.sleep ? this.sleep(ms) : new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
    await Promise.race([slept, wakeUp])
    clearTimeout(timer)
    this.wake = undefined
    // one write is several file events (temp file, rename): let them settle into one poll
    if (woken) await (this.sleep ?? realSleep)(WAKE_SETTLE_MS)
  }
}

/**
 * pure: the wait before the next poll, given the last wait, whether the last poll printed and how
 * long no chunk has arrived (`quietMs`)
 */
export function nextWaitMs(lastMs: number | undefined, printed: number, pace: WatchPace, quietMs = Infinity): number {
  if (printed > 0 || lastMs === undefined || quietMs < (pace.holdMs ?? 0)) return pace.fastMs
  return Math.min(pace.slowMs, Math.max(pace.fastMs, lastMs * 2))
}

export interface WatchDeps {
  store: RunStore
  repoId: string
  run: string
  attempt: number
  handle: AttemptHandle
  follower: LogFollower
  pace: WatchPace
  signal: AbortSignal
  /** injected by tests (fake clock); by default a timer that is cleared on wake-up, so it never holds the process */
  sleep?: (ms: number) => Promise<void>
  now: () => number
  cancelGraceMs: number
  warn: (message: string) => void
  /** rides out failing polls for a while instead of failing the attempt (watch-outage.ts) */
  outage?: WatchOutage
}

/** Watch until the attempt ended (runner's status.json `done`, or the backend says so); cancel on abort. */
export async function watchAttempt(d: WatchDeps): Promise<ExecState> {
  const waker = new Waker(d.sleep)
  const poke = waker.poke
  const unwatch = d.store.watchAttempt(d.repoId, d.run, d.attempt, poke)
  d.handle.whenEnded?.().then(poke, poke)
  d.signal.addEventListener('abort', poke)
  let wait: number | undefined
  let outputAt = d.now()
  let cancelledAt: number | undefined
  let statusSeen: string | undefined
  /** status.json says `uploading`: the runner is saving what the job left, and `done` comes next */
  let finishing = false
  try {
    for (;;) {
      let printed = 0
      let state: ExecState
      try {
        printed = await d.follower.poll()
        if (d.signal.aborted && cancelledAt === undefined) {
          cancelledAt = d.now()
          d.warn('cancelling: asking the job to stop and save its artifacts')
          await d.handle.cancel('cancelled by the CI job').catch((e: Error) => d.warn(`cancel failed: ${e.message}`))
        }
        state = await d.handle.poll()
        d.outage?.ok()
      } catch (e) {
        // a short loss of credentials or network (watch-outage.ts): keep watching through the store
        if (!d.outage) throw e
        const given = d.outage.failed(e, await d.store.readStatus(d.repoId, d.run, d.attempt).catch(() => undefined))
        if (given) return given
        state = { state: 'running' }
      }
      if (state.state === 'ended') return state
      const tag = d.follower.statusTag
      if (tag !== undefined && tag !== statusSeen) {
        statusSeen = tag
        // the runner moved on (its code, the job's start, its end): what follows comes soon, so the
        // loop holds its fast pace for holdMs as after a chunk, and sees a short job's `done` at once
        outputAt = d.now()
        const written = await d.store.readStatus(d.repoId, d.run, d.attempt).catch(() => undefined)
        if (written?.phase === 'done' && written.status) {
          return { state: 'ended', exitCode: written.exitCode, ...(written.reason ? { reason: written.reason } : {}) }
        }
        finishing = written?.phase === 'uploading'
      }
      if (cancelledAt !== undefined && d.now() - cancelledAt > d.cancelGraceMs) {
        return { state: 'ended', lost: true, reason: 'the job did not stop within the cancellation grace period' }
      }
      // the artifact upload prints nothing, but the instance is billed until we see `done`: while it
      // lasts, the loop keeps its fast pace instead of backing off (one listing per fastMs)
      if (printed > 0 || finishing) outputAt = d.now()
      wait = nextWaitMs(wait, printed > 0 || finishing ? 1 : 0, d.pace, d.now() - outputAt)
      await waker.wait(wait)
    }
  } finally {
    unwatch?.()
    d.signal.removeEventListener('abort', poke)
  }
}
