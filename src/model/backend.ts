/**
 * The port every backend implements (DESIGN.md layers: `backends/aws`, `backends/local`).
 * A backend gets a machine, starts the stored runner script on it, reports whether the script is
 * still going, stops it, and releases the machine. It never reads logs or renders reports: the
 * runner script writes logs, artifacts and status.json to the store, and the orchestrator reads them
 * there, the same way for every backend.
 */
import type { MachineInfo, AttemptRecord } from './record.js'
import type { RunSpec } from './spec.js'
import type { StoreLocation } from './store-location.js'
import type { TerminalStatus } from './status.js'

export interface StartRequest {
  runName: string
  repoId: string
  attempt: number
  spec: RunSpec
  /** the store the runner script reads from and writes to */
  store: StoreLocation
  /** store key of this attempt's runner.sh (written by `runnerScriptStored`, or already) */
  runnerScriptKey: string
  /**
   * settles once runner.sh and the attempt's provisioning record are in the store: the orchestrator
   * launches beside those writes, so a backend whose machine fetches the script by key awaits this
   * before the machine may (AWS: before SendCommand); a rejection fails the start
   */
  runnerScriptStored?: Promise<void>
  /** the script text itself (the local backend runs it directly; AWS fetches it by key) */
  runnerScript: string
  /** resolved secret env values: passed to the script's environment, never written anywhere */
  secretEnv: Record<string, string>
  /** earlier attempts of this run, so a retry can change market or zone */
  previousAttempts: AttemptRecord[]
  /**
   * called the moment a machine exists (before it runs anything), so the caller can save it for
   * cleanup; multi-node: once per node, with `rank` and `privateIp` set
   */
  onMachine: (machine: MachineInfo) => Promise<void> | void
  /** progress lines for the CI log ("launching g5.xlarge spot in us-east-1a") */
  log: (line: string) => void
  /** aborted when the CI job is cancelled: stop launching, release what exists */
  signal: AbortSignal
  /**
   * a detached run (`mode: start`, `run -d`, docs/long-runs.md): the runner must outlive the process
   * that started it. AWS: the bootstrap starts it in its own session and the SSM command returns
   * once it runs, so neither executionTimeout nor the CI job's end stops it; the machine ends itself
   * when the runner ends.
   */
  detached?: boolean
}

export type ExecState =
  | { state: 'running' }
  | {
      state: 'ended'
      /** exit code of the runner script, when the backend knows it */
      exitCode?: number
      /** the machine was taken away (spot reclaim): the attempt is `interrupted` */
      interrupted?: boolean
      /** the provider itself took the machine back (EC2's state reason says so): AWS does not bill a spot instance it interrupts in its first hour */
      reclaimed?: boolean
      /** the machine or command is gone for another reason */
      lost?: boolean
      reason?: string
      /** the watcher stopped watching (an attach that timed out): the attempt goes on, untouched */
      watchStopped?: boolean
    }

export interface AttemptHandle {
  /** the machine (multi-node: the master's, rank 0) */
  readonly machine: MachineInfo
  /** multi-node: every node's machine by rank (`machines[0]` is `machine`) */
  readonly machines?: MachineInfo[]
  /**
   * a cheap check of the command and machine; called by the orchestrator's watch loop. Multi-node:
   * `ended` once every node's runner ended, or as soon as any node was taken away (`interrupted`).
   */
  poll(): Promise<ExecState>
  /** multi-node: each node's state by rank, for the price of one poll (required when `spec.nodes > 1`) */
  pollNodes?(): Promise<ExecState[]>
  /** resolves when the runner ended, for backends that learn it without asking (local: the process exited) */
  whenEnded?(): Promise<void>
  /**
   * ask the job to stop (SIGTERM to the runner: it still uploads artifacts, logs and status);
   * multi-node: only the nodes of `ranks` when given, else every node
   */
  cancel(reason: string, ranks?: number[]): Promise<void>
  /**
   * release the machine; idempotent; safe after any failure. `status`: how the attempt ended, when
   * known (AWS keep-on-failure keeps a `failed` attempt's machine for a while instead)
   */
  release(opts?: { status?: TerminalStatus }): Promise<void>
}

export interface Backend {
  readonly name: 'local' | 'aws'
  start(req: StartRequest): Promise<AttemptHandle>
  /**
   * told the spec as soon as it is known, while the run is still being set up (code snapshot, run
   * record): a backend may start the reads its first start() of that spec will need (AWS: the AMI,
   * preflight, catalogue and quotas) so the launch does not wait for them afterwards
   */
  prepare?(spec: RunSpec, store: StoreLocation): void
  /**
   * a handle on an attempt another process started detached (`attach`, `reconcile`): it polls the
   * machine, cancels and releases it like the handle `start` returned
   */
  reattach?(machine: MachineInfo, attempt: { runName: string; repoId: string; attempt: number }): AttemptHandle
  /** release a machine recorded by an earlier process (the `post:` step, after_script) */
  releaseMachine(machine: MachineInfo, log?: (line: string) => void): Promise<void>
  /** free sockets and timers held by the backend's clients (called once the entry is done with it) */
  close?(): void
}

/** A launch that could not get any machine: names what was tried and what to change. */
export class NoCapacityError extends Error {
  constructor(
    message: string,
    readonly tried: string[] = []
  ) {
    super(message)
    this.name = 'NoCapacityError'
  }
}
