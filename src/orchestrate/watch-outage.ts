/**
 * The watch rides out a short loss of credentials or network: while polling the backend fails, it
 * keeps following the run through the store (logs, status.json) when it can, and gives the attempt
 * up only after `limitMs` without contact. The machine's own limits (the runner's max_duration,
 * the self-destruct) hold whatever this side sees.
 */
import type { AttemptStatus, ExecState } from '../model/index.js'
import { formatDuration } from '../report/markdown.js'

export const DEFAULT_WATCH_OUTAGE_MS = 10 * 60_000
/**
 * Errors that waiting does not clear (a missing permission, a wrong key, a deleted bucket): ridden
 * out only this long (IAM changes take seconds to propagate), not the full outage window.
 */
export const PERMANENT_ERROR_MS = 60_000
const PERMANENT = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|InvalidAccessKeyId|SignatureDoesNotMatch|InvalidClientTokenId|NoSuchBucket|AuthFailure|OptInRequired)$/

/** an error that will not clear by waiting, by its AWS error name or code */
export function isPermanentError(err: unknown): boolean {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown } | undefined
  return [e?.name, e?.Code, e?.code].some((n) => typeof n === 'string' && PERMANENT.test(n))
}

export class WatchOutage {
  private since?: number
  /** since when the failures have been errors that waiting does not clear */
  private permanentSince?: number
  private failures = 0

  constructor(
    private readonly limitMs: number,
    private readonly now: () => number,
    private readonly warn: (message: string) => void
  ) {}

  get ongoing(): boolean {
    return this.since !== undefined
  }

  /** a poll worked: say that contact is back, if it was lost */
  ok(): void {
    if (this.since === undefined) return
    this.warn(`contact with the run is back after ${formatDuration(Math.round((this.now() - this.since) / 1000))} (${this.failures} failed poll(s)): watching again`)
    this.since = undefined
    this.permanentSince = undefined
    this.failures = 0
  }

  /**
   * A poll failed. `written` is the runner's status.json if the store could still be read: a finished
   * runner ends the attempt right away. Returns the attempt's end, or undefined to keep watching.
   */
  failed(err: unknown, written: AttemptStatus | undefined): ExecState | undefined {
    const t = this.now()
    const msg = err instanceof Error ? err.message : String(err)
    this.failures++
    if (this.since === undefined) {
      this.since = t
      this.warn(`lost contact with the run (${msg}); watching it through the store and trying again for up to ${formatDuration(Math.round(this.limitMs / 1000))}. The instance keeps its own limits meanwhile (max_duration, self-destruct)`)
    }
    if (written?.phase === 'done' && written.status) {
      return { state: 'ended', ...(written.exitCode !== undefined ? { exitCode: written.exitCode } : {}), interrupted: written.status === 'interrupted' }
    }
    if (t - this.since >= this.limitMs) {
      return { state: 'ended', lost: true, reason: `the watch lost contact with the run for ${formatDuration(Math.round((t - this.since) / 1000))}: ${msg}` }
    }
    if (isPermanentError(err)) {
      this.permanentSince ??= t
      if (t - this.permanentSince >= Math.min(this.limitMs, PERMANENT_ERROR_MS)) {
        return { state: 'ended', lost: true, reason: `the watch cannot read the run: ${msg} (this does not clear by waiting: check the permissions of the credentials that watch it; the instance keeps its own limits)` }
      }
    } else this.permanentSince = undefined
    return undefined
  }
}
