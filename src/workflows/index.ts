/**
 * Workflow definitions, both formats (DESIGN.md layer `workflows/`): find the files, parse them
 * with positions, validate (JSON Schema, then dstack's grammar), normalise to RunSpec. No network.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunSpec, WorkflowProblem } from '../model/index.js'
import { discoverWorkflowFiles } from './discover.js'
import { dropDuplicates, parseFileEntries } from './parse-file.js'
import type { WorkflowEntry } from './entry.js'

export { discoverWorkflowFiles } from './discover.js'
export { findWorkflow } from './find.js'
export { parseDuration } from './units.js'
export { parseGpuSpec, parseCpuSpec } from './gpu.js'
export { resolveSecretEnv } from './interpolation.js'
export { defaultTaskName } from './task-format.js'
export { formatProblem } from '../model/index.js'

export interface LoadedWorkflows {
  specs: RunSpec[]
  /** every problem of every file; a workflow with problems is not in `specs` */
  problems: WorkflowProblem[]
  /** things that are accepted but ignored (e.g. `files:`, `max_duration: off`) */
  warnings: WorkflowProblem[]
  /** the files read, repo-relative */
  files: string[]
}

/** Parse one file's text (pure). Duplicate names within the file are reported. */
export function parseWorkflowFile(file: string, text: string): { specs: RunSpec[]; problems: WorkflowProblem[]; warnings: WorkflowProblem[] } {
  const r = parseFileEntries(file, text)
  const d = dropDuplicates(r.entries)
  return { specs: d.kept.map((e) => e.spec), problems: [...r.problems, ...d.problems], warnings: r.warnings }
}

/** Find, read and parse every workflow file of the repository; names are unique across files. */
export async function loadWorkflows(repoDir: string): Promise<LoadedWorkflows> {
  const files = await discoverWorkflowFiles(repoDir)
  const entries: WorkflowEntry[] = []
  const problems: WorkflowProblem[] = []
  const warnings: WorkflowProblem[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(join(repoDir, file), 'utf8')
    } catch (e) {
      problems.push({ file, line: 1, column: 1, path: '', message: `cannot read the file: ${(e as Error).message}` })
      continue
    }
    const r = parseFileEntries(file, text)
    entries.push(...r.entries)
    problems.push(...r.problems)
    warnings.push(...r.warnings)
  }
  const d = dropDuplicates(entries)
  problems.push(...d.problems)
  return { specs: d.kept.map((e) => e.spec), problems, warnings, files }
}
