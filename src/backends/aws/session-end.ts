/**
 * Pure: when the CI's AWS session will end, said at the start of a run that may outlive it.
 * Without `role-to-assume`, credentials from aws-actions/configure-aws-credentials (or any
 * `AWS_SESSION_TOKEN` in the environment) cannot be renewed by this step; the run itself goes on
 * (the instance has its own role and limits), but the step loses sight of it when they end.
 */
import { formatDuration } from '../../report/markdown.js'

export interface SessionFacts {
  /** an assumed role this step renews itself (role-to-assume) */
  renewing: boolean
  /** AWS_SESSION_TOKEN is set: a temporary session */
  temporary: boolean
  /** when it ends, if known (AWS_CREDENTIAL_EXPIRATION, as the SDK reads it) */
  expiresAt?: Date
}

export function sessionFactsFromEnv(env: Record<string, string | undefined>, renewing: boolean): SessionFacts {
  const exp = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined
  return {
    renewing,
    temporary: Boolean(env.AWS_SESSION_TOKEN),
    ...(exp && !Number.isNaN(exp.getTime()) ? { expiresAt: exp } : {})
  }
}

const WHAT_HAPPENS =
  'from then on this step cannot watch the run nor terminate its instance: it stops with an error once the store and EC2 stay unreachable; ' +
  'the run goes on, its instance writes logs, artifacts and status to the store with its own role (`dstack-run logs <run>` shows them) and stops itself at max_duration, ' +
  'and `cleanup` terminates it once its dstack:expires-at tag has passed. ' +
  'To watch the whole run, give `role-to-assume` (GitHub: with `permissions: id-token: write`; GitLab: an `id_tokens` entry DSTACK_AWS_ID_TOKEN): the session is then renewed for as long as the run lasts'

/**
 * A warning when the session may end before the run can (max_duration plus `marginSec` for the
 * launch and the final upload), or undefined when it is renewed, long-lived or lasts long enough.
 */
export function sessionEndWarning(f: SessionFacts, nowMs: number, maxDurationSec: number, marginSec = 900): string | undefined {
  if (f.renewing || !f.temporary) return undefined
  const need = maxDurationSec + marginSec
  if (f.expiresAt) {
    const leftSec = Math.round((f.expiresAt.getTime() - nowMs) / 1000)
    if (leftSec >= need) return undefined
    return (
      `the AWS session ends at ${f.expiresAt.toISOString()} (${leftSec > 0 ? `in ${formatDuration(leftSec)}` : 'already'}), before this run may end (max_duration ${formatDuration(maxDurationSec)}): ` +
      WHAT_HAPPENS
    )
  }
  return (
    `the AWS credentials are a temporary session (AWS_SESSION_TOKEN is set) that this step cannot renew, and its end is not known here ` +
    `(aws-actions/configure-aws-credentials: 1h unless role-duration-seconds says more); if it ends before the run (max_duration ${formatDuration(maxDurationSec)}), ` +
    WHAT_HAPPENS
  )
}
