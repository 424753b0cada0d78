/**
 * Preflight: what a first run on a new account trips over, checked in seconds before anything is
 * launched (and by `dstack-run check --backend aws` / `mode: check`). Each check is one row with
 * what it found and, when it fails, what to change. A check the CI role may not perform (an older
 * policy without the read permission) is a warning, never a failure.
 */
import { DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { GetInstanceProfileCommand, GetRoleCommand, SimulatePrincipalPolicyCommand, type ContextEntry, type IAMClient } from '@aws-sdk/client-iam'
import { GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import { randomUUID } from 'node:crypto'
import type { ObjectStore } from '../../store/index.js'
import type { Candidate } from './candidates.js'
import type { ClusterCandidate } from './cluster-plan.js'
import type { CheckRow } from './check-rows.js'
import { errorCode, errorMessage, quotaConsoleUrl, quotaFor } from './errors.js'

export type { CheckRow, CheckStatus } from './check-rows.js'
export { formatRows } from './check-rows.js'

const DENIED = /AccessDenied|UnauthorizedOperation|NotAuthorized/

function denied(check: string, e: unknown, permission: string): CheckRow {
  return { check, status: 'warn', detail: `not verified: ${errorCode(e)}`, fix: `allow ${permission} to the CI role to have this checked (examples/iam/ci-role-policy.json)` }
}

/**
 * A check that failed for a reason other than what it checks (a simulator error, a throttled or
 * unknown call…): a warning row, never a stack trace; the run goes on and the launch itself says
 * what is wrong if something is.
 */
export function couldNotCheck(check: string, e: unknown, fix: string): CheckRow {
  // an emulator's or proxy's error can be a whole HTML page: its first line, bounded
  const why = `${errorCode(e)}: ${errorMessage(e)}`.split('\n')[0]!.slice(0, 200)
  return { check, status: 'warn', detail: `could not check: ${why} (${fix})` }
}

/** the context real AWS gives iam:PassRole when RunInstances passes an instance profile's role */
export const PASSED_TO_EC2: ContextEntry[] = [{ ContextKeyName: 'iam:PassedToService', ContextKeyValues: ['ec2.amazonaws.com'], ContextKeyType: 'string' }]

/** credentials and region: whose they are (GetCallerIdentity needs no permission) */
export async function checkCredentials(sts: STSClient, region: string): Promise<{ row: CheckRow; arn?: string; account?: string }> {
  try {
    const me = await sts.send(new GetCallerIdentityCommand({}))
    return { row: { check: 'credentials', status: 'ok', detail: `${me.Arn ?? '?'} (account ${me.Account ?? '?'}) in ${region}` }, arn: me.Arn, account: me.Account }
  } catch (e) {
    return {
      row: {
        check: 'credentials',
        status: 'fail',
        detail: `${errorCode(e)}: ${errorMessage(e)}`,
        fix: 'configure AWS credentials for the job (aws-actions/configure-aws-credentials with role-to-assume and permissions: id-token: write), and a region (the `region` input, `--aws-region` for the CLI, or AWS_REGION)'
      }
    }
  }
}

/**
 * Pure: `arn:aws:sts::123:assumed-role/Name/session` → `arn:aws:iam::123:role/Name`, a guess at what
 * IAM simulates: an assumed-role ARN does not carry the role's path. IAM Identity Center (SSO) roles
 * (`AWSReservedSSO_…`) live under `/aws-reserved/sso.amazonaws.com/`; other paths need iam:GetRole
 * (roleArnOf).
 */
export function principalArn(callerArn: string): string {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(callerArn)
  if (!m) return callerArn
  const path = m[3]!.startsWith('AWSReservedSSO_') ? 'aws-reserved/sso.amazonaws.com/' : ''
  return `arn:${m[1]}:iam::${m[2]}:role/${path}${m[3]}`
}

/** the role name of an assumed-role ARN, or undefined for another principal */
export function assumedRoleName(callerArn: string): string | undefined {
  return /^arn:[^:]+:sts::\d+:assumed-role\/([^/]+)\/.+$/.exec(callerArn)?.[1]
}

/** the CI principal's real ARN (with the role's path, from iam:GetRole); the guess of principalArn when GetRole is not allowed */
export async function roleArnOf(iam: IAMClient, callerArn: string): Promise<string> {
  const name = assumedRoleName(callerArn)
  if (!name) return callerArn
  try {
    const out = await iam.send(new GetRoleCommand({ RoleName: name }))
    return out.Role?.Arn ?? principalArn(callerArn)
  } catch {
    return principalArn(callerArn)
  }
}

/**
 * The instance profile exists, has a role, and the CI principal may pass that role; returns the
 * role it found (for checkInstanceRole).
 */
export async function checkInstanceProfile(iam: IAMClient, profile: string | undefined, callerArn: string | undefined | Promise<string | undefined>): Promise<{ rows: CheckRow[]; roleArn?: string }> {
  const check = 'instance profile'
  if (!profile) {
    return { rows: [{ check, status: 'warn', detail: 'none given', fix: 'set `instance-profile` to a profile whose role has AmazonSSMManagedInstanceCore and access to the store (examples/iam/instance-role-policy.json); without one the instance cannot register with SSM unless Default Host Management is set up' }] }
  }
  // the caller's role (iam:GetRole) does not wait for the profile's: both are on the way to the simulation
  const principalOf = Promise.resolve(callerArn).then((arn) => (arn ? roleArnOf(iam, arn) : undefined))
  principalOf.catch(() => undefined) // awaited below, when the profile has a role
  const name = profile.startsWith('arn:') ? profile.split('/').pop()! : profile
  let roleArn: string | undefined
  try {
    const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }))
    roleArn = out.InstanceProfile?.Roles?.[0]?.Arn
    if (!roleArn) return { rows: [{ check, status: 'fail', detail: `${name} has no role`, fix: `add the instance role to it: aws iam add-role-to-instance-profile --instance-profile-name ${name} --role-name <role>` }] }
  } catch (e) {
    if (errorCode(e) === 'NoSuchEntity' || errorCode(e) === 'NoSuchEntityException') return { rows: [{ check, status: 'fail', detail: `${name} does not exist`, fix: `create it: aws iam create-instance-profile --instance-profile-name ${name}, then add the instance role (examples/iam/README.md)` }] }
    if (DENIED.test(errorCode(e))) return { rows: [denied(check, e, 'iam:GetInstanceProfile')] }
    return { rows: [couldNotCheck(check, e, `check that the instance profile ${name} exists: aws iam get-instance-profile --instance-profile-name ${name}`)] }
  }
  const rows: CheckRow[] = [{ check, status: 'ok', detail: `${name} → ${roleArn}` }]
  const passCheck = 'pass the instance role'
  try {
    const principal = await principalOf
    if (!principal) return { rows, roleArn }
    // RunInstances passes the role to EC2: real AWS evaluates PassRole with iam:PassedToService
    const sim = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: principal, ActionNames: ['iam:PassRole'], ResourceArns: [roleArn], ContextEntries: PASSED_TO_EC2 }))
    const decision = sim.EvaluationResults?.[0]?.EvalDecision ?? 'unknown'
    rows.push(decision === 'allowed'
      ? { check: passCheck, status: 'ok', detail: `iam:PassRole on ${roleArn} to ec2.amazonaws.com is allowed for ${principal}` }
      : { check: passCheck, status: 'fail', detail: `iam:PassRole on ${roleArn} to ec2.amazonaws.com: ${decision} for ${principal}`, fix: `allow iam:PassRole on ${roleArn} (condition iam:PassedToService = ec2.amazonaws.com) to the CI role` })
  } catch (e) {
    if (DENIED.test(errorCode(e))) rows.push(denied(passCheck, e, 'iam:SimulatePrincipalPolicy (and iam:GetRole on the CI role)'))
    else rows.push(couldNotCheck(passCheck, e, 'the IAM policy simulator could not evaluate the CI role; the launch will say whether PassRole is allowed'))
  }
  return { rows, roleArn }
}

