/**
 * What a multi-node attempt creates besides its instances, and deletes again: a cluster placement
 * group per zone tried, and (unless the user names one) a security group that lets the nodes reach
 * each other on every port — ingress and egress from and to itself, as EFA requires — while the
 * default egress rule keeps the way out to SSM and S3. Both carry the attempt's tags; both can be
 * deleted only once every instance in them is terminated, so deletion waits for that first.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreatePlacementGroupCommand,
  CreateSecurityGroupCommand,
  DeletePlacementGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type EC2Client
} from '@aws-sdk/client-ec2'
import { UserError } from '../../model/index.js'
import { errorCode, errorMessage, isRetryable } from './errors.js'

type Tags = { Key: string; Value: string }[]

/** Creates the attempt's cluster placement group; one left by an earlier try of the same attempt is reused. */
export async function createPlacementGroup(ec2: EC2Client, name: string, tags: Tags): Promise<void> {
  try {
    await ec2.send(new CreatePlacementGroupCommand({ GroupName: name, Strategy: 'cluster', TagSpecifications: [{ ResourceType: 'placement-group', Tags: tags }] }))
  } catch (e) {
    if (errorCode(e) !== 'InvalidPlacementGroup.Duplicate') throw e
  }
}

/** the VPC of a subnet (a security group belongs to one VPC); undefined: the region's default VPC */
export async function vpcOfSubnet(ec2: EC2Client, subnetId: string | undefined): Promise<string | undefined> {
  if (!subnetId) return undefined
  const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))
  return out.Subnets?.[0]?.VpcId
}

/**
 * Creates the attempt's security group in the VPC (default VPC when undefined) and allows all
 * traffic from and to itself. A group of the same name (an earlier try of this attempt) is reused.
 */
export async function createClusterSecurityGroup(ec2: EC2Client, g: { name: string; vpcId?: string; description: string; tags: Tags }): Promise<string> {
  let id: string | undefined
  try {
    const out = await ec2.send(new CreateSecurityGroupCommand({ GroupName: g.name, Description: g.description.replace(/[^\x20-\x7e]/g, '?').slice(0, 255), ...(g.vpcId ? { VpcId: g.vpcId } : {}), TagSpecifications: [{ ResourceType: 'security-group', Tags: g.tags }] }))
    id = out.GroupId
  } catch (e) {
    if (errorCode(e) !== 'InvalidGroup.Duplicate') throw e
    const found = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [g.name] }, ...(g.vpcId ? [{ Name: 'vpc-id', Values: [g.vpcId] }] : [])] }))
    id = found.SecurityGroups?.[0]?.GroupId
  }
  if (!id) throw new Error(`CreateSecurityGroup returned no group id for ${g.name}`)
  const self = [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: id, Description: 'dstack: the nodes of one run' }] }]
  try {
    // both rules at once: neither waits for the other
    const rules = await Promise.allSettled([
      allowOnce(() => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: self }))),
      allowOnce(() => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: self })))
    ])
    for (const rule of rules) if (rule.status === 'rejected') throw rule.reason
  } catch (e) {
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })).catch(() => undefined)
    throw e
  }
  return id
}

async function allowOnce(f: () => Promise<unknown>): Promise<void> {
  try {
    await f()
  } catch (e) {
    if (errorCode(e) !== 'InvalidPermission.Duplicate') throw e
  }
}

export interface DeleteDeps {
  sleep: (ms: number) => Promise<void>
  now: () => number
  /** how long to keep trying while EC2 still counts the group as used (terminated instances release it late) */
  timeoutMs: number
}

/**
 * Waits until the instances are terminated (or unknown to EC2), so their groups can be deleted.
 * Not the SDK's `waitUntilInstanceTerminated`: it retries on every error, expired credentials
 * included, on the real clock; this loop rethrows what is not throttling and uses the backend's clock.
 */
export async function waitTerminated(ids: string[], describe: (ids: string[]) => Promise<Map<string, { state: string }>>, d: DeleteDeps): Promise<void> {
  if (ids.length === 0) return
  const until = d.now() + d.timeoutMs
  for (let i = 0; ; i++) {
    try {
      const states = await describe(ids)
      if ([...states.values()].every((s) => s.state === 'terminated' || s.state === 'missing')) return
    } catch (e) {
      if (!isRetryable(e)) throw e
    }
    if (d.now() >= until) throw new Error(`the instances ${ids.join(', ')} were not terminated within ${Math.round(d.timeoutMs / 1000)} s`)
    await d.sleep(Math.min(5000 * (i + 1), 15_000))
  }
}

/** delete, retrying while EC2 says the group is still in use; gone already is fine */
async function deleteWhileInUse(what: string, del: () => Promise<unknown>, inUse: string[], gone: string[], d: DeleteDeps): Promise<void> {
  const until = d.now() + d.timeoutMs
  for (let i = 0; ; i++) {
    try {
      await del()
      return
    } catch (e) {
      const code = errorCode(e)
      if (gone.includes(code)) return
      if (!inUse.includes(code) || d.now() >= until) throw Object.assign(new Error(`could not delete ${what}: ${code}: ${(e as Error).message}`), { name: code })
      await d.sleep(Math.min(5000 * (i + 1), 20_000))
    }
  }
}

export function deletePlacementGroup(ec2: EC2Client, name: string, d: DeleteDeps): Promise<void> {
  return deleteWhileInUse(`placement group ${name}`, () => ec2.send(new DeletePlacementGroupCommand({ GroupName: name })), ['InvalidPlacementGroup.InUse'], ['InvalidPlacementGroup.Unknown'], d)
}

export function deleteSecurityGroup(ec2: EC2Client, id: string, d: DeleteDeps): Promise<void> {
  return deleteWhileInUse(`security group ${id}`, () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })), ['DependencyViolation'], ['InvalidGroup.NotFound'], d)
}

/** Pure: a failure to create the cluster's groups, in the words of what to change (other errors as they are) */
export function clusterNetworkError(e: unknown, what: string, region: string): unknown {
  const code = errorCode(e)
  if (/^(UnauthorizedOperation|AccessDenied|AccessDeniedException)$/.test(code)) {
    return new UserError(`${what} failed: ${code}: ${errorMessage(e)}`, 'the CI role lacks a multi-node permission: compare it with the MultiNode* statements of examples/iam/ci-role-policy.json (ec2:CreatePlacementGroup, ec2:CreateSecurityGroup, ec2:AuthorizeSecurityGroupIngress/Egress with the dstack:run tag)')
  }
  if (/LimitExceeded$/.test(code)) {
    return new UserError(`${what} failed: ${code}: ${errorMessage(e)}`, `the account's limit of placement groups or security groups in ${region} is reached: delete unused ones (cleanup mode deletes expired dstack ones), or name a security group with DSTACK_AWS_CLUSTER_SECURITY_GROUP`)
  }
  if (code === 'InvalidVpcID.NotFound' || code === 'VPCIdNotSpecified') {
    return new UserError(`${what} failed: ${code}: ${errorMessage(e)}`, `${region} has no default VPC: set \`subnet-ids\`, or create a default VPC (aws ec2 create-default-vpc --region ${region})`)
  }
  return e
}
