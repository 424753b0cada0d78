/**
 * Pure classification of AWS errors (peers-and-aws-facts §4.5, §4.6, §4.9): what a launch error
 * means for the candidate list, which quota to raise, and which errors are throttling or expired
 * credentials.
 */

export interface AwsErrorLike {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $retryable?: unknown
}

/** The EC2/SSM error code of an SDK v3 error (its `name`), or `Code`/`code` for hand-made errors. */
export function errorCode(err: unknown): string {
  const e = (err ?? {}) as AwsErrorLike
  return String(e.Code ?? e.name ?? e.code ?? 'Error')
}

export function errorMessage(err: unknown): string {
  const e = (err ?? {}) as AwsErrorLike
  return String(e.message ?? err)
}

const THROTTLING = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'ThrottledException', 'SlowDown', 'RequestThrottled', 'RequestThrottledException', 'PriorRequestNotComplete'])
const TRANSIENT = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'NetworkingError'])
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'])
const CAPACITY = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'UnfulfillableCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity', 'InsufficientCapacityOnHost'])
const FATAL = new Set(['UnauthorizedOperation', 'AuthFailure', 'AccessDenied', 'AccessDeniedException', 'InvalidParameterValue', 'InvalidParameterCombination', 'InvalidParameter', 'MissingParameter', 'IdempotentParameterMismatch', 'OptInRequired', 'PendingVerification', 'Blocked', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'UnrecognizedClientException'])

export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(errorCode(err))
}

export function isExpiredCredentials(err: unknown): boolean {
  return EXPIRED.has(errorCode(err))
}

/** throttling, 5xx without a capacity meaning, network resets: retry the same call after a pause */
export function isRetryable(err: unknown): boolean {
  const code = errorCode(err)
  if (CAPACITY.has(code)) return false
  if (THROTTLING.has(code) || TRANSIENT.has(code)) return true
  const status = (err as AwsErrorLike)?.$metadata?.httpStatusCode
  return status !== undefined && status >= 500
}

/** Service Quotas codes (service `ec2`), vCPU-based, per region; on-demand and spot are separate. */
export interface QuotaInfo {
  group: string
  onDemand?: { code: string; name: string }
  spot?: { code: string; name: string }
}

