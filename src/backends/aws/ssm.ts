/** SSM: wait for the managed node, send the bootstrap, read the invocation. */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient
} from '@aws-sdk/client-ssm'
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { ExecState } from '../../model/index.js'
import { RUNNER_EXIT } from '../../runner/render.js'
import { describeInstance, isGone, type InstanceState } from './instance-state.js'
import { errorCode, errorMessage, isRetryable } from './errors.js'
import { adaptiveIntervalMs, sleepOrAbort } from './timing.js'

/** AWS-RunShellScript's executionTimeout maximum (48 h) */
export const MAX_EXECUTION_TIMEOUT = 172_800

export type OnlineResult =
  | { kind: 'online' }
  | { kind: 'gone'; state: InstanceState }
  | { kind: 'timeout'; lastState?: InstanceState; pingStatus?: string }
  | { kind: 'aborted' }

export interface WaitDeps {
  sleep: (ms: number) => Promise<void>
  now: () => number
  signal: AbortSignal
  timeoutSec: number
}

/**
 * Polls DescribeInstanceInformation until PingStatus is Online, watching DescribeInstances: an
 * instance that shuts down first (spot reclaimed before it started) ends the wait at once. A hand
 * loop, not an SDK waiter, because two APIs decide together.
 */
export async function waitForOnline(ssm: SSMClient, ec2: EC2Client, instanceId: string, d: WaitDeps): Promise<OnlineResult> {
  const start = d.now()
  let lastState: InstanceState | undefined
  let ping: string | undefined
  let describedAt = -Infinity
  for (;;) {
    if (d.signal.aborted) return { kind: 'aborted' }
    try {
      const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }))
      ping = info.InstanceInformationList?.[0]?.PingStatus
      if (ping === 'Online') return { kind: 'online' }
      // the instance's state at most every STATE_POLL_MS: the quick SSM looks do not add EC2 reads
      if (d.now() - describedAt >= STATE_POLL_MS) {
        describedAt = d.now()
        lastState = await describeInstance(ec2, instanceId)
        if (isGone(lastState)) return { kind: 'gone', state: lastState }
      }
    } catch (e) {
      if (!isRetryable(e)) throw e
    }
    const elapsed = d.now() - start
    if (elapsed >= d.timeoutSec * 1000) return { kind: 'timeout', lastState, pingStatus: ping }
    await sleepOrAbort(d.sleep, Math.min(onlinePollMs(elapsed), d.timeoutSec * 1000 - elapsed), d.signal)
  }
}

/** how often the wait for Online reads the instance's state (a spot instance reclaimed before it came Online) */
export const STATE_POLL_MS = 3000

/**
 * The wait between two looks for the node in SSM. Every second of the lag between the node coming
 * Online and our seeing it is billed, so the look is quick (1 s) while a node is likely to come
 * Online: from 15 s after RunInstances (EC2's pending ~5 s plus a Linux boot ~23 s, so nothing
 * earlier) to two minutes (a GPU Deep Learning AMI often takes a minute or more). The lag is then
 * 0.5 s on average, not 1.5 s (3 s looks). Before 15 s, 3 s; 7.5 s until 5 minutes, 10 s after
 * (a slow or lost node, at a quiet request rate). The instance's state is read every 3 s throughout
 * at most (STATE_POLL_MS), so the quick looks are SSM requests only.
 */
export function onlinePollMs(elapsedMs: number): number {
  if (elapsedMs < 15_000) return 3000
  if (elapsedMs < 120_000) return 1000
  return adaptiveIntervalMs(elapsedMs, 3000, 10_000)
}

export function neverOnlineMessage(instanceId: string, timeoutSec: number, r: { lastState?: InstanceState; pingStatus?: string }, instanceProfile?: string): string {
  return [
    `instance ${instanceId} did not come Online in SSM within ${timeoutSec} s (state ${r.lastState?.state ?? 'unknown'}, SSM ping ${r.pingStatus ?? 'never registered'}); it was terminated.`,
    'Likely causes:',
    `  - the instance profile${instanceProfile ? ` ${instanceProfile}` : ' (none was given)'} lacks the SSM agent's permissions (ssm:UpdateInstanceInformation, ec2messages:*, ssmmessages:* as in examples/iam/instance-role-policy.json; AmazonSSMManagedInstanceCore also has them)`,
    '  - no route to the ssm, ssmmessages and ec2messages endpoints (a private subnet needs a NAT gateway or VPC endpoints; security groups must allow outbound HTTPS)',
    '  - the AMI has no SSM agent (the Deep Learning AMIs have one)',
    '  - the node takes longer to register: raise ssm-timeout'
  ].join('\n')
}

/** SendCommand's `InstanceIds` holds at most 50 ids (the SSM API's limit): larger clusters get one command per batch */
export const SEND_COMMAND_MAX_INSTANCES = 50

/** Pure: `xs` in consecutive batches of at most `size` */
export function inBatches<T>(xs: readonly T[], size = SEND_COMMAND_MAX_INSTANCES): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

export async function sendCommand(ssm: SSMClient, input: SendCommandCommandInput): Promise<string> {
  const out = await ssm.send(new SendCommandCommand(input))
  const id = out.Command?.CommandId
  if (!id) throw new Error('SendCommand returned no command id')
  return id
}

/** the command already sent to this instance with this comment (ListCommands), if any */
export async function findSentCommand(ssm: SSMClient, instanceId: string, comment: string): Promise<string | undefined> {
  const out = await ssm.send(new ListCommandsCommand({ InstanceId: instanceId, MaxResults: 50 }))
  return (out.Commands ?? []).find((c) => c.Comment === comment && c.CommandId)?.CommandId
}

