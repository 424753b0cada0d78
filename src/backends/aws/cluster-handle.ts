/**
 * The AttemptHandle of a multi-node attempt: N instances in one placement group, one SSM command
 * to all of them. One poll reads every node's invocation (ListCommandInvocations) and every
 * instance (one DescribeInstances); a node taken back by AWS ends the attempt as interrupted at
 * once. `release()` terminates every node, then deletes the placement groups and the security
 * group the attempt created, and the nodes' secret env parameters.
 */
import type { EC2Client } from '@aws-sdk/client-ec2'
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import { ListCommandInvocationsCommand, type SSMClient } from '@aws-sdk/client-ssm'
import type { AttemptHandle, ExecState, MachineInfo } from '../../model/index.js'
import { renderStopScript } from './bootstrap.js'
import { deletePlacementGroup, deleteSecurityGroup, waitTerminated } from './cluster-network.js'
import { rethrowExpired } from './expired-credentials.js'
import { errorCode, isRetryable } from './errors.js'
import { deleteSecretParameter } from './handle.js'
import { describeInstances, isSpotInterruption, terminate, type InstanceState } from './instance-state.js'
import { cancelCommandOn, execState, getInvocation, inBatches, sendCommand, type Invocation } from './ssm.js'
import { adaptiveIntervalMs } from './timing.js'

/** what the attempt created in one region, to delete on release */
export interface ClusterResources {
  region: string
  ec2: EC2Client
  ssm: SSMClient
  instanceIds: string[]
  placementGroups: string[]
  /** security groups this attempt created (never the user's own) */
  securityGroups: string[]
  secretParameters: string[]
}

export interface ClusterHandleDeps {
  ec2: EC2Client
  ssm: SSMClient
  machines: MachineInfo[]
  /** the bootstrap command of each node, by rank (one command per batch of at most 50 nodes) */
  commandIds: string[]
  sentAt: number
  now: () => number
  sleep: (ms: number) => Promise<void>
  credentialsSince: number
  cancelGraceSec: number
  pollMinIntervalMs: number
  /** every region's leftovers of this start (the launched cluster, and groups of candidates tried before it) */
  resources: ClusterResources[]
  log: (line: string) => void
}

const SLOWEST_POLL_MS = 30_000
const INVOCATION_APPEAR_MS = 120_000
/** how long release waits for terminated instances to let go of their placement and security groups */
const RELEASE_WAIT_SEC = 900


/** every invocation of a command, by instance (ListCommandInvocations with details, all pages; a loop, not the SDK paginator, so that one poll is one call for up to 50 nodes) */
export async function listInvocations(ssm: SSMClient, commandId: string): Promise<Map<string, Invocation>> {
  const out = new Map<string, Invocation>()
  let token: string | undefined
  do {
    const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, MaxResults: 50, ...(token ? { NextToken: token } : {}) }))
    token = page.NextToken
    for (const inv of page.CommandInvocations ?? []) {
      if (!inv.InstanceId) continue
      const plugin = inv.CommandPlugins?.[0]
      out.set(inv.InstanceId, {
        status: inv.Status ?? 'Pending',
        statusDetails: inv.StatusDetails,
        ...(plugin?.ResponseCode !== undefined ? { responseCode: plugin.ResponseCode } : {}),
        ...(inv.StandardErrorUrl ? { stderrUrl: inv.StandardErrorUrl } : {})
      })
    }
  } while (token)
  return out
}

/**
 * Pure: the attempt's state from its nodes'. Any node interrupted (reclaimed, or its runner
 * stopped on the spot notice) ends the attempt as interrupted; otherwise it ends once every node
 * ended, with the master's exit code when all ended cleanly, else the first failing node's.
 */
