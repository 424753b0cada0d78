/** The state of one instance (DescribeInstances), and what it means for an attempt. */
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

export async function describeInstance(ec2: EC2Client, instanceId: string): Promise<InstanceState> {
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))
    const i = out.Reservations?.[0]?.Instances?.[0]
    if (!i) return { state: 'missing', tags: {} }
    return {
      state: i.State?.Name ?? 'unknown',
      reasonCode: i.StateReason?.Code,
      reasonMessage: i.StateReason?.Message,
      ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
      tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
    }
  } catch (e) {
    // eventual consistency right after RunInstances
    if (errorCode(e) === 'InvalidInstanceID.NotFound') return { state: 'missing', tags: {} }
    throw e
  }
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
