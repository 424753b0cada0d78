/**
 * The post step's release of a multi-node attempt, from one recorded node: every instance of the
 * attempt (found by its tags), then every placement group and security group the attempt created
 * (found by the same tags), then the nodes' secret env parameters. Whatever the main step managed
 * to record, nothing of the attempt is left.
 */
import { DescribeInstancesCommand, DescribePlacementGroupsCommand, DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2'
import type { SSMClient } from '@aws-sdk/client-ssm'
import { nodeSecretParameterName, secretParameterName } from './bootstrap.js'
import { releaseCluster } from './cluster-handle.js'
import { CLUSTER_TAG } from './cluster-launch-input.js'
import { TAG } from './launch-input.js'

/** Pure: the EC2 filters that find what one attempt created */
export function attemptFilters(tags: Record<string, string>): { Name: string; Values: string[] }[] | undefined {
  const run = tags[TAG.run]
  const repo = tags[TAG.repo]
  const attempt = tags[TAG.attempt]
  if (!run || !repo || !attempt) return undefined
  return [
    { Name: `tag:${TAG.run}`, Values: [run] },
    { Name: `tag:${TAG.repo}`, Values: [repo] },
    { Name: `tag:${TAG.attempt}`, Values: [attempt] }
  ]
}

export function isClusterNode(tags: Record<string, string>): boolean {
  return Boolean(tags[CLUSTER_TAG.placementGroup])
}

export async function releaseRecordedCluster(region: string, ec2: EC2Client, ssm: SSMClient, tags: Record<string, string>, d: { now: () => number; sleep: (ms: number) => Promise<void>; log: (l: string) => void }): Promise<void> {
  const filters = attemptFilters(tags)
  if (!filters) return
  const instanceIds: string[] = []
  const live = { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }
  let token: string | undefined
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [...filters, live], MaxResults: 1000, ...(token ? { NextToken: token } : {}) }))
    token = page.NextToken
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) instanceIds.push(i.InstanceId)
  } while (token)
  const pgs = await ec2.send(new DescribePlacementGroupsCommand({ Filters: filters }))
  const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))
  const nodes = Number(tags[CLUSTER_TAG.nodes])
  const base = secretParameterName(tags[TAG.repo]!, tags[TAG.run]!, Number(tags[TAG.attempt]))
  await releaseCluster(
    [{
      region,
      ec2,
      ssm,
      instanceIds,
      placementGroups: (pgs.PlacementGroups ?? []).map((g) => g.GroupName!).filter(Boolean),
      securityGroups: (sgs.SecurityGroups ?? []).map((g) => g.GroupId!).filter(Boolean),
      secretParameters: Number.isSafeInteger(nodes) && nodes > 0 ? Array.from({ length: nodes }, (_, rank) => nodeSecretParameterName(base, rank)) : []
    }],
    { ...d, credentialsSince: d.now() }
  )
}