export function clusterState(nodes: ExecState[]): ExecState {
  const ended = nodes.map((s, rank) => ({ s, rank })).filter((x): x is { s: Extract<ExecState, { state: 'ended' }>; rank: number } => x.s.state === 'ended')
  const interrupted = ended.find((x) => x.s.interrupted)
  if (interrupted) {
    const reclaimed = ended.some((x) => x.s.reclaimed)
    return { state: 'ended', interrupted: true, ...(reclaimed ? { reclaimed: true } : {}), reason: `node ${interrupted.rank}: ${interrupted.s.reason ?? 'interrupted'}` }
  }
  if (ended.length < nodes.length) return { state: 'running' }
  const bad = ended.find((x) => x.s.lost || (x.s.exitCode ?? 1) !== 0)
  if (!bad) return { state: 'ended', exitCode: 0 }
  return {
    state: 'ended',
    ...(bad.s.exitCode !== undefined ? { exitCode: bad.s.exitCode } : {}),
    ...(ended.some((x) => x.s.lost) ? { lost: true } : {}),
    reason: `node ${bad.rank}: ${bad.s.reason ?? `exited with ${bad.s.exitCode}`}`
  }
}

export class AwsClusterHandle implements AttemptHandle {
  private nodes: ExecState[]
  private lastReadAt = -Infinity
  private readonly cancelAt = new Map<number, number>()
  private readonly hardCancelled = new Set<number>()
  private released = false

  constructor(private readonly d: ClusterHandleDeps) {
    this.nodes = d.machines.map(() => ({ state: 'running' }))
  }

  get machine(): MachineInfo {
    return this.d.machines[0]!
  }

  get machines(): MachineInfo[] {
    return this.d.machines
  }

  private get ids(): string[] {
    return this.d.machines.map((m) => m.id)
  }

  async poll(): Promise<ExecState> {
    return clusterState(await this.pollNodes())
  }

  async pollNodes(): Promise<ExecState[]> {
    if (this.nodes.every((s) => s.state === 'ended')) return this.nodes
    const now = this.d.now()
    const interval = Math.max(this.d.pollMinIntervalMs, this.d.pollMinIntervalMs > 0 ? adaptiveIntervalMs(now - this.d.sentAt, 2000, SLOWEST_POLL_MS) : 0)
    if (this.cancelAt.size === 0 && now - this.lastReadAt < interval) return this.nodes
    this.lastReadAt = now
    let invs: Map<string, Invocation>
    let insts: Map<string, InstanceState>
    try {
      invs = new Map()
      for (const commandId of new Set(this.d.commandIds)) for (const [id, inv] of await listInvocations(this.d.ssm, commandId)) invs.set(id, inv)
      insts = await describeInstances(this.d.ec2, this.ids)
    } catch (e) {
      if (isRetryable(e)) return this.nodes
      return rethrowExpired(e, this.d.credentialsSince, this.d.now(), `watching the ${this.ids.length} nodes`, this.ids[0])
    }
    const next: ExecState[] = []
    for (const [rank, id] of this.ids.entries()) {
      const before = this.nodes[rank]!
      if (before.state === 'ended') {
        next.push(before)
        continue
      }
      let inv = invs.get(id)
      // the stderr tail of a failed node (ListCommandInvocations has no stderr): one read, once
      if (inv?.status === 'Failed') inv = (await getInvocation(this.d.ssm, this.d.commandIds[rank]!, id).catch(() => undefined)) ?? inv
      const inst = insts.get(id)
      let state = execState(inv, inst, inst ? isSpotInterruption(inst) : false)
      if (state.state === 'running' && !inv && this.d.now() - this.d.sentAt > INVOCATION_APPEAR_MS) state = { state: 'ended', lost: true, reason: `the SSM command ${this.d.commandIds[rank]} never appeared on ${id}` }
      next.push(state)
    }
    this.nodes = next
    await this.hardCancelOverdue()
    return this.nodes
  }

  /** CancelCommand on the nodes whose runner did not stop within the grace period of a cancel */
  private async hardCancelOverdue(): Promise<void> {
    const overdue = [...this.cancelAt].filter(([rank, at]) => this.nodes[rank]?.state === 'running' && !this.hardCancelled.has(rank) && this.d.now() - at >= this.d.cancelGraceSec * 1000).map(([rank]) => rank)
    if (overdue.length === 0) return
    for (const r of overdue) this.hardCancelled.add(r)
    this.d.log(`the runner of node(s) ${overdue.join(', ')} did not stop within ${this.d.cancelGraceSec} s: cancelling the SSM command there`)
    await this.cancelCommands(overdue).catch((e: Error) => this.d.log(`CancelCommand failed: ${e.message}`))
  }

