/** Run lifecycle (DESIGN.md "Run lifecycle and statuses"). */
export const ACTIVE_STATUSES = ['submitted', 'provisioning', 'running', 'uploading'] as const
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'interrupted', 'cancelled', 'timed-out'] as const
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number]
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number]
export type RunStatus = ActiveStatus | TerminalStatus

export function isTerminal(s: RunStatus): s is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(s)
}

/**
 * attempts/<n>/status.json, written by the runner script (and by the orchestrator when the
 * runner could not write it: machine lost, never started).
 */
export interface AttemptStatus {
  /** where the runner is now: setup, deps, running, uploading, done */
  phase: 'starting' | 'code' | 'deps' | 'setup' | 'running' | 'uploading' | 'done'
  /** set once the attempt ended */
  status?: TerminalStatus
  /** exit code of the job's commands (undefined if they never ran) */
  exitCode?: number
  /** what a human can act on, e.g. "command 2 exited with 1", "spot interruption notice at …" */
  reason?: string
  startedAt?: string
  endedAt?: string
  /** number of log chunks written (seq of the last chunk + 1) */
  logChunks?: number
  /** the image's `repo@sha256:…` when the job ran in one */
  imageDigest?: string
  /** the scratch folder made of the instance-store disks: `2 × NVMe RAID 0, 7.6 TB at /opt/dstack/scratch` */
  scratch?: string
}