export interface NetworkInput {
  subnetIds: string[]
  securityGroupIds: string[]
  keyName?: string
}

/** subnets, security groups and key pair exist in this region; a default VPC when no subnets are given */
export async function checkNetwork(ec2: EC2Client, region: string, n: NetworkInput): Promise<CheckRow[]> {
  const rows: CheckRow[] = []
  const missing = (what: string, e: unknown, fix: string): CheckRow => ({ check: `${what} in ${region}`, status: 'fail', detail: `${errorCode(e)}: ${errorMessage(e)}`, fix })
  if (n.subnetIds.length) {
    try {
      const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: n.subnetIds }))
      rows.push({ check: `subnets in ${region}`, status: 'ok', detail: (out.Subnets ?? []).map((s) => `${s.SubnetId} (${s.AvailabilityZone}, ${s.AvailableIpAddressCount ?? '?'} free addresses)`).join(', ') })
    } catch (e) {
      if (DENIED.test(errorCode(e))) rows.push(denied(`subnets in ${region}`, e, 'ec2:DescribeSubnets'))
      else rows.push(missing('subnets', e, `\`subnet-ids\` must name subnets of ${region}`))
    }
  } else {
    try {
      const out = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))
      const vpc = out.Vpcs?.[0]?.VpcId
      rows.push(vpc
        ? { check: `default VPC in ${region}`, status: 'ok', detail: vpc }
        : { check: `default VPC in ${region}`, status: 'fail', detail: 'this region has no default VPC, and no subnets were given', fix: `set \`subnet-ids\` to subnets of ${region} with outbound HTTPS, or create a default VPC: aws ec2 create-default-vpc --region ${region}` })
    } catch (e) {
      if (DENIED.test(errorCode(e))) rows.push(denied(`default VPC in ${region}`, e, 'ec2:DescribeVpcs'))
      else rows.push(couldNotCheck(`default VPC in ${region}`, e, `is ${region} enabled for this account? aws ec2 describe-vpcs --region ${region}`))
    }
  }
  if (n.securityGroupIds.length) {
    try {
      await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: n.securityGroupIds }))
      rows.push({ check: `security groups in ${region}`, status: 'ok', detail: n.securityGroupIds.join(', ') })
    } catch (e) {
      if (DENIED.test(errorCode(e))) rows.push(denied(`security groups in ${region}`, e, 'ec2:DescribeSecurityGroups'))
      else rows.push(missing('security groups', e, `security groups belong to one region: give ${region}'s own in \`security-group-ids\`, or launch in one region only`))
    }
  }
  if (n.keyName) {
    try {
      await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [n.keyName] }))
      rows.push({ check: `key pair in ${region}`, status: 'ok', detail: n.keyName })
    } catch (e) {
      if (DENIED.test(errorCode(e))) rows.push(denied(`key pair in ${region}`, e, 'ec2:DescribeKeyPairs'))
      else rows.push(missing('key pair', e, `key pairs belong to one region: import ${n.keyName} into ${region}, or launch in one region only`))
    }
  }
  return rows
}

