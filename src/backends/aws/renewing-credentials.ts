/**
 * AWS credentials that outlive one STS session: an assumed role whose session is renewed, shortly
 * before it ends, with a fresh OIDC token from the CI (GitHub's Actions runtime, GitLab's
 * `id_tokens`). Each renewal is the SDK's own web-identity provider (`fromWebToken`, i.e. STS
 * AssumeRoleWithWebIdentity). Nothing is written to disk: the token lives in memory for one call.
 *
 * The provider is marked `memoized`, so SDK clients call it before every request and it alone
 * decides when to renew, by its injected clock (tests run hours of sessions in no real time).
 */
import { fromWebToken } from '@aws-sdk/credential-providers'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types'
import { UserError } from '../../model/index.js'

export interface RenewingCredentialsOptions {
  /** ARN of the role to assume */
  roleArn: string
  /** a fresh OIDC token (JWT) for each renewal; its audience must be `sts.amazonaws.com` */
  token: () => Promise<string>
  /** STS RoleSessionName (letters, digits and `+=,.@-`; cut to 64) */
  sessionName: string
  /** seconds per session (default 3600, the role's usual maximum, and role chaining's cap) */
  durationSeconds?: number
  /** STS region (default: the SDK's) */
  region?: string
  /** an STS endpoint (tests: a fake STS on loopback) */
  stsEndpoint?: string
  /** renew this long before the session ends (default 5 min) */
  renewBeforeMs?: number
  now?: () => number
  log?: (line: string) => void
}

export type RenewingCredentials = AwsCredentialIdentityProvider & {
  memoized: true
  /** sessions obtained so far (the first one included) */
  readonly sessions: number
  /** when the current session ends (undefined before the first) */
  readonly expiresAt: Date | undefined
}

const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/

export function assertRoleArn(source: string, arn: string): string {
  const v = arn.trim()
  if (!ROLE_ARN_RE.test(v)) throw new UserError(`${source} is not a role ARN: ${JSON.stringify(v)}`, 'expected arn:aws:iam::<12-digit account>:role/<name>')
  return v
}

/** a valid STS RoleSessionName from any text (CI job ids, run names) */
export function roleSessionName(text: string): string {
  const s = text.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
  return s.length >= 2 ? s : 'dstack-run'
}

export function renewingWebIdentityCredentials(o: RenewingCredentialsOptions): RenewingCredentials {
  const now = o.now ?? Date.now
  const renewBefore = o.renewBeforeMs ?? 5 * 60_000
  let current: AwsCredentialIdentity | undefined
  let inflight: Promise<AwsCredentialIdentity> | undefined
  let sessions = 0

  const due = (c: AwsCredentialIdentity | undefined) => !c || !c.expiration || c.expiration.getTime() - now() <= renewBefore

  async function renew(): Promise<AwsCredentialIdentity> {
    const token = await o.token()
    if (!token) throw new UserError(`no OIDC token to assume ${o.roleArn}`, 'GitHub: grant `permissions: id-token: write` to the job; GitLab: declare `id_tokens: DSTACK_AWS_ID_TOKEN: aud: sts.amazonaws.com` in the job')
    const creds = await fromWebToken({
      roleArn: o.roleArn,
      webIdentityToken: token,
      roleSessionName: roleSessionName(o.sessionName),
      durationSeconds: o.durationSeconds ?? 3600,
      clientConfig: { ...(o.region ? { region: o.region } : {}), ...(o.stsEndpoint ? { endpoint: o.stsEndpoint } : {}) }
    })()
    sessions++
    const until = creds.expiration ? ` until ${creds.expiration.toISOString()}` : ''
    o.log?.(sessions === 1 ? `assumed ${o.roleArn} with the job's OIDC token${until}; the session is renewed before it ends` : `renewed the AWS session of ${o.roleArn}${until} (session ${sessions})`)
    return creds
  }

  const provider = (async () => {
    if (!due(current)) return current!
    inflight ??= renew().finally(() => (inflight = undefined))
    try {
      current = await inflight
    } catch (e) {
      // a failed renewal while the session still has time left: keep using it, try again next call
      if (current?.expiration && current.expiration.getTime() > now()) {
        o.log?.(`renewing the AWS session failed (${(e as Error).message}); the current one lasts until ${current.expiration.toISOString()}`)
        return current
      }
      throw e
    }
    return current
  }) as RenewingCredentials
  Object.defineProperty(provider, 'memoized', { value: true })
  Object.defineProperty(provider, 'sessions', { get: () => sessions })
  Object.defineProperty(provider, 'expiresAt', { get: () => current?.expiration })
  return provider
}
