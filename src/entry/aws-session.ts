/**
 * `role-to-assume` (action input, CLI `--role-to-assume`, env DSTACK_ROLE_TO_ASSUME): AWS
 * credentials renewed for as long as the run lasts, from the CI job's OIDC token.
 * - GitHub Actions: a fresh token from the Actions runtime for each renewal (`core.getIDToken`,
 *   audience sts.amazonaws.com), which needs `permissions: id-token: write`.
 * - GitLab CI: the job's `id_tokens` entry DSTACK_AWS_ID_TOKEN (audience sts.amazonaws.com); GitLab
 *   makes it valid for the job's timeout, so it is exchanged again at each renewal.
 * The token and the credentials stay in memory: never on disk, in a log or in the store.
 */
import { UserError } from '../model/index.js'
import type { RenewingCredentials } from '../backends/aws/renewing-credentials.js'

export const STS_AUDIENCE = 'sts.amazonaws.com'
/** the GitLab `id_tokens` variable the CLI reads */
export const GITLAB_ID_TOKEN_VAR = 'DSTACK_AWS_ID_TOKEN'

export interface AwsSessionInput {
  /** the role ARN; empty or undefined: no role, the SDK's default credentials */
  roleArn?: string
  /** where the ARN came from, for errors */
  source: string
  environ: Record<string, string | undefined>
  region?: string
  durationSeconds?: number
  log: (line: string) => void
  /** tests: a token source and an STS endpoint */
  token?: () => Promise<string>
  stsEndpoint?: string
  now?: () => number
}

/** where a fresh OIDC token comes from in this CI job, or undefined when there is none */
export function oidcTokenSource(environ: Record<string, string | undefined>): { from: string; token: () => Promise<string> } | undefined {
  if (environ.ACTIONS_ID_TOKEN_REQUEST_URL && environ.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return {
      from: 'the GitHub Actions OIDC token',
      token: async () => {
        const core = await import('@actions/core')
        return core.getIDToken(STS_AUDIENCE)
      }
    }
  }
  const gitlab = environ[GITLAB_ID_TOKEN_VAR]
  if (gitlab) return { from: `the GitLab id_token ${GITLAB_ID_TOKEN_VAR}`, token: async () => gitlab }
  return undefined
}

/**
 * The renewing credentials for `roleArn`, with the first session already obtained (so a wrong role
 * or a missing permission fails the step at once), or undefined when no role is given.
 */
export async function awsSession(i: AwsSessionInput): Promise<RenewingCredentials | undefined> {
  if (!i.roleArn?.trim()) return undefined
  // loaded only when a role is given: the AWS SDK's STS client costs start-up time
  const { assertRoleArn, renewingWebIdentityCredentials } = await import('../backends/aws/renewing-credentials.js')
  const roleArn = assertRoleArn(i.source, i.roleArn)
  const source = i.token ? { from: 'the given token source', token: i.token } : oidcTokenSource(i.environ)
  if (!source) {
    throw new UserError(
      `${i.source} is set, but this job has no OIDC token to assume ${roleArn} with`,
      `GitHub: add \`permissions: { id-token: write, contents: read }\` to the job; GitLab: add \`id_tokens: { ${GITLAB_ID_TOKEN_VAR}: { aud: ${STS_AUDIENCE} } }\` to the job (the component does)`
    )
  }
  const jobId = i.environ.GITHUB_RUN_ID ? `gh-${i.environ.GITHUB_RUN_ID}-${i.environ.GITHUB_RUN_ATTEMPT ?? '1'}` : i.environ.CI_JOB_ID ? `gl-${i.environ.CI_JOB_ID}` : 'cli'
  const credentials = renewingWebIdentityCredentials({
    roleArn,
    token: source.token,
    sessionName: `dstack-run-${jobId}`,
    durationSeconds: i.durationSeconds,
    region: i.region || 'us-east-1',
    stsEndpoint: i.stsEndpoint,
    now: i.now,
    log: i.log
  })
  try {
    await credentials()
  } catch (e) {
    throw new UserError(`assuming ${roleArn} with ${source.from} failed: ${(e as Error).message}`, `the role's trust policy must allow sts:AssumeRoleWithWebIdentity for this repository's OIDC subject, with audience ${STS_AUDIENCE} (README: "Long runs")`)
  }
  return credentials
}
