/** What the orchestrator tells the CI adapter / terminal while a run goes on. */
import type { MachineInfo, RunRecord, RunStatus, WorkflowProblem } from '../model/index.js'

export type RunEvent =
  | { type: 'step'; step: 'validate' | 'revision' | 'deps' | 'submit' | 'provision' | 'run' | 'finish'; message: string }
  /** multi-node: `node` is the rank, and `text` is whole lines, each prefixed with `[node <rank>] ` */
  | { type: 'log'; attempt: number; node?: number; text: string }
  | { type: 'status'; status: RunStatus; record: RunRecord }
  | { type: 'machine'; machine: MachineInfo; record: RunRecord }
  | { type: 'info'; message: string }
  /** `problem`: a warning about a workflow file, with its position (an annotation in GitHub) */
  | { type: 'warning'; message: string; problem?: WorkflowProblem }

export type EventSink = (ev: RunEvent) => void
