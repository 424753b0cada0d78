/** Cleanup mode: terminate tagged instances whose `dstack:expires-at` has passed (for a scheduled job). */
import { paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2'
import { TAG } from './launch-input.js'
import { terminate } from './instance-state.js'

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
