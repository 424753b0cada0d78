/**
 * GitHub Actions adapter: inputs, log groups, annotations, outputs, job summary and the state the
 * `post:` step reads. Knows @actions/core, not AWS.
 */
import * as core from '@actions/core'
import { posix } from 'node:path'
import type { RunEvent } from '../orchestrate/index.js'
import type { MachineInfo, RunRecord, WorkflowProblem } from '../model/index.js'
import { formatProblem } from '../model/index.js'
import { failingStep } from '../report/section.js'
import { CommandFence, plainLogLine } from './log-fences.js'

export const STATE_MACHINES = 'dstack-machines'

/**
 * log groups per step, live job logs outside groups so they are visible while the job runs; job
 * output is fenced off (log-fences.ts) so nothing it prints is a workflow command. `end()` closes
 * the fence: call it before writing commands outside this sink (`core.setFailed`).
 */
export function githubEventSink(write: (s: string) => void = (s) => void process.stdout.write(s)): ((ev: RunEvent) => void) & { end(): void } {
  const fence = new CommandFence(write)
  // a line cut by a chunk boundary waits for its end, so the log shows it as one line
  let partial = ''
  const flushPartial = () => {
    if (partial) fence.output(partial)
    partial = ''
  }
  let inGroup = false
  const endGroup = () => {
    if (inGroup) core.endGroup()
    inGroup = false
  }
  const sink = (ev: RunEvent) => {
    if (ev.type === 'log') {
      endGroup()
      const text = partial + ev.text
      const cut = text.lastIndexOf('\n') + 1
      partial = text.slice(cut)
      fence.output(text.slice(0, cut))
      return
    }
    flushPartial()
    fence.resume()
    switch (ev.type) {
      case 'step':
        endGroup()
        if (ev.step === 'run' || ev.step === 'finish') {
          core.info(plainLogLine(`» ${ev.message}`))
        } else {
          core.startGroup(ev.message)
          inGroup = true
        }
        break
      case 'status':
        core.info(plainLogLine(`status: ${ev.status}${ev.record.run ? ` (run ${ev.record.run})` : ''}`))
        break
      case 'machine':
        core.info(plainLogLine(`machine: ${[ev.machine.id, ev.machine.instanceType, ev.machine.market, ev.machine.zone].filter(Boolean).join(' ')}`))
        break
      case 'info':
        core.info(plainLogLine(ev.message))
        break
      case 'warning':
        // a workflow-file warning: an annotation on its line (files are relative to the action's working-directory)
        if (ev.problem) core.warning(ev.message, { title: `dstack workflow: ${ev.problem.path || ev.problem.file}`, file: posix.normalize(posix.join(core.getInput('working-directory') || '.', ev.problem.file)), startLine: ev.problem.line, startColumn: ev.problem.column })
        else core.warning(ev.message)
        break
    }
  }
  return Object.assign(sink, {
    end: () => {
      flushPartial()
      fence.resume()
    }
  })
}

/** each workflow problem as an annotation on its file and line */
export function annotateProblems(problems: WorkflowProblem[], repoPrefix = ''): void {
  for (const p of problems) {
    core.error(formatProblem(p), {
      title: `dstack workflow: ${p.path || p.file}`,
      file: posix.normalize(posix.join(repoPrefix || '.', p.file)),
      startLine: p.line,
      startColumn: p.column
    })
  }
}

/** a failed command as an error annotation on its own line of the workflow file */
export function annotateFailure(r: RunRecord, repoPrefix = ''): void {
  const step = failingStep(r)
  const file = r.spec.source?.file
  if (!step || !file) return
  core.error(`run ${r.run} failed: ${r.reason ?? ''}`, {
    title: `dstack workflow ${r.workflow}: ${step.kind}[${step.index + 1}] failed`,
    file: posix.normalize(posix.join(repoPrefix || '.', file)),
    startLine: step.line
  })
}

/** machines the post step must make sure are gone */
export function saveMachines(machines: MachineInfo[]): void {
  core.saveState(STATE_MACHINES, JSON.stringify(machines))
}

export function loadMachines(): MachineInfo[] {
  const raw = core.getState(STATE_MACHINES)
  if (!raw) return []
  try {
    const v = JSON.parse(raw) as unknown
    return Array.isArray(v) ? (v as MachineInfo[]) : []
  } catch {
    return []
  }
}

/** the job summary, or nothing when the runtime has none (local runs) */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(markdown, true).write()
}

export function setOutputs(outputs: Record<string, string>): void {
  for (const [k, v] of Object.entries(outputs)) core.setOutput(k, v)
}

/** `true|True|TRUE|false|False|FALSE`, or the default when empty */
export function booleanInput(name: string, dflt: boolean): boolean {
  const raw = core.getInput(name)
  if (!raw) return dflt
  return core.getBooleanInput(name)
}
