/**
 * Options of the AWS backend. Where the run store lives is not an option: every `start()` gets it
 * in `StartRequest.store`. Everything here has a default except the region, which falls back to
 * the workflow's `regions`, then AWS_REGION / AWS_DEFAULT_REGION.
 */
import { UserError, type StoreLocation } from '../../model/index.js'
import { openStore, type ObjectStore } from '../../store/index.js'
import { DEFAULT_AMI_PARAMETERS } from './ami-fit.js'
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types'
import { defaultClientFactory, type AwsClientFactory } from './clients.js'
import { sessionFactsFromEnv, type SessionFacts } from './session-end.js'
import { EFA_MODES, type EfaMode } from './cluster-launch-input.js'
import { resolveDiskOptions, type DiskOptions } from './disk-options.js'
import { keepOnFailureSeconds } from './keep.js'

/** the x86_64 default (arm64 has its own: ami-fit.ts) */
export const DEFAULT_AMI_PARAMETER = DEFAULT_AMI_PARAMETERS.x86

/**
 * Seconds the runner gives the job between SIGTERM and SIGKILL (src/runner/body/settings.sh `KILL_AFTER`,
 * default 20), and the time it then needs to upload artifacts, the last logs and status.json.
 * A cancelled attempt is terminated only after both, or once status.json says it is done.
 */
export const RUNNER_KILL_AFTER_SEC = 20
export const RUNNER_SAVE_SEC = 100
export const CANCEL_GRACE_SEC = RUNNER_KILL_AFTER_SEC + RUNNER_SAVE_SEC

export interface AwsBackendOptions {
  /** region to launch in; more than one = candidates across regions (no subnetIds then) */
  region?: string
  regions?: string[]
  /** AMI id (`ami-…`) or the name of an SSM parameter holding one (default: the DLAMI parameter of the workflow's architecture) */
  ami?: string
  /** instance profile name or ARN; its role needs the SSM agent's permissions + the store bucket (examples/iam) */
  instanceProfile?: string
  /** subnets to launch in; their zones become the candidate zones (one region) */
  subnetIds?: string[]
  securityGroupIds?: string[]
  keyName?: string
  /**
   * multi-node: a security group that already lets the nodes reach each other (all traffic from
   * itself); default ($DSTACK_AWS_CLUSTER_SECURITY_GROUP, else none): the attempt creates its own and deletes it on release
   */
  clusterSecurityGroupId?: string
  /** multi-node: EFA interfaces on EFA-capable types: `auto` (one; default), `all` (every one; needs private subnets), `off` ($DSTACK_AWS_EFA) */
  efa?: EfaMode | string
  /** seconds to wait for the instance to be Online in SSM (default 600) */
  ssmTimeoutSec?: number
  /** the root EBS volume: `gp3` (default), `gp2`, `io1`, `io2` (disk-options.ts) */
  diskType?: string
  /** provisioned IOPS of the root volume (gp3 3,000–16,000; io1 / io2 required) */
  diskIops?: number | string
  /** throughput of a gp3 root volume, MiB/s (125–1,000) */
  diskThroughput?: number | string
  /** false: launch without a public IPv4 address (needs `subnetIds` that reach SSM and S3: VPC endpoints or NAT) */
  publicIp?: boolean | string
  /** extra tags on the instance and its volume */
  tags?: Record<string, string>
  /** customer-managed KMS key for the secret env parameter (default: $DSTACK_SECRET_KMS_KEY_ID, else `aws/ssm`) */
  secretKmsKeyId?: string
  /** seconds between the runner's SIGTERM and CancelCommand (default CANCEL_GRACE_SEC: the runner's own kill time plus its uploads) */
  cancelGraceSec?: number
  /** added to max_duration for the SSM executionTimeout and the expires-at tag (default 900) */
  marginSec?: number
  /**
   * keep-on-failure: seconds a failed run's instance stays up to be stepped into (SSM session),
   * never past its hard lifetime (max_duration plus the margin); a number or a duration (`30m`). Default 0: terminated at once
   */
  keepOnFailure?: number | string
  /** bounded retries of one candidate on throttling (default 5) */
  throttleRetries?: number
  /** minimum ms between two AWS reads in a handle's poll() (default 2000; adaptive above) */
  pollMinIntervalMs?: number
  /** check credentials, quotas, instance profile, subnets and security groups before launching (default true) */
  preflight?: boolean
  /** opens the run store for the instance catalogue cache (default: the store layer's openStore; tests pass s3rver) */
  openStore?: (loc: StoreLocation) => ObjectStore
  clientFactory?: AwsClientFactory
  /** credentials for the default client factory; a renewing provider (role-to-assume) keeps them valid for the whole run */
  credentials?: AwsCredentialIdentityProvider & { sessions?: number }
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** random in [0,1) for backoff jitter */
  random?: () => number
  env?: Record<string, string | undefined>
}

