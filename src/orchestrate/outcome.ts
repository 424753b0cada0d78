/**
 * Pure decisions of the run lifecycle: what an attempt's result was, and whether to try again.
 */
import type { AttemptStatus, ExecState, RetryEvent, RunSpec, TerminalStatus } from '../model/index.js'
import { EBS_PRICES, volumeUsdPerMonth, type VolumeBilling } from '../model/volume.js'

export interface AttemptOutcome {
  status: TerminalStatus
  exitCode?: number
  reason: string
  /** the retry event this outcome counts as, if any */
  event?: RetryEvent
  /** the provider itself reclaimed the machine (not the runner or the user stopping it) */
  reclaimed?: boolean
}

/**
 * Combine what the runner wrote (status.json) with what the backend saw. The runner's own word wins
 * when it finished; the backend's word fills in when the machine vanished before the runner could write.
 */
export function attemptOutcome(written: AttemptStatus | undefined, exec: ExecState, cancelledByUser: boolean): AttemptOutcome {
  const reclaimed = exec.state === 'ended' && exec.reclaimed ? { reclaimed: true } : {}
  if (written?.status) {
    const status = written.status
    const event: RetryEvent | undefined = status === 'interrupted' ? 'interruption' : status === 'failed' ? 'error' : undefined
    return { status, exitCode: written.exitCode, reason: written.reason ?? defaultReason(status, written.exitCode), event, ...reclaimed }
  }
  if (exec.state === 'ended' && exec.interrupted) {
    return { status: 'interrupted', reason: exec.reason ?? 'the spot instance was reclaimed before the runner could report', event: 'interruption', ...reclaimed }
  }
  if (cancelledByUser) return { status: 'cancelled', reason: 'cancelled before the runner reported a result' }
  if (exec.state === 'ended') {
    const reason = exec.reason ?? (exec.lost ? 'the machine was lost before the runner reported a result' : `the runner exited with ${exec.exitCode ?? 'an unknown code'} without reporting a result`)
    return { status: 'failed', exitCode: exec.exitCode, reason, event: 'error' }
  }
  return { status: 'failed', reason: 'the attempt ended in an unknown state', event: 'error' }
}

function defaultReason(status: TerminalStatus, exitCode?: number): string {
  switch (status) {
    case 'succeeded':
      return 'all commands exited with 0'
    case 'failed':
      return `a command exited with ${exitCode ?? 'a non-zero code'}`
    case 'timed-out':
      return 'the run reached max_duration'
    case 'cancelled':
      return 'the run was cancelled'
    case 'interrupted':
      return 'the spot instance was reclaimed'
  }
}

/** dstack's retry: an event listed in `on_events`, while the run is younger than `duration`. */
/**
 * dstack's retry window (`runs/active.py::_should_retry_job`): before any attempt got a machine,
 * `no-capacity` is retried while the run is younger than `duration`; once an attempt was
 * provisioned, any listed event is retried while less than `duration` has passed since that
 * provisioned attempt ended (`lastProvisionedEndMs`), so a long run interrupted late is retried.
 */
export function shouldRetry(outcome: { event?: RetryEvent }, retry: RunSpec['retry'], runStartedMs: number, nowMs: number, lastProvisionedEndMs?: number): boolean {
  if (!outcome.event || !retry.onEvents.includes(outcome.event)) return false
  const since = lastProvisionedEndMs ?? runStartedMs
  return nowMs - since <= retry.durationSec * 1000
}

/** exit code of the CI step / CLI: 0 only for succeeded */
export function exitCodeFor(status: TerminalStatus, runnerExit?: number): number {
  if (status === 'succeeded') return 0
  if (status === 'failed' && runnerExit && runnerExit > 0 && runnerExit < 256) return runnerExit
  return 1
}

/** gp3 storage, USD per GiB-month (us-east-1; EBS bills per second, a month is 730 h; other types and IOPS: model/volume.ts) */
export const EBS_GP3_USD_PER_GIB_MONTH = EBS_PRICES.gp3.gib
/** a public IPv4 address, USD per hour (every region, since February 2024) */
export const PUBLIC_IPV4_USD_PER_HOUR = 0.005

/**
 * Per-second billing with a 60 s minimum, from the instance's launch (pass the machine's `launchedAt`
 * as `startedAt`), plus its root EBS volume (its type, IOPS and throughput: model/volume.ts) and public IPv4 address for the same seconds. AWS does not
 * bill the instance hours of a spot instance that EC2 itself interrupts in its first hour
 * (`reclaimed`), but the volume and the address are billed; an attempt that stopped on the interruption
 * notice and was then terminated by us is billed like any other.
 */
export function attemptCost(pricePerHour: number, startedAt: string, endedAt: string, status: string, reclaimed = false, extras: VolumeBilling & { publicIpv4?: boolean } = {}): number {
  const secs = Math.max(60, Math.ceil(Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)) / 1000))
  const instance = status === 'interrupted' && reclaimed && secs < 3600 ? 0 : (pricePerHour * secs) / 3600
  const volume = (volumeUsdPerMonth(extras) * secs) / (730 * 3600)
  const address = extras.publicIpv4 ? (PUBLIC_IPV4_USD_PER_HOUR * secs) / 3600 : 0
  return Math.round((instance + volume + address) * 10000) / 10000
}
