/**
 * Cleanup mode (for a scheduled job): terminate tagged instances whose `dstack:expires-at` has
 * passed, and delete secret env parameters that no attempt can still read (an attempt whose CI job
 * was killed before it could delete its own).
 */
import { paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2'
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
