/**
 * Pure: which variables reach the job, and which reach the runner script (README "The job's
 * environment"). The job never sees the action's inputs (INPUT_*), the CI's tokens
 * (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_*, GITHUB_TOKEN, CI_JOB_TOKEN, DSTACK_GITLAB_TOKEN),
 * its command files (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE, GITHUB_PATH, GITHUB_STEP_SUMMARY) or
 * the CI's AWS credentials: it gets a list built on purpose.
 */

/** passed through from the runner's own environment to the job (when set) */
export const JOB_PASSTHROUGH_ENV = [
  'PATH', 'HOME', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR',
  'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES'
] as const

/** also passed to the `docker` command (not into the container) when the job runs in an image */
export const DOCKER_CLIENT_ENV = ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'] as const

/**
 * The CI's own variables the job sees, exported by the job script (the same on every backend).
 * None of them is a credential or a file the CI reads back.
 */
export const CI_JOB_ENV = [
  // GitHub Actions
  'GITHUB_ACTIONS', 'GITHUB_SHA', 'GITHUB_REF', 'GITHUB_REF_NAME', 'GITHUB_REF_TYPE', 'GITHUB_HEAD_REF', 'GITHUB_BASE_REF',
  'GITHUB_REPOSITORY', 'GITHUB_REPOSITORY_OWNER', 'GITHUB_RUN_ID', 'GITHUB_RUN_NUMBER', 'GITHUB_RUN_ATTEMPT',
  'GITHUB_WORKFLOW', 'GITHUB_JOB', 'GITHUB_EVENT_NAME', 'GITHUB_ACTOR', 'GITHUB_SERVER_URL',
  // GitLab CI
  'GITLAB_CI', 'CI_COMMIT_SHA', 'CI_COMMIT_SHORT_SHA', 'CI_COMMIT_REF_NAME', 'CI_COMMIT_BRANCH', 'CI_COMMIT_TAG',
  'CI_PROJECT_PATH', 'CI_PROJECT_URL', 'CI_PIPELINE_ID', 'CI_PIPELINE_URL', 'CI_PIPELINE_SOURCE', 'CI_JOB_ID', 'CI_JOB_URL',
  'CI_SERVER_URL', 'CI_MERGE_REQUEST_IID', 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME', 'CI_MERGE_REQUEST_TARGET_BRANCH_NAME',
  // both
  'CI'
] as const

/** the documented CI variables present in `environ` */
export function ciJobEnv(environ: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of CI_JOB_ENV) {
    const v = environ[name]
    if (v !== undefined && !v.includes('\u0000')) out[name] = v
  }
  return out
}

/** never passed to the runner script, even where a prefix below would allow it */
const RUNNER_DENY = /^(DSTACK_GITLAB_TOKEN|DSTACK_REDACT)$/
/** what the runner script itself may need: the job list, the store's AWS access, DSTACK_* overrides, docker */
const RUNNER_ALLOW = /^(AWS_[A-Z0-9_]+|DSTACK_[A-Z0-9_]+|LC_[A-Z_]+)$/

/**
 * The runner script's environment on the local backend, from this process's: the job's pass-through
 * list, the docker client's, `AWS_*` (the runner's store access; the runner keeps them from the job),
 * `DSTACK_*` overrides (not DSTACK_GITLAB_TOKEN) and `LC_*`. Everything else stays behind.
 */
export function runnerEnvironment(environ: Record<string, string | undefined>): Record<string, string> {
  const allowed = new Set<string>([...JOB_PASSTHROUGH_ENV, ...DOCKER_CLIENT_ENV])
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(environ)) {
    if (v === undefined || RUNNER_DENY.test(name)) continue
    if (allowed.has(name) || RUNNER_ALLOW.test(name)) out[name] = v
  }
  return out
}
