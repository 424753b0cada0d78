/**
 * The handle of a detached attempt (docs/long-runs.md): its runner runs in its own session on the
 * instance, no SSM command watches it, so the instance alone tells whether it may still be going.
 * The runner's status.json in the store tells its end first; this catches a machine that vanished.
 * The same handle serves the process that started the run and any later `attach` / `reconcile`.
 */
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { AttemptHandle, ExecState, MachineInfo } from '../../model/index.js'
import { renderStopScript } from './bootstrap.js'
import { errorCode, isRetryable } from './errors.js'
import { deleteSecretParameter } from './handle.js'
import { describeInstance, isGone, isSpotInterruption, terminate, type InstanceState } from './instance-state.js'
import { getInvocation, sendCommand, stderrTail } from './ssm.js'

export interface DetachedHandleDeps {
  ec2: EC2Client
  ssm: SSMClient
  machine: MachineInfo
  secretParameter?: string
  now: () => number
  /** minimum ms between two DescribeInstances (0 in tests) */
  pollMinIntervalMs: number
  log: (line: string) => void
}

/** a quiet detached run is looked at twice a minute at most: status.json tells its end sooner */
const DETACHED_POLL_MS = 30_000

/** Pure: the attempt's state from its instance alone (no command watches a detached runner). */
export function detachedExecState(inst: InstanceState): ExecState {
  if (isSpotInterruption(inst)) return { state: 'ended', interrupted: true, reclaimed: true, reason: `spot instance reclaimed by AWS (${inst.reasonCode})` }
  if (!isGone(inst) && inst.state !== 'missing') return { state: 'running' }
  if (inst.reasonCode === 'Client.InstanceInitiatedShutdown') return { state: 'ended', lost: true, reason: 'the instance shut itself down (the runner ended, or max_duration\'s self-destruct) without a result in the store' }
  return { state: 'ended', lost: true, reason: `lost: the machine vanished (instance ${inst.state}${inst.reasonCode ? `, ${inst.reasonCode}` : ''}) without a result in the store` }
}

export class DetachedAwsAttempt implements AttemptHandle {
  private last: ExecState = { state: 'running' }
  private lastReadAt = -Infinity

  constructor(private readonly d: DetachedHandleDeps) {}

  get machine(): MachineInfo {
    return this.d.machine
  }

  async poll(): Promise<ExecState> {
    if (this.last.state === 'ended') return this.last
    const now = this.d.now()
    if (this.d.pollMinIntervalMs > 0 && now - this.lastReadAt < Math.max(this.d.pollMinIntervalMs, DETACHED_POLL_MS)) return this.last
    this.lastReadAt = now
    try {
      this.last = detachedExecState(await describeInstance(this.d.ec2, this.d.machine.id))
    } catch (e) {
      if (!isRetryable(e)) throw e
    }
    return this.last
  }

  /** SIGTERM to the runner (it still saves artifacts, logs and status.json) */
  async cancel(reason: string): Promise<void> {
    this.d.log(`stopping the runner on ${this.d.machine.id}: ${reason}`)
    await sendCommand(this.d.ssm, {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [this.d.machine.id],
      TimeoutSeconds: 30,
      Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
      Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
    }).catch((e) => this.d.log(`could not send the stop command (${errorCode(e)})`))
  }

  async release(): Promise<void> {
    await terminate(this.d.ec2, [this.d.machine.id])
    if (this.d.secretParameter) await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch(() => undefined)
  }
}

/**
 * The starting process: wait until the detached bootstrap's command ended (it returns once the
 * runner runs, seconds after delivery); a failed bootstrap throws with its stderr's end. Real time:
 * what is waited for is a process on a machine.
 */
export async function waitForDetachedStart(ssm: SSMClient, commandId: string, instanceId: string, d: { timeoutSec: number; now?: () => number; sleep?: (ms: number) => Promise<void> }): Promise<void> {
  const now = d.now ?? Date.now
  const sleep = d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const start = now()
  for (;;) {
    const inv = await getInvocation(ssm, commandId, instanceId).catch((e) => {
      if (isRetryable(e)) return undefined
      throw e
    })
    if (inv?.status === 'Success') return
    if (inv && !['Pending', 'InProgress', 'Delayed'].includes(inv.status)) {
      throw new Error(`the detached runner did not start on ${instanceId}: SSM command ${inv.status}${inv.responseCode !== undefined ? ` (exit ${inv.responseCode})` : ''}${stderrTail(inv)}`)
    }
    if (now() - start > d.timeoutSec * 1000) throw new Error(`the detached runner did not start on ${instanceId} within ${d.timeoutSec} s (SSM command ${commandId} is ${inv?.status ?? 'not visible'})`)
    await sleep(500)
  }
}
