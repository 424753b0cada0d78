/** What the orchestrator tells the CI adapter / terminal while a run goes on. */
import type { MachineInfo, RunRecord, RunStatus } from '../model/index.js'

export type RunEvent =
  | { type: 'step'; step: 'validate' | 'revision' | 'deps' | 'submit' | 'provision' | 'run' | 'finish'; message: string }
  | { type: 'log'; attempt: number; text: string }
  | { type: 'status'; status: RunStatus; record: RunRecord }
  | { type: 'machine'; machine: MachineInfo; record: RunRecord }
  | { type: 'info'; message: string }
  | { type: 'warning'; message: string }

export type EventSink = (ev: RunEvent) => void