export interface ResolvedAwsOptions {
  regions: string[]
  /** undefined: the default AMI of the workflow's architecture */
  ami?: string
  instanceProfile?: string
  subnetIds: string[]
  securityGroupIds: string[]
  keyName?: string
  clusterSecurityGroupId?: string
  efa: EfaMode
  ssmTimeoutSec: number
  disk: DiskOptions
  publicIp: boolean
  tags: Record<string, string>
  secretKmsKeyId?: string
  cancelGraceSec: number
  marginSec: number
  /** seconds a failed run's instance is kept (0: not kept) */
  keepOnFailureSec: number
  throttleRetries: number
  pollMinIntervalMs: number
  preflight: boolean
  openStore: (loc: StoreLocation) => ObjectStore
  clientFactory: AwsClientFactory
  /** what the start of a run says about the end of the CI's AWS session (session-end.ts) */
  session: SessionFacts
  sleep: (ms: number) => Promise<void>
  now: () => number
  random: () => number
}

const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function list(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return []
  if (Array.isArray(v)) return v.map(String).map((s) => s.trim()).filter(Boolean)
  return String(v).split(/[\s,]+/).filter(Boolean)
}

/** Validates and fills defaults; accepts the loose record the entries pass (`createBackend('aws', {aws})`). */
export function resolveOptions(o: AwsBackendOptions): ResolvedAwsOptions {
  const env = o.env ?? process.env
  const regions = [...new Set([...list(o.regions), ...list(o.region)])]
  for (const r of regions) if (!REGION_RE.test(r)) throw new UserError(`region is not valid: ${JSON.stringify(r)}`, 'expected e.g. us-east-1')
  const ami = (o.ami ?? '').trim() || undefined
  if (ami && !/^ami-[0-9a-f]{8,17}$/.test(ami) && !/^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/.test(ami)) {
    throw new UserError(`ami is not valid: ${JSON.stringify(ami)}`, 'use an AMI id (ami-…) or the name of an SSM parameter that holds one')
  }
  const ssmTimeoutSec = o.ssmTimeoutSec ?? 600
  if (!(ssmTimeoutSec > 0)) throw new UserError(`ssm timeout must be a positive number of seconds, got ${ssmTimeoutSec}`)
  const subnetIds = list(o.subnetIds)
  for (const s of subnetIds) if (!/^subnet-[0-9a-f]+$/.test(s)) throw new UserError(`subnet id is not valid: ${JSON.stringify(s)}`)
  const securityGroupIds = list(o.securityGroupIds)
  for (const s of securityGroupIds) if (!/^sg-[0-9a-f]+$/.test(s)) throw new UserError(`security group id is not valid: ${JSON.stringify(s)}`)
  const clusterSecurityGroupId = (o.clusterSecurityGroupId ?? env.DSTACK_AWS_CLUSTER_SECURITY_GROUP ?? '').trim() || undefined
  if (clusterSecurityGroupId && !/^sg-[0-9a-f]+$/.test(clusterSecurityGroupId)) throw new UserError(`cluster security group id is not valid: ${JSON.stringify(clusterSecurityGroupId)}`, 'give the id (sg-…) of a security group that allows all traffic from itself, or none to have one created for each multi-node attempt')
  const efa = (o.efa ?? env.DSTACK_AWS_EFA ?? '').trim().toLowerCase() || 'auto'
  if (!(EFA_MODES as readonly string[]).includes(efa)) throw new UserError(`efa must be one of ${EFA_MODES.join(', ')}, got ${JSON.stringify(efa)}`, '`auto` attaches one EFA interface to EFA-capable types of a multi-node run, `all` every one they have (private subnets only), `off` none')
  if (subnetIds.length > 0 && regions.length > 1) throw new UserError('subnet ids belong to one region, but several regions were given', 'give one region with subnet ids, or no subnet ids')
  const disk = resolveDiskOptions(o)
  const publicIp = parsePublicIp(o.publicIp)
  if (!publicIp && subnetIds.length === 0) throw new UserError('public-ip is false but no subnet ids were given', 'give `subnet-ids` (CLI: --subnet-ids) of private subnets that reach SSM and S3 through VPC endpoints or a NAT gateway (docs/aws.md#private-subnets); a default VPC\'s subnets reach them only through a public address')
  const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION
  return {
    regions: regions.length ? regions : envRegion ? [envRegion] : [],
    ami,
    instanceProfile: o.instanceProfile?.trim() || undefined,
    subnetIds,
    securityGroupIds,
    keyName: o.keyName || undefined,
    ...(clusterSecurityGroupId ? { clusterSecurityGroupId } : {}),
    efa: efa as EfaMode,
    ssmTimeoutSec,
    disk,
    publicIp,
    tags: o.tags ?? {},
    secretKmsKeyId: o.secretKmsKeyId?.trim() || env.DSTACK_SECRET_KMS_KEY_ID?.trim() || undefined,
    cancelGraceSec: o.cancelGraceSec ?? CANCEL_GRACE_SEC,
    marginSec: o.marginSec ?? 900,
    keepOnFailureSec: keepOnFailureSeconds(o.keepOnFailure),
    throttleRetries: o.throttleRetries ?? 5,
    pollMinIntervalMs: o.pollMinIntervalMs ?? 2000,
    preflight: o.preflight ?? true,
    openStore: o.openStore ?? ((loc: StoreLocation) => openStore(loc, o.credentials ? { credentials: o.credentials } : {})),
    clientFactory: o.clientFactory ?? defaultClientFactory(o.credentials ? { credentials: o.credentials } : {}),
    session: sessionFactsFromEnv(env, o.credentials?.sessions !== undefined),
    sleep: o.sleep ?? realSleep,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random
  }
}

/** `public-ip`: true (default) or false; the spellings a CI input or a flag gives */
export function parsePublicIp(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true
  if (typeof v === 'boolean') return v
  const s = String(v).trim().toLowerCase()
  if (['true', 'yes', 'on', '1'].includes(s)) return true
  if (['false', 'no', 'off', '0'].includes(s)) return false
  throw new UserError(`public-ip must be true or false, got ${JSON.stringify(v)}`)
}

/** The regions a run may use: the workflow's `regions` narrow the configured ones. */
export function runRegions(configured: string[], workflowRegions: string[]): string[] {
  if (workflowRegions.length === 0) {
    if (configured.length === 0) throw new UserError('no AWS region', 'set the `region` input (CLI: --aws-region), AWS_REGION, or `regions` in the workflow')
    return configured
  }
  if (configured.length === 0) return workflowRegions
  const both = workflowRegions.filter((r) => configured.includes(r))
  if (both.length === 0) {
    // an explicit region (input/CLI) wins over the workflow's wish, as when subnets pin the region
    return configured
  }
  return both
}