/** group + market of a candidate → its Service Quotas code */
function quotaCode(c: Candidate): { code: string; name: string } | undefined {
  const q = quotaFor(c.instanceType)
  return c.market === 'spot' ? q.spot : q.onDemand
}

/** a quota that could not be read: not allowed, not there (a region without it), or another error */
interface QuotaWanted {
  region: string
  market: string
  quota: { code: string; name: string }
  /** the fewest vCPUs a candidate under this quota needs, and that in words */
  smallest: number
  needs: string
}

/** each quota read from Service Quotas at once (one round trip for all), one row each in `wanted`'s order; a quota that cannot be read has no limit */
async function readQuotas(quotas: (region: string) => ServiceQuotasClient, wanted: Map<string, QuotaWanted>): Promise<{ rows: CheckRow[]; limits: Map<string, number | undefined> }> {
  const read = await Promise.all([...wanted].map(async ([key, w]) => {
    const check = `${w.market} vCPU quota in ${w.region}`
    const q = w.quota
    try {
      const out = await quotas(w.region).send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: q.code }))
      const value = out.Quota?.Value
      const row: CheckRow = value === undefined
        ? { check, status: 'warn', detail: `${q.name} (${q.code}): no value` }
        : value < w.smallest
          ? { check, status: 'fail', detail: `${q.name} (${q.code}) is ${value} vCPUs; ${w.needs}`, fix: `request at least ${w.smallest}: ${quotaConsoleUrl(q.code, w.region)}` }
          : { check, status: 'ok', detail: `${q.name} (${q.code}) is ${value} vCPUs` }
      return { key, value, row }
    } catch (e) {
      return { key, value: undefined, row: quotaErrorRow(check, q, w.region, e) }
    }
  }))
  return { rows: read.map((r) => r.row), limits: new Map(read.map((r) => [r.key, r.value])) }
}

