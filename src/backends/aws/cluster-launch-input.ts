/**
 * Pure: the RunInstances input of one node group of a cluster: `MinCount = MaxCount = nodes`
 * (all or nothing), in the attempt's cluster placement group and zone, with the cluster's
 * security group, and EFA network interfaces when the type has them.
 *
 * EFA (`efa` option, default `auto`, like dstack: "EFA is automatically enabled when using
 * supported instance types"): `auto` gives an EFA-capable type one EFA interface (`InterfaceType:
 * efa`, the primary interface, so the instance keeps its public address in a public subnet);
 * `all` gives it every EFA interface it can have (card 0 `efa`, the other cards `efa-only`), which
 * AWS allows only without a public address: it needs `subnet-ids` of private subnets with a NAT
 * gateway or VPC endpoints; `off` never attaches EFA.
 */
import { createHash } from 'node:crypto'
import type { InstanceNetworkInterfaceSpecification, RunInstancesCommandInput } from '@aws-sdk/client-ec2'
import type { Candidate } from './candidates.js'
import { runInstancesInput, type LaunchContext } from './launch-input.js'

export type EfaMode = 'auto' | 'all' | 'off'
export const EFA_MODES: readonly EfaMode[] = ['auto', 'all', 'off']

/** tags a cluster's instances carry besides the usual ones (the post step finds the cluster's resources by them) */
export const CLUSTER_TAG = { nodes: 'dstack:nodes', placementGroup: 'dstack:placement-group', securityGroup: 'dstack:security-group', group: 'dstack:node-group' } as const

export interface ClusterNetwork {
  placementGroup: string
  /** the security groups of every node (the cluster's own, or the one the user named, plus `security-group-ids`) */
  securityGroupIds: string[]
  /** the security group this attempt created (tagged on the instances so the post step can delete it) */
  createdSecurityGroup?: string
  efa: EfaMode
}

/** Pure: how many EFA interfaces a node of this candidate gets */
export function efaInterfaceCount(mode: EfaMode, c: Pick<Candidate, 'efaInterfaces'>): number {
  if (mode === 'off' || !c.efaInterfaces) return 0
  return mode === 'all' ? c.efaInterfaces : 1
}

/** Pure: the NetworkInterfaces of a node with `count` EFA interfaces (one per network card) */
export function efaNetworkInterfaces(count: number, subnetId: string | undefined, groups: string[], publicIp?: boolean): InstanceNetworkInterfaceSpecification[] {
  const common = { ...(subnetId ? { SubnetId: subnetId } : {}), Groups: groups, DeleteOnTermination: true }
  const out: InstanceNetworkInterfaceSpecification[] = [{ DeviceIndex: 0, NetworkCardIndex: 0, InterfaceType: 'efa', ...(publicIp === false ? { AssociatePublicIpAddress: false } : {}), ...common }]
  // the other network cards: EFA-only interfaces (device index 0 of their card), kept for GPU-to-GPU traffic
  for (let card = 1; card < count; card++) out.push({ DeviceIndex: 0, NetworkCardIndex: card, InterfaceType: 'efa-only', ...common })
  return out
}

/** ≤ 64 ASCII chars, unique per (attempt, group, slot, placement group): a retried call cannot launch the group twice */
export function clusterClientToken(ctx: Pick<LaunchContext, 'repoId' | 'runName' | 'attempt'>, c: Candidate, groupIndex: number, count: number, placementGroup: string): string {
  const h = createHash('sha256').update([ctx.repoId, ctx.runName, ctx.attempt, 'cluster', groupIndex, count, placementGroup, c.region, c.instanceType, c.zone, c.subnetId ?? '', c.market].join('|')).digest('hex')
  return `dstack-${h.slice(0, 48)}`
}

export interface GroupLaunch {
  candidate: Candidate
  count: number
  groupIndex: number
  /** `groups[].name`, tagged on its instances */
  groupName?: string
  /** total nodes of the cluster */
  nodes: number
}

export function clusterRunInstancesInput(ctx: LaunchContext, g: GroupLaunch, net: ClusterNetwork): RunInstancesCommandInput {
  const tags: Record<string, string> = {
    ...ctx.tags,
    [CLUSTER_TAG.nodes]: String(g.nodes),
    [CLUSTER_TAG.placementGroup]: net.placementGroup,
    ...(net.createdSecurityGroup ? { [CLUSTER_TAG.securityGroup]: net.createdSecurityGroup } : {}),
    ...(g.groupName ? { [CLUSTER_TAG.group]: g.groupName } : {})
  }
  const base = runInstancesInput({ ...ctx, tags, securityGroupIds: net.securityGroupIds }, g.candidate)
  const { SubnetId: _subnet, SecurityGroupIds, Placement: _placement, NetworkInterfaces: plain, ...rest } = base
  const SubnetId = g.candidate.subnetId
  const efa = efaInterfaceCount(net.efa, g.candidate)
  return {
    ...rest,
    MinCount: g.count,
    MaxCount: g.count,
    ClientToken: clusterClientToken(ctx, g.candidate, g.groupIndex, g.count, net.placementGroup),
    Placement: { AvailabilityZone: g.candidate.zone, GroupName: net.placementGroup },
    // with NetworkInterfaces, the subnet and security groups belong to the interfaces
    ...(efa > 0 ? { NetworkInterfaces: efaNetworkInterfaces(efa, SubnetId, net.securityGroupIds, ctx.publicIp) } : plain ? { NetworkInterfaces: plain } : { ...(SubnetId ? { SubnetId } : {}), ...(SecurityGroupIds ? { SecurityGroupIds } : {}) })
  }
}

/**
 * `dstack-<run>-<attempt>-<zone>-<hash of repo>`: the attempt's cluster placement group in one zone
 * (names are unique per account and region, and two repositories may have runs of the same name)
 */
export function placementGroupName(repoId: string, runName: string, attempt: number, zone: string): string {
  const h = createHash('sha256').update(repoId).digest('hex').slice(0, 8)
  return `dstack-${runName}-${attempt}-${zone}-${h}`.slice(0, 255)
}

/** `dstack-<run>-<attempt>-<hash of repo, region, vpc>`: the attempt's own security group */
export function securityGroupName(repoId: string, runName: string, attempt: number, region: string, vpcId: string | undefined): string {
  const h = createHash('sha256').update([repoId, region, vpcId ?? 'default'].join('|')).digest('hex').slice(0, 8)
  return `dstack-${runName}-${attempt}-${h}`.slice(0, 255)
}
