/**
 * A small JSON file of the machines a run has started and not yet released, for an `after_script`
 * (GitLab) or a wrapper that outlives a killed CLI. Written the moment a machine exists.
 */
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import type { MachineInfo } from '../model/index.js'
import type { AttemptRef } from './runner-save.js'

/** a machine, and where its attempt writes its status (so `release` can wait for the runner to save) */
export type StateMachine = MachineInfo & { attemptRef?: AttemptRef }

export function readMachines(file: string): StateMachine[] {
  if (!existsSync(file)) return []
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown
    return Array.isArray(v) ? (v as StateMachine[]) : []
  } catch {
    return []
  }
}

export function recordMachine(file: string, m: MachineInfo, attemptRef?: AttemptRef): void {
  write(file, [...readMachines(file).filter((x) => x.id !== m.id), attemptRef ? { ...m, attemptRef } : m])
}

export function clearMachines(file: string): void {
  write(file, [])
}

function write(file: string, machines: StateMachine[]): void {
  writeFileSync(file + '.tmp', JSON.stringify(machines, null, 2) + '\n')
  renameSync(file + '.tmp', file)
}