function quotaErrorRow(check: string, q: { code: string; name: string }, region: string, e: unknown): CheckRow {
  if (DENIED.test(errorCode(e))) return denied(check, e, 'servicequotas:GetServiceQuota')
  if (errorCode(e) === 'NoSuchResourceException') {
    return { check, status: 'warn', detail: `${q.name} (${q.code}) is not a quota of ${region} (Service Quotas has no such quota there): not checked`, fix: `see the EC2 quotas of ${region}: ${quotaConsoleUrl(q.code, region)}` }
  }
  return couldNotCheck(check, e, `read it yourself: aws service-quotas get-service-quota --service-code ec2 --quota-code ${q.code} --region ${region}`)
}

/**
 * The vCPU quotas the candidates fall under (one per group and market and region), read from
 * Service Quotas; candidates with more vCPUs than their quota are dropped. A quota that cannot be
 * read keeps its candidates (the launch then says what failed).
 */
export async function checkQuotas(quotas: (region: string) => ServiceQuotasClient, candidates: Candidate[]): Promise<{ rows: CheckRow[]; kept: Candidate[] }> {
  const wanted = new Map<string, QuotaWanted>()
  for (const c of candidates) {
    const q = quotaCode(c)
    if (!q) continue
    const key = `${c.region}|${q.code}`
    if (wanted.has(key)) continue
    const smallest = Math.min(...candidates.filter((x) => x.region === c.region && quotaCode(x)?.code === q.code).map((x) => x.vcpus))
    wanted.set(key, { region: c.region, market: c.market, quota: q, smallest, needs: `the smallest matching type needs ${smallest}` })
  }
  const { rows, limits } = await readQuotas(quotas, wanted)
  const kept = candidates.filter((c) => {
    const q = quotaCode(c)
    const limit = q ? limits.get(`${c.region}|${q.code}`) : undefined
    return limit === undefined || c.vcpus <= limit
  })
  return { rows, kept }
}

/**
 * What the instance itself will need, from its role's own policies (IAM simulation): read and
 * write the store under its prefix, and register with SSM. A warning, not a failure: a bucket
 * policy or KMS key policy can grant or deny what the simulation cannot see.
 */
export async function checkInstanceRole(iam: IAMClient, roleArn: string, bucket: string, prefix: string): Promise<CheckRow> {
  const check = 'instance role'
  const { read, write } = instanceRoleProbeKeys(bucket, prefix)
  try {
    const s3 = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: ['s3:GetObject'], ResourceArns: [read] }))
    const put = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: ['s3:PutObject', 's3:DeleteObject'], ResourceArns: [write] }))
    const ssm = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: ['ssm:UpdateInstanceInformation'] }))
    const denied = [...(s3.EvaluationResults ?? []), ...(put.EvaluationResults ?? []), ...(ssm.EvaluationResults ?? [])].filter((r) => r.EvalDecision !== 'allowed').map((r) => `${r.EvalActionName} (${r.EvalDecision})`)
    const where = `s3://${bucket}/${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}`
    if (denied.length === 0) return { check, status: 'ok', detail: `${roleArn} may read ${where}, write and delete under its runs/ folders, and register with SSM` }
    return {
      check,
      status: 'warn',
      detail: `${roleArn} is not allowed ${denied.join(', ')} by its own policies (checked on ${read.replace(/^arn:aws:s3:::/, 's3://')} and ${write.replace(/^arn:aws:s3:::/, 's3://')})`,
      fix: 'attach AmazonSSMManagedInstanceCore and examples/iam/instance-role-policy.json (with your bucket and prefix) to the instance role; without them the bootstrap cannot fetch the runner or the instance never comes Online (a bucket or KMS key policy may still grant it)'
    }
  } catch (e) {
    if (DENIED.test(errorCode(e))) return denied(check, e, 'iam:SimulatePrincipalPolicy on the instance role')
    return couldNotCheck(check, e, 'the IAM policy simulator could not evaluate the instance role; see examples/iam/instance-role-policy.json for what it needs')
  }
}