const QUOTAS: { prefixes: string[]; info: QuotaInfo }[] = [
  { prefixes: ['g', 'vt'], info: { group: 'G and VT', onDemand: { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances' }, spot: { code: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests' } } },
  { prefixes: ['p'], info: { group: 'P', onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-7212CCBC', name: 'All P4, P3 and P2 Spot Instance Requests' } } },
  { prefixes: ['inf'], info: { group: 'Inf', onDemand: { code: 'L-1945791B', name: 'Running On-Demand Inf instances' }, spot: { code: 'L-B5D1601B', name: 'All Inf Spot Instance Requests' } } },
  { prefixes: ['f'], info: { group: 'F', onDemand: { code: 'L-74FC7D96', name: 'Running On-Demand F instances' }, spot: { code: 'L-88CF9481', name: 'All F Spot Instance Requests' } } },
  { prefixes: ['x'], info: { group: 'X', onDemand: { code: 'L-7295265B', name: 'Running On-Demand X instances' }, spot: { code: 'L-E3A00192', name: 'All X Spot Instance Requests' } } },
  { prefixes: ['trn', 'dl'], info: { group: 'Trn/DL' } },
  { prefixes: ['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'], info: { group: 'Standard', onDemand: { code: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' }, spot: { code: 'L-34B43A08', name: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' } } }
]

/**
 * P spot quotas per generation (AWS General Reference, "Amazon EC2 service quotas"): P2–P4 share
 * L-7212CCBC, P5 has its own, L-C4BD4855. On-demand P is one quota (L-417A185B) for every generation.
 * P6 (p6-b200, p6-b300, p6e-gb200) is not named in that listing; it is counted with the newest
 * listed P spot quota, P5's (a quota that is not there is reported as such, not as a refusal).
 */
const P5_AND_LATER: QuotaInfo = { group: 'P5 and later', onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-C4BD4855', name: 'All P5 Spot Instance Requests' } }

/** `g5.xlarge` → `g5`; `p4de.24xlarge` → `p4de` */
export function instanceFamily(instanceType: string): string {
  return instanceType.split('.')[0] ?? instanceType
}

/** The vCPU quota group of an instance type (`g5.xlarge` → G and VT). */
export function quotaFor(instanceType: string): QuotaInfo {
  const family = instanceFamily(instanceType)
  const generation = /^p(\d+)/.exec(family)
  if (generation && Number(generation[1]) >= 5) return P5_AND_LATER
  const letters = (family.match(/^[a-z]+/) ?? [''])[0]
  // longest matching prefix wins: `inf2` is Inf, not I (Standard)
  let best: { len: number; info: QuotaInfo } | undefined
  for (const q of QUOTAS) for (const p of q.prefixes) if (letters.startsWith(p) && (!best || p.length > best.len)) best = { len: p.length, info: q.info }
  return best?.info ?? { group: instanceFamily(instanceType) }
}

export function quotaIncreaseCommand(code: string, region: string, vcpus = 8): string {
  return `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${code} --desired-value ${vcpus} --region ${region}`
}

export type LaunchErrorKind =
  /** no capacity for this type in this zone now: try the next candidate */
  | 'capacity'
  /** spot price above max_price: next candidate */
  | 'price'
  /** spot vCPU quota of this family's group: skip its other spot candidates */
  | 'spot-quota'
  /** on-demand vCPU quota of this family's group: skip its other on-demand candidates */
  | 'on-demand-quota'
  /** the type is not offered in this zone, or not with this AMI/market: next candidate */
  | 'unsupported'
  /** throttling / 5xx / network: back off and retry the same candidate */
  | 'retry'
  /** the AWS credentials expired: stop with a clear message */
  | 'expired-credentials'
  /** permissions, bad parameters, bad AMI/subnet, no default VPC: stop at once, every candidate would fail the same way */
  | 'configuration'
  /** anything else: record it and try the next candidate */
  | 'other'

export interface LaunchErrorClass {
  kind: LaunchErrorKind
  code: string
  message: string
}

export function classifyLaunchError(err: unknown): LaunchErrorClass {
  const code = errorCode(err)
  const message = errorMessage(err)
  const k = (kind: LaunchErrorKind): LaunchErrorClass => ({ kind, code, message })
  if (CAPACITY.has(code)) return k('capacity')
  if (code === 'SpotMaxPriceTooLow') return k('price')
  if (code === 'MaxSpotInstanceCountExceeded') return k('spot-quota')
  if (code === 'VcpuLimitExceeded' || code === 'InstanceLimitExceeded') return k('on-demand-quota')
  if (code === 'Unsupported' || code === 'UnsupportedOperation' || code === 'InvalidInstanceType') return k('unsupported')
  if (EXPIRED.has(code)) return k('expired-credentials')
  if (isRetryable(err)) return k('retry')
  if (CONFIGURATION.has(code) || FATAL.has(code) || /^Invalid[A-Za-z]*(\.|$)/.test(code) || code.startsWith('Unauthorized')) return k('configuration')
  return k('other')
}

/** errors of the account or the network setup that no other candidate avoids (besides FATAL) */
const CONFIGURATION = new Set(['VPCIdNotSpecified', 'InsufficientFreeAddressesInSubnet', 'VolumeLimitExceeded', 'MaxIOPSLimitExceeded', 'AddressLimitExceeded', 'NetworkInterfaceLimitExceeded'])

/** Service Quotas console page of an EC2 quota, in its region */
export function quotaConsoleUrl(code: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/${code}`
}

/** Pure: what to change for a configuration error of RunInstances, in the words of our inputs. */
export function configurationFix(code: string, region: string): string {
  if (code === 'VPCIdNotSpecified') return `${region} has no default VPC: set \`subnet-ids\` to subnets with outbound HTTPS (NAT or VPC endpoints for ssm, ssmmessages, ec2messages, s3), or create a default VPC (aws ec2 create-default-vpc --region ${region})`
  if (code === 'InsufficientFreeAddressesInSubnet') return 'the subnet has no free IP address left: add other subnets to `subnet-ids`, or free addresses in it'
  if (code === 'VolumeLimitExceeded') return `the EBS storage quota of ${region} is used up: delete unused volumes or raise "Storage for General Purpose SSD (gp3) volumes" (Service Quotas, service ebs), or ask for less disk`
  if (code === 'InvalidGroup.NotFound' || code === 'InvalidGroupId.Malformed') return `a security group in \`security-group-ids\` does not exist in ${region} (security groups belong to one region and one VPC)`
  if (code.startsWith('InvalidSubnetID')) return `a subnet in \`subnet-ids\` does not exist in ${region}`
  if (code.startsWith('InvalidKeyPair')) return `the key pair does not exist in ${region} (key pairs belong to one region)`
  if (code.startsWith('InvalidAMIID')) return `the AMI does not exist in ${region} or is not shared with this account: check \`ami\` (AMI ids belong to one region; an SSM parameter name works in every region)`
  if (code === 'InvalidParameterValue' || code === 'InvalidParameterCombination') return 'check `ami` (its architecture must match the instance type), `instance-profile`, `subnet-ids` and `security-group-ids` (same VPC)'
  if (code === 'UnauthorizedOperation' || code === 'AccessDenied' || code === 'AccessDeniedException') return "the CI role lacks a permission: compare it with examples/iam/ci-role-policy.json (ec2:RunInstances, ec2:CreateTags, iam:PassRole on the instance role); `dstack-run check --backend aws` lists what is missing"
  if (code === 'OptInRequired' || code === 'PendingVerification' || code === 'Blocked') return `the account cannot launch in ${region} yet (${code}): opt in to the region, or wait for the account verification`
  return 'check the CI role\'s permissions (examples/iam/ci-role-policy.json), the AMI, subnets, security groups and instance profile'
}
