/** The state of instances (DescribeInstances), and what it means for an attempt. */
import { DescribeInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { errorCode } from './errors.js'

export interface InstanceState {
  /** pending | running | shutting-down | terminated | stopping | stopped; `missing` = not (yet) visible */
  state: string
  reasonCode?: string
  reasonMessage?: string
  tags: Record<string, string>
  /** the private IPv4 address (multi-node: what the other nodes reach it at) */
  privateIp?: string
}

/** DescribeInstances of many ids in one call; an id EC2 does not know (yet) is `missing` */
export async function describeInstances(ec2: EC2Client, ids: string[]): Promise<Map<string, InstanceState>> {
  const out = new Map<string, InstanceState>()
  try {
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))
    for (const res of r.Reservations ?? []) {
      for (const i of res.Instances ?? []) {
        if (!i.InstanceId) continue
        out.set(i.InstanceId, {
          state: i.State?.Name ?? 'unknown',
          reasonCode: i.StateReason?.Code,
          reasonMessage: i.StateReason?.Message,
          ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
          tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
        })
      }
    }
  } catch (e) {
    if (errorCode(e) !== 'InvalidInstanceID.NotFound') throw e
  }
  for (const id of ids) if (!out.has(id)) out.set(id, { state: 'missing', tags: {} })
  return out
}

/** the state of one instance; `missing` while EC2 does not know it (eventual consistency right after RunInstances) */
export async function describeInstance(ec2: EC2Client, instanceId: string): Promise<InstanceState> {
  return (await describeInstances(ec2, [instanceId])).get(instanceId)!
}

export const SPOT_REASONS = new Set(['Server.SpotInstanceTermination', 'Server.SpotInstanceShutdown'])

export function isGone(s: InstanceState): boolean {
  return ['shutting-down', 'terminated', 'stopping', 'stopped'].includes(s.state)
}

export function isSpotInterruption(s: InstanceState): boolean {
  return s.reasonCode !== undefined && SPOT_REASONS.has(s.reasonCode)
}

/** Terminate; idempotent (an instance that does not exist any more is fine). */
export async function terminate(ec2: EC2Client, instanceIds: string[]): Promise<void> {
  if (instanceIds.length === 0) return
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }))
  } catch (e) {
    if (errorCode(e) !== 'InvalidInstanceID.NotFound') throw e
  }
}