/**
 * Pure: keys like the ones the instance really reads and writes (the runner script and a status
 * file of an attempt: `<prefix>/<repo>/runs/<run>/attempts/<n>/…`), as S3 object ARNs. A simulation
 * on `<prefix>/*` would not match a policy that grants only the runs/ folders, as the example does.
 */
export function instanceRoleProbeKeys(bucket: string, prefix: string): { read: string; write: string } {
  const base = `arn:aws:s3:::${bucket}/${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}dstack-check/repo/runs/check-run/attempts/1/`
  return { read: `${base}runner.sh`, write: `${base}status.json` }
}

/** the store is reachable and writable under its prefix: put, read back and delete a small object */
export async function checkBucket(store: ObjectStore, where: string): Promise<CheckRow> {
  const key = `.dstack-check/${randomUUID()}`
  try {
    await store.put(key, 'dstack-run check\n', { contentType: 'text/plain' })
    const back = await store.getText(key)
    await store.delete(key)
    if (back !== 'dstack-run check\n') return { check: 'store', status: 'fail', detail: `${where}: wrote an object but read back something else`, fix: 'check the bucket policy and any object lambda or lifecycle rule on the prefix' }
    return { check: 'store', status: 'ok', detail: `${where} is writable` }
  } catch (e) {
    return {
      check: 'store',
      status: 'fail',
      detail: `${where}: ${errorCode(e)}: ${errorMessage(e)}`,
      fix: 'the CI role and the instance role need s3:GetObject, s3:PutObject, s3:DeleteObject on the prefix and s3:ListBucket on the bucket (examples/iam/); a bucket encrypted with a customer KMS key also needs kms:GenerateDataKey and kms:Decrypt; check the bucket name and region'
    }
  }
}

/** Pure: the vCPUs a cluster needs per quota (`<region>|<code>`): every node counts */
export function clusterQuotaNeeds(c: ClusterCandidate): Map<string, { need: number; quota: { code: string; name: string } }> {
  const out = new Map<string, { need: number; quota: { code: string; name: string } }>()
  for (const m of c.members) {
    const q = quotaCode(m.candidate)
    if (!q) continue
    const key = `${c.region}|${q.code}`
    out.set(key, { need: (out.get(key)?.need ?? 0) + m.candidate.vcpus * m.group.nodes, quota: q })
  }
  return out
}

/**
 * The vCPU quotas of multi-node candidates: a cluster of N nodes needs N × the vCPUs of its type
 * (summed over its node groups when they share a quota). Clusters above a quota are dropped; a
 * quota that cannot be read keeps them (the launch then says what failed).
 */
export async function checkClusterQuotas(quotas: (region: string) => ServiceQuotasClient, clusters: ClusterCandidate[]): Promise<{ rows: CheckRow[]; kept: ClusterCandidate[] }> {
  const wanted = new Map<string, QuotaWanted>()
  const needs = clusters.map((c) => clusterQuotaNeeds(c))
  for (const [i, c] of clusters.entries()) {
    for (const [key, { quota }] of needs[i]!) {
      if (wanted.has(key)) continue
      const smallest = Math.min(...needs.map((n) => n.get(key)?.need ?? Infinity))
      wanted.set(key, { region: c.region, market: c.market, quota, smallest, needs: `the smallest matching cluster needs ${smallest} (${c.nodes} nodes)` })
    }
  }
  const { rows, limits } = await readQuotas(quotas, wanted)
  const kept = clusters.filter((_, i) => [...needs[i]!].every(([key, { need }]) => {
    const limit = limits.get(key)
    return limit === undefined || need <= limit
  }))
  return { rows, kept }
}
