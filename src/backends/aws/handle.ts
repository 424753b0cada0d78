/** The AttemptHandle of one EC2 instance running the bootstrap through SSM. */
import type { EC2Client } from '@aws-sdk/client-ec2'
import { DeleteParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import type { AttemptHandle, ExecState, MachineInfo, TerminalStatus } from '../../model/index.js'
import { keptDeadline, KEEP_MIN_SEC, sessionCommand, tagKept } from './keep.js'
import { renderStopScript } from './bootstrap.js'
import { rethrowExpired } from './expired-credentials.js'
import { errorCode, isRetryable } from './errors.js'
import { describeInstance, isSpotInterruption, terminate, type InstanceState } from './instance-state.js'
import { cancelCommand, execState, getInvocation, sendCommand, type Invocation } from './ssm.js'
import { adaptiveIntervalMs } from './timing.js'

export interface HandleDeps {
  ec2: EC2Client
  ssm: SSMClient
  machine: MachineInfo
  commandId: string
  sentAt: number
  secretParameter?: string
  now: () => number
  /** when the credentials were first used (for the expiry message) */
  credentialsSince: number
  cancelGraceSec: number
  /** minimum ms between two AWS reads in poll(); adaptive above it */
  pollMinIntervalMs: number
  log: (line: string) => void
  /** keep-on-failure: a failed attempt's instance stays up `seconds` (never past `hardEndMs`, its hard lifetime) */
  keep?: { seconds: number; region: string; hardEndMs: number }
}

/**
 * The slowest pace of poll() on a long quiet run: 2 reads per 30 s. The runner's status.json
 * (read by the orchestrator) tells the end of the attempt sooner; this catches a lost machine.
 */
const SLOWEST_POLL_MS = 30_000

/** how long InvocationDoesNotExist is taken as "not visible yet" */
const INVOCATION_APPEAR_MS = 120_000

export async function deleteSecretParameter(ssm: SSMClient, name: string): Promise<void> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }))
  } catch (e) {
    if (errorCode(e) !== 'ParameterNotFound') throw e
  }
}

export class AwsAttemptHandle implements AttemptHandle {
  private last: ExecState = { state: 'running' }
  private lastReadAt = -Infinity
  private cancelAt?: number
  private cancelSent = false
  private released = false

  constructor(private readonly d: HandleDeps) {}

  get machine(): MachineInfo {
    return this.d.machine
  }

  private get instanceId(): string {
    return this.d.machine.id
  }

  async poll(): Promise<ExecState> {
    if (this.last.state === 'ended') return this.last
    const now = this.d.now()
    const interval = Math.max(this.d.pollMinIntervalMs, this.d.pollMinIntervalMs > 0 ? adaptiveIntervalMs(now - this.d.sentAt, 2000, SLOWEST_POLL_MS) : 0)
    if (this.cancelAt === undefined && now - this.lastReadAt < interval) return this.last
    this.lastReadAt = now
    let inv: Invocation | undefined
    let inst: InstanceState
    try {
      inv = await getInvocation(this.d.ssm, this.d.commandId, this.instanceId)
      inst = await describeInstance(this.d.ec2, this.instanceId)
    } catch (e) {
      if (isRetryable(e)) return this.last
      rethrowExpired(e, this.d.credentialsSince, this.d.now(), `watching ${this.instanceId}`, this.instanceId)
    }
    let state = execState(inv, inst, isSpotInterruption(inst))
    if (state.state === 'running' && !inv && this.d.now() - this.d.sentAt > INVOCATION_APPEAR_MS) {
      state = { state: 'ended', lost: true, reason: `the SSM command ${this.d.commandId} never appeared on ${this.instanceId}` }
    }
    if (state.state === 'running' && this.cancelAt !== undefined && !this.cancelSent && this.d.now() - this.cancelAt >= this.d.cancelGraceSec * 1000) {
      this.cancelSent = true
      this.d.log(`the runner did not stop within ${this.d.cancelGraceSec} s: cancelling the SSM command`)
      await cancelCommand(this.d.ssm, this.d.commandId, this.instanceId).catch((e: Error) => this.d.log(`CancelCommand failed: ${e.message}`))
    }
    this.last = state
    return state
  }

  /**
   * SIGTERM to the runner through a second small command (the runner traps it, stops the job and
   * still uploads artifacts, logs and status.json); CancelCommand only after `cancelGraceSec`,
   * from poll(), because SSM's cancel kills the process without that chance.
   */
  async cancel(reason: string): Promise<void> {
    if (this.last.state === 'ended' || this.cancelAt !== undefined) return
    this.cancelAt = this.d.now()
    this.d.log(`stopping the runner on ${this.instanceId}: ${reason}`)
    try {
      await sendCommand(this.d.ssm, {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [this.instanceId],
        TimeoutSeconds: 30,
        Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
        Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
      })
    } catch (e) {
      this.d.log(`could not send the stop command (${errorCode(e)}); cancelling the SSM command`)
      this.cancelSent = true
      await cancelCommand(this.d.ssm, this.d.commandId, this.instanceId).catch(() => undefined)
    }
  }

  async release(opts: ReleaseOptions = {}): Promise<void> {
    if (!this.released && this.d.keep && opts.status === 'failed' && (await this.keep(this.d.keep))) return
    try {
      await terminate(this.d.ec2, [this.instanceId])
    } catch (e) {
      rethrowExpired(e, this.d.credentialsSince, this.d.now(), `terminating ${this.instanceId}`, this.instanceId)
    }
    if (!this.released) this.d.log(`terminated ${this.instanceId}`)
    this.released = true
    if (this.d.secretParameter) await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch((e: Error) => this.d.log(`could not delete ${this.d.secretParameter}: ${e.message}`))
  }

  /** keep-on-failure: tag the kept deadline and say how to step in; false when it cannot be kept (then terminated) */
  private async keep(k: { seconds: number; region: string; hardEndMs: number }): Promise<boolean> {
    const now = this.d.now()
    const until = keptDeadline(now, k.seconds, k.hardEndMs)
    if (until - now < KEEP_MIN_SEC * 1000) {
      this.d.log(`keep-on-failure: ${this.instanceId} reaches its hard lifetime within a minute: terminating it`)
      return false
    }
    try {
      await tagKept(this.d.ec2, this.instanceId, until)
    } catch (e) {
      this.d.log(`keep-on-failure: could not tag ${this.instanceId} (${errorCode(e)}): terminating it`)
      return false
    }
    this.released = true
    this.d.log(`keep on failure: ${this.instanceId} is kept for debugging until ${new Date(until).toISOString()} (then it shuts itself down; the post step and \`cleanup\` end it on time)`)
    this.d.log(`step into it: ${sessionCommand(this.instanceId, k.region)}`)
    if (this.d.secretParameter) await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch((e: Error) => this.d.log(`could not delete ${this.d.secretParameter}: ${e.message}`))
    return true
  }
}

export interface ReleaseOptions {
  /** how the attempt ended, when known: a `failed` one may be kept (keep-on-failure) */
  status?: TerminalStatus
}
