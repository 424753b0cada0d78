/**
 * Pure: any error a CLI command ends with → one `UserError` whose message names the value at fault
 * and whose hint names the fix. The AWS SDK's errors (no credentials, a missing bucket, a denied
 * request, a bucket in another region, an endpoint that does not answer) become sentences about the
 * store or the backend the command used; anything else is one line saying it is unexpected. Stack
 * traces are for DSTACK_DEBUG=1 only (cli.ts).
 */
import { UserError, describeStore, type StoreLocation } from '../model/index.js'

/** what the failing command was using when the error happened */
export interface ErrorContext {
  /** the store it opened */
  store?: StoreLocation
  /** the AWS work it was doing besides the store (`the aws backend`, `cleanup`), for credential errors */
  awsUse?: string
  /** who reads the fix: the CLI's user (flags, DSTACK_DEBUG) or the action's (inputs, step debug logs) */
  surface?: 'cli' | 'action'
}

interface AwsLikeError {
  name?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  Endpoint?: string
  Region?: string
}

const CREDENTIALS_REJECTED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'UnrecognizedClientException', 'AuthFailure', 'InvalidToken'])
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired'])
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Forbidden', 'AllAccessDisabled'])
const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException'])
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN'])

const ACTION_CREDENTIALS_FIX =
  'configure AWS credentials for the job: the `role-to-assume` input with `permissions: id-token: write`, or aws-actions/configure-aws-credentials before this step; ' +
  'the local backend with a folder store needs no AWS account'
const CREDENTIALS_FIX =
  'configure AWS credentials: `aws configure` or `aws sso login` and AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; ' +
  'in CI, --role-to-assume with the job\'s OIDC token; a folder store (--store DIR) with --backend local needs no AWS account'

/** the first line of a message, at most 300 characters (an SDK message can hold a whole XML body) */
export function oneLine(text: string): string {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? ''
  return first.length > 300 ? first.slice(0, 297) + '…' : first
}

function codeOf(e: AwsLikeError): string {
  return String(e.code && /^E[A-Z_]+$|^[A-Z_]{6,}$/.test(e.code) ? e.code : (e.name ?? e.code ?? ''))
}

/** the AWS use a credential problem blocks: the store, the backend, or both */
function needs(c: ErrorContext): string {
  const parts = [c.store?.kind === 's3' ? `the S3 store ${describeStore(c.store)}` : undefined, c.awsUse].filter(Boolean)
  return parts.length ? parts.join(' and ') : 'AWS'
}

/** `… needs them` / `… need them` */
function needThem(c: ErrorContext): string {
  const what = needs(c)
  return `${what} ${what.includes(' and ') ? 'need' : 'needs'} them`
}

export function explainError(err: unknown, c: ErrorContext = {}): UserError {
  if (err instanceof UserError) return err
  const e = (err ?? {}) as AwsLikeError
  const code = codeOf(e)
  // the SDK wraps what is not an Error of its realm: `AWS SDK error wrapper for Error: connect ECONNREFUSED …`
  const message = oneLine(String(e.message ?? err)).replace(/^AWS SDK error wrapper for (Error: )?/, '')
  const status = e.$metadata?.httpStatusCode
  const s3 = c.store?.kind === 's3' ? c.store : undefined
  const storeName = s3 ? describeStore(s3) : undefined

  if (code === 'CredentialsProviderError' || /could not load credentials from any providers/i.test(message)) {
    return new UserError(`no AWS credentials found, and ${needThem(c)}`, c.surface === 'action' ? ACTION_CREDENTIALS_FIX : CREDENTIALS_FIX)
  }
  if (EXPIRED.has(code)) return new UserError(`the AWS credentials have expired (${code}), and ${needThem(c)}`, 'renew them (`aws sso login`, or new keys), then run the command again')
  if (CREDENTIALS_REJECTED.has(code)) return new UserError(`AWS rejected the credentials (${code}: ${message})`, `check AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY${s3?.endpoint ? `, and that they belong to ${s3.endpoint}` : ''}`)
  if (code === 'NoSuchBucket' && s3) {
    return new UserError(
      `the bucket ${s3.bucket} of the store ${storeName} does not exist${s3.endpoint ? ` at ${s3.endpoint}` : ''}`,
      `check the name in --store (or DSTACK_STORE), or create it: aws s3 mb s3://${s3.bucket}${s3.region ? ` --region ${s3.region}` : ''}`
    )
  }
  if (s3 && (WRONG_REGION.has(code) || status === 301)) {
    return new UserError(`the bucket ${s3.bucket} of the store ${storeName} is in another region than ${s3.region ?? 'the one asked'} (${code || status})`, c.surface === 'action' ? 'set the bucket\'s region in the `store-region` input' : 'pass the bucket\'s region with --store-region')
  }
  if (DENIED.has(code) || (status === 403 && s3)) {
    const what = s3 && !c.awsUse ? `the store ${storeName}` : needs(c)
    return new UserError(
      `access denied to ${what} (${code || 403}: ${message})`,
      s3 && !c.awsUse
        ? `the credentials' identity needs s3:ListBucket on ${s3.bucket} and s3:GetObject, s3:PutObject, s3:DeleteObject under ${s3.prefix ? s3.prefix + '/' : 'the bucket'} (examples/iam)`
        : '`dstack-run check --backend aws` lists the permissions that are missing'
    )
  }
  const netCode = [code, String(e.code ?? ''), /\b(E[A-Z_]{4,})\b/.exec(message)?.[1] ?? ''].find((x) => UNREACHABLE.has(x))
  if (netCode) {
    const where = s3?.endpoint ?? (s3 ? `S3 (the store ${storeName})` : 'AWS')
    return new UserError(`cannot reach ${where}: ${netCode}${message && message !== netCode ? ` (${message})` : ''}`, s3?.endpoint ? 'check --endpoint: the server must be running and answer at that URL' : 'check the network connection and any proxy (HTTPS_PROXY)')
  }
  if (e.$metadata) {
    return new UserError(`AWS refused a request${c.store || c.awsUse ? ` for ${needs(c)}` : ''}: ${code || status}: ${message}`, '`dstack-run check --backend aws` checks the account\'s set-up')
  }
  const name = err instanceof Error && err.name && err.name !== 'Error' ? `${err.name}: ` : ''
  return new UserError(
    `unexpected error: ${name}${message || 'no message'}`,
    c.surface === 'action' ? 'this is a bug: re-run the job with debug logging for the stack trace, and report it' : 'this is a bug in dstack-run: run the command again with DSTACK_DEBUG=1 for the stack trace, and report it'
  )
}
