/** Expired credentials (aws-actions/configure-aws-credentials sessions are not refreshable). */
import { isExpiredCredentials } from './errors.js'
import { formatDuration } from '../../report/markdown.js'

export class ExpiredCredentialsError extends Error {
  constructor(elapsedMs: number, what: string, readonly instanceId?: string) {
    super(
      `AWS credentials expired after ${formatDuration(Math.max(0, Math.round(elapsedMs / 1000)))} while ${what}` +
        ` — give role-to-assume (with id-token: write) so the session is renewed for as long as the run lasts, or raise role-duration-seconds (aws-actions/configure-aws-credentials; the role's maximum session duration too).` +
        (instanceId ? ` Instance ${instanceId} still terminates itself at max_duration; \`cleanup\` mode removes it once expired.` : ' The instance still terminates itself at max_duration.')
    )
    this.name = 'ExpiredCredentialsError'
  }
}

/** rethrows `err` as ExpiredCredentialsError when it is one */
export function rethrowExpired(err: unknown, since: number, now: number, what: string, instanceId?: string): never {
  if (isExpiredCredentials(err)) throw new ExpiredCredentialsError(now - since, what, instanceId)
  throw err
}
