/**
 * Cleanup mode (for a scheduled job): terminate tagged instances whose `dstack:expires-at` has
 * passed, and delete secret env parameters that no attempt can still read (an attempt whose CI job
 * was killed before it could delete its own).
 */
import { DeletePlacementGroupCommand, DeleteSecurityGroupCommand, DescribePlacementGroupsCommand, DescribeSecurityGroupsCommand, paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2'
import { errorCode } from './errors.js'
import { DeleteParametersCommand, paginateGetParametersByPath, type SSMClient } from '@aws-sdk/client-ssm'
import { TAG } from './launch-input.js'
import { terminate } from './instance-state.js'
import { MAX_EXECUTION_TIMEOUT } from './ssm.js'

export interface ExpiredInstance {
  instanceId: string
  expiresAt: string
  run?: string
}

/** Pure: which of these tagged instances have expired */
export function expired(instances: { instanceId: string; tags: Record<string, string> }[], now: number): ExpiredInstance[] {
  return instances
    .filter((i) => {
      const t = Date.parse(i.tags[TAG.expiresAt] ?? '')
      return Number.isFinite(t) && t <= now
    })
    .map((i) => ({ instanceId: i.instanceId, expiresAt: i.tags[TAG.expiresAt]!, run: i.tags[TAG.run] }))
}

export async function cleanupExpiredIn(ec2: EC2Client, now: number, dryRun: boolean, log: (l: string) => void): Promise<string[]> {
  const found: { instanceId: string; tags: Record<string, string> }[] = []
  const input = { Filters: [{ Name: 'tag-key', Values: [TAG.run] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }
  for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, input)) {
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) {
      if (i.InstanceId) found.push({ instanceId: i.InstanceId, tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])) })
    }
  }
  const gone = expired(found, now)
  for (const g of gone) log(`${dryRun ? 'would terminate' : 'terminating'} ${g.instanceId} (run ${g.run ?? '?'}, expired ${g.expiresAt})`)
  if (!dryRun) for (let i = 0; i < gone.length; i += 500) await terminate(ec2, gone.slice(i, i + 500).map((g) => g.instanceId))
  return gone.map((g) => g.instanceId)
}

/** `/dstack/<repo hash>/<run>/<attempt>/env`, or a cluster node's `…/env-<rank>` (bootstrap.ts): only these are ever deleted */
const SECRET_NAME = /^\/dstack\/[0-9a-f]{12}\/[a-z0-9-]+\/\d+\/env(-\d+)?$/
/** an attempt runs at most MAX_EXECUTION_TIMEOUT; one more hour of margin */
export const SECRET_MAX_AGE_MS = (MAX_EXECUTION_TIMEOUT + 3600) * 1000

/** Pure: the secret parameters older than any attempt can live */
export function staleSecrets(params: { name: string; lastModified?: Date }[], now: number): string[] {
  return params.filter((p) => SECRET_NAME.test(p.name) && p.lastModified !== undefined && now - p.lastModified.getTime() > SECRET_MAX_AGE_MS).map((p) => p.name)
}

export async function cleanupStaleSecretsIn(ssm: SSMClient, now: number, dryRun: boolean, log: (l: string) => void): Promise<string[]> {
  const found: { name: string; lastModified?: Date }[] = []
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: '/dstack', Recursive: true, WithDecryption: false })) {
    for (const p of page.Parameters ?? []) if (p.Name) found.push({ name: p.Name, lastModified: p.LastModifiedDate })
  }
  const stale = staleSecrets(found, now)
  for (const name of stale) log(`${dryRun ? 'would delete' : 'deleting'} the secret env parameter ${name} (older than ${MAX_EXECUTION_TIMEOUT / 3600 + 1} h)`)
  if (!dryRun) for (let i = 0; i < stale.length; i += 10) await ssm.send(new DeleteParametersCommand({ Names: stale.slice(i, i + 10) }))
  return stale
}

const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))

/**
 * The placement groups and security groups of multi-node attempts whose `dstack:expires-at` has
 * passed (a CI job killed before it released its cluster): deleted once no instance uses them. One
 * still in use (its instances are shutting down) is left to the next cleanup.
 */
export async function cleanupExpiredGroupsIn(ec2: EC2Client, now: number, dryRun: boolean, log: (l: string) => void): Promise<string[]> {
  const filters = [{ Name: 'tag-key', Values: [TAG.run] }]
  const groups: { instanceId: string; tags: Record<string, string>; del: () => Promise<unknown> }[] = []
  const pgs = await ec2.send(new DescribePlacementGroupsCommand({ Filters: filters }))
  for (const g of pgs.PlacementGroups ?? []) if (g.GroupName) groups.push({ instanceId: `placement group ${g.GroupName}`, tags: tagsOf(g.Tags), del: () => ec2.send(new DeletePlacementGroupCommand({ GroupName: g.GroupName })) })
  let token: string | undefined
  do {
    const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters, MaxResults: 1000, ...(token ? { NextToken: token } : {}) }))
    token = sgs.NextToken
    for (const g of sgs.SecurityGroups ?? []) if (g.GroupId) groups.push({ instanceId: `security group ${g.GroupId}`, tags: tagsOf(g.Tags), del: () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId })) })
  } while (token)
  const gone = expired(groups, now)
  const deleted: string[] = []
  for (const g of gone) {
    log(`${dryRun ? 'would delete' : 'deleting'} the ${g.instanceId} (run ${g.run ?? '?'}, expired ${g.expiresAt})`)
    if (dryRun) {
      deleted.push(g.instanceId)
      continue
    }
    try {
      await groups.find((x) => x.instanceId === g.instanceId)!.del()
      deleted.push(g.instanceId)
    } catch (e) {
      if (!['InvalidPlacementGroup.InUse', 'DependencyViolation'].includes(errorCode(e))) throw e
      log(`the ${g.instanceId} is still in use (its instances are shutting down): the next cleanup deletes it`)
    }
  }
  return deleted
}
