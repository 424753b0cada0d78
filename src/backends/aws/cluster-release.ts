/**
 * The post step's release of one recorded node of a multi-node attempt. The post step releases
 * every recorded node in turn, each after its runner saved what it made, so releasing a node
 * terminates that node only; the release of the last node of the attempt still running (found by
 * the attempt's tags) also deletes every placement group and security group the attempt created
 * (found by the same tags) and the nodes' secret env parameters, once the instances are terminated.
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

export async function releaseRecordedCluster(region: string, ec2: EC2Client, ssm: SSMClient, tags: Record<string, string>, instanceId: string, d: { now: () => number; sleep: (ms: number) => Promise<void>; log: (l: string) => void }): Promise<void> {
  const filters = attemptFilters(tags)
  if (!filters) return
  const instances: { id: string; state: string }[] = []
  const live = { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }
  let token: string | undefined
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [...filters, live], MaxResults: 1000, ...(token ? { NextToken: token } : {}) }))
    token = page.NextToken
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) instances.push({ id: i.InstanceId, state: i.State?.Name ?? 'unknown' })
  } while (token)
  const running = instances.filter((i) => i.id !== instanceId && i.state !== 'shutting-down')
  if (running.length) {
    d.log(`${running.length} other node(s) of the attempt still run (${running.map((i) => i.id).join(', ')}): its placement and security groups go with the last one`)
    return
  }
  const pgs = await ec2.send(new DescribePlacementGroupsCommand({ Filters: filters }))
  const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))
  const nodes = Number(tags[CLUSTER_TAG.nodes])
  const base = secretParameterName(tags[TAG.repo]!, tags[TAG.run]!, Number(tags[TAG.attempt]))
  await releaseCluster(
    [{
      region,
      ec2,
      ssm,
      instanceIds: [...new Set([instanceId, ...instances.map((i) => i.id)])],
      placementGroups: (pgs.PlacementGroups ?? []).map((g) => g.GroupName!).filter(Boolean),
      securityGroups: (sgs.SecurityGroups ?? []).map((g) => g.GroupId!).filter(Boolean),
      secretParameters: Number.isSafeInteger(nodes) && nodes > 0 ? Array.from({ length: nodes }, (_, rank) => nodeSecretParameterName(base, rank)) : []
    }],
    { ...d, credentialsSince: d.now() }
  )
}