/**
 * SendCommand exactly once: SendCommand has no idempotency token, so a retry after a lost
 * response would start a second runner. `send` is a client without SDK retries; on an error
 * that may hide a sent command, ListCommands (through the retrying client `read`) looks for
 * our comment before sending again. `input.Comment` must be unique to the attempt.
 */
export async function sendCommandOnce(send: SSMClient, read: SSMClient, input: SendCommandCommandInput, d: { retries: number; sleep: (ms: number) => Promise<void>; log: (l: string) => void }): Promise<string> {
  const instanceId = input.InstanceIds?.[0] ?? ''
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendCommand(send, input)
    } catch (e) {
      if (!isRetryable(e) || attempt >= d.retries) throw e
      d.log(`SendCommand failed (${errorCode(e)}: ${errorMessage(e)}); checking whether it reached SSM before sending again`)
      // ListCommands is eventually consistent: look a few times (2, 4, 6 s) before concluding it was not sent
      for (let look = 1; look <= 3; look++) {
        await d.sleep(2000 * look)
        const sent = await findSentCommand(read, instanceId, input.Comment ?? '')
        if (sent) {
          d.log(`SSM already has command ${sent}: using it instead of sending a second one`)
          return sent
        }
      }
    }
  }
}

export async function cancelCommand(ssm: SSMClient, commandId: string, instanceId: string): Promise<void> {
  await cancelCommandOn(ssm, commandId, [instanceId])
}

/** CancelCommand on some of the instances of a command (a cluster's nodes) */
export async function cancelCommandOn(ssm: SSMClient, commandId: string, instanceIds: string[]): Promise<void> {
  try {
    await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: instanceIds }))
  } catch (e) {
    // already finished
    if (!['InvalidCommandId', 'InvalidInstanceId', 'DuplicateInstanceId'].includes(errorCode(e))) throw e
  }
}

export interface Invocation {
  status: string
  statusDetails?: string
  responseCode?: number
  /** StandardErrorContent: the first 8,000 characters of stderr (set once the command ended) */
  stderr?: string
  /** where the full stdout/stderr are (StandardErrorUrl, when output goes to S3) */
  stderrUrl?: string
}

/** undefined while the invocation does not exist yet (eventual consistency after SendCommand) */
export async function getInvocation(ssm: SSMClient, commandId: string, instanceId: string): Promise<Invocation | undefined> {
  try {
    const out = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
    return {
      status: out.Status ?? 'Pending',
      statusDetails: out.StatusDetails,
      responseCode: out.ResponseCode,
      ...(out.StandardErrorContent ? { stderr: out.StandardErrorContent } : {}),
      ...(out.StandardErrorUrl ? { stderrUrl: out.StandardErrorUrl } : {})
    }
  } catch (e) {
    if (errorCode(e) === 'InvocationDoesNotExist') return undefined
    throw e
  }
}

/** Pure: ` — stderr: …last lines… (full output: …)` for a failed invocation, or '' */
export function stderrTail(inv: Invocation, maxLines = 12, maxChars = 1500): string {
  const lines = (inv.stderr ?? '').replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '')
  let tail = lines.slice(-maxLines).join('\n')
  if (tail.length > maxChars) tail = '…' + tail.slice(-maxChars)
  const where = inv.stderrUrl ? ` (full output: ${inv.stderrUrl})` : ''
  return tail ? `; its stderr ends with:\n${tail}${where}` : where ? `; no stderr captured${where}` : ''
}

/**
 * Pure: the attempt's state from the invocation and the instance. A spot reclaim wins over
 * everything (the attempt is `interrupted`, never `failed`); then a finished invocation; then an
 * instance that disappeared under a running command (`lost`).
 */
export function execState(inv: Invocation | undefined, inst: InstanceState | undefined, spotInterrupted: boolean): ExecState {
  if (spotInterrupted) return { state: 'ended', interrupted: true, reclaimed: true, reason: `spot instance reclaimed by AWS (${inst?.reasonCode ?? 'interruption'})` }
  if (inv) {
    switch (inv.status) {
      case 'Pending':
      case 'InProgress':
      case 'Delayed':
      case 'Cancelling':
        break
      case 'Success':
        return { state: 'ended', exitCode: 0 }
      case 'Failed':
        if (inv.responseCode === RUNNER_EXIT.interrupted) return { state: 'ended', exitCode: inv.responseCode, interrupted: true, reason: 'the runner stopped the job on a spot interruption notice' }
        return { state: 'ended', exitCode: inv.responseCode !== undefined && inv.responseCode >= 0 ? inv.responseCode : undefined, reason: `the runner exited with ${inv.responseCode}${stderrTail(inv)}` }
      case 'Cancelled':
        return { state: 'ended', reason: 'the SSM command was cancelled' }
      case 'TimedOut':
        return { state: 'ended', reason: inv.statusDetails === 'Delivery Timed Out' ? 'SSM could not deliver the command in time' : 'SSM stopped the command at its execution timeout (max_duration)' }
      default:
        // Undeliverable, Terminated, Access Denied, Invalid Platform …
        return { state: 'ended', lost: true, reason: `SSM command ${inv.statusDetails ?? inv.status}${stderrTail(inv)}` }
    }
  }
  if (inst && (isGone(inst) || inst.state === 'missing')) {
    const why = inst.reasonCode === 'Client.InstanceInitiatedShutdown' ? 'the instance shut itself down (max_duration self-destruct?)' : `instance ${inst.state}${inst.reasonCode ? ` (${inst.reasonCode}: ${inst.reasonMessage ?? ''})` : ''}`
    return { state: 'ended', lost: true, reason: why }
  }
  return { state: 'running' }
}