  /** CancelCommand on the nodes `ranks`, per bootstrap command (each holds at most 50 nodes) */
  private async cancelCommands(ranks: number[]): Promise<void> {
    const byCommand = new Map<string, string[]>()
    for (const r of ranks) {
      const c = this.d.commandIds[r]!
      byCommand.set(c, [...(byCommand.get(c) ?? []), this.ids[r]!])
    }
    for (const [commandId, ids] of byCommand) await cancelCommandOn(this.d.ssm, commandId, ids)
  }

  /** SIGTERM to the runners of `ranks` (all nodes when not given) through one small command */
  async cancel(reason: string, ranks?: number[]): Promise<void> {
    const want = (ranks ?? this.ids.map((_, r) => r)).filter((r) => r >= 0 && r < this.ids.length && this.nodes[r]?.state !== 'ended' && !this.cancelAt.has(r))
    if (want.length === 0) return
    for (const r of want) this.cancelAt.set(r, this.d.now())
    this.d.log(`stopping the runner on ${want.length === this.ids.length ? `all ${want.length} nodes` : `node(s) ${want.join(', ')}`}: ${reason}`)
    for (const batch of inBatches(want)) {
      try {
        await sendCommand(this.d.ssm, {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: batch.map((r) => this.ids[r]!),
          TimeoutSeconds: 30,
          Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
          Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
        })
      } catch (e) {
        this.d.log(`could not send the stop command (${errorCode(e)}); cancelling the SSM command`)
        for (const r of batch) this.hardCancelled.add(r)
        await this.cancelCommands(batch).catch(() => undefined)
      }
    }
  }

  async release(): Promise<void> {
    await releaseCluster(this.d.resources, { now: this.d.now, sleep: this.d.sleep, credentialsSince: this.d.credentialsSince, log: this.released ? () => undefined : this.d.log })
    this.released = true
  }
}

/**
 * Terminate every instance, wait until they are gone, then delete the placement groups, the
 * security groups and the secret parameters. Idempotent. Every step runs even when an earlier one
 * failed; the first error is thrown at the end (a credentials error as ExpiredCredentialsError).
 */
export async function releaseCluster(all: ClusterResources[], d: { now: () => number; sleep: (ms: number) => Promise<void>; credentialsSince: number; log: (l: string) => void }): Promise<void> {
  let first: unknown
  const note = (e: unknown): void => {
    first ??= e
    d.log(`release: ${(e as Error).message}`)
  }
  for (const r of all) {
    const del = { sleep: d.sleep, now: d.now, timeoutMs: RELEASE_WAIT_SEC * 1000 }
    if (r.instanceIds.length) {
      await terminateAll(r.ec2, r.instanceIds).then(() => d.log(`terminated ${r.instanceIds.join(', ')}`), note)
      await waitTerminated(r.instanceIds, (ids) => describeInstances(r.ec2, ids), del).catch(note)
    }
    for (const pg of r.placementGroups) await deletePlacementGroup(r.ec2, pg, del).then(() => d.log(`deleted placement group ${pg}`), note)
    for (const sg of r.securityGroups) await deleteSecurityGroup(r.ec2, sg, del).then(() => d.log(`deleted security group ${sg}`), note)
    for (const p of r.secretParameters) await deleteSecretParameter(r.ssm, p).catch(note)
  }
  if (first !== undefined) rethrowExpired(first, d.credentialsSince, d.now(), 'releasing the cluster')
}

/** TerminateInstances for all; when EC2 no longer knows one of them (the whole call fails then), one by one */
async function terminateAll(ec2: EC2Client, ids: string[]): Promise<void> {
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }))
  } catch (e) {
    if (errorCode(e) !== 'InvalidInstanceID.NotFound') throw e
    for (const id of ids) await terminate(ec2, [id])
  }
}
