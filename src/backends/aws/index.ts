/** The AWS backend (issue 4): spot/on-demand GPU EC2 + SSM Run Command. */
import { AwsBackend } from './backend.js'
import type { AwsBackendOptions } from './options.js'

export { AwsBackend, CancelledError, fullKey } from './backend.js'
export type { AwsBackendOptions, ResolvedAwsOptions } from './options.js'
export { DEFAULT_AMI_PARAMETER, resolveOptions } from './options.js'
export { defaultClientFactory, type AwsClientFactory, type ClientFactoryConfig } from './clients.js'
export { rankCandidates, findCandidates, describeCandidate, type Candidate, type RankInput } from './candidates.js'
export { classifyLaunchError, quotaFor, quotaIncreaseCommand, isThrottling, isExpiredCredentials, type LaunchErrorClass, type LaunchErrorKind } from './errors.js'
export { runInstancesInput, clientToken, instanceTags, TAG } from './launch-input.js'
export { noCapacityMessage, launchFailure, QuotaError } from './launch.js'
export { renderBootstrap, renderStopScript, secretEnvPayload, secretParameterName, shellQuote } from './bootstrap.js'
export { execState } from './ssm.js'
export { ExpiredCredentialsError } from './expired-credentials.js'
export { ON_DEMAND_FALLBACK, PRICE_SOURCE } from './prices.js'

/** `createBackend('aws', { aws })` (src/backends/index.ts) passes the entries' loose option record. */
export function createAwsBackend(opts: Record<string, unknown> | AwsBackendOptions = {}): AwsBackend {
  return new AwsBackend(opts as AwsBackendOptions)
}
export { formatRows, type CheckRow, type CheckStatus } from './preflight.js'
export { CANCEL_GRACE_SEC, RUNNER_KILL_AFTER_SEC, RUNNER_SAVE_SEC } from './options.js'
export { DEFAULT_AMI_PARAMETERS, DEFAULT_AMI_FAMILIES } from './ami-fit.js'
