/**
 * Workflow definitions, both formats (DESIGN.md layer `workflows/`): find the files, parse them
 * with positions, validate (JSON Schema, then dstack's grammar), normalise to RunSpec. No network.
 * Each workflow stands alone: a problem in one file never hides the valid workflows of another.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunSpec, WorkflowProblem } from '../model/index.js'
import { discoverWorkflowFiles } from './discover.js'
import { attribute, dropDuplicates, parseFileEntries, settleDerivedNames, type FileResult } from './parse-file.js'
import { emptyOutcome, type SkippedWorkflow } from './entry.js'

export { discoverWorkflowFiles } from './discover.js'
export { findWorkflow, selectWorkflow } from './find.js'
export { parseDuration } from './units.js'
export { parseGpuSpec, parseCpuSpec } from './gpu.js'
export { resolveSecretEnv } from './interpolation.js'
export { effectiveSettings, type EffectiveSetting } from './effective.js'
export { defaultTaskName, pathTaskName, MULTI_NODE_REASON } from './task-format.js'
export { REGISTRY_USERNAME_ENV, REGISTRY_PASSWORD_ENV } from './fields.js'
export { formatProblem } from '../model/index.js'
export type { SkippedWorkflow } from './entry.js'

/** one runnable workflow as `validate` lists it */
export interface WorkflowInfo {
  name: string
  file: string
  line: number
  column: number
  format: RunSpec['format']
  /** true when the name comes from the file's path (a task without `name:`) */
  derivedName: boolean
}

export interface LoadedWorkflows {
  /** the runnable workflows whose definitions have no problem */
  specs: RunSpec[]
  workflows: WorkflowInfo[]
  /** every problem of every file; `workflow` names the workflow it belongs to, when it does */
  problems: WorkflowProblem[]
  /** things that are accepted but ignored (e.g. `files:`, `max_duration: off`) */
  warnings: WorkflowProblem[]
  /** workflows that cannot run in CI by their nature, with the reason */
  skipped: SkippedWorkflow[]
  /** the files read, repo-relative */
  files: string[]
}

function combine(results: FileResult[], files: string[]): LoadedWorkflows {
  settleDerivedNames(results)
  for (const r of results) attribute(r)
  const d = dropDuplicates(results.flatMap((r) => r.entries))
  const specs = d.kept.map((e) => e.spec)
  const derived = new Set(d.kept.filter((e) => e.derived).map((e) => e.spec))
  return {
    specs,
    workflows: specs.map((s) => ({ name: s.workflow, file: s.source.file, line: s.source.line, column: s.source.column, format: s.format, derivedName: derived.has(s) })),
    problems: [...results.flatMap((r) => r.problems), ...d.problems],
    warnings: results.flatMap((r) => r.warnings),
    skipped: results.flatMap((r) => r.skipped),
    files
  }
}

/** Parse one file's text (pure). Duplicate names within the file are reported. */
export function parseWorkflowFile(file: string, text: string): LoadedWorkflows {
  return combine([parseFileEntries(file, text)], [file])
}

/** Find, read and parse every workflow file of the repository; names are unique across files. */
export async function loadWorkflows(repoDir: string): Promise<LoadedWorkflows> {
  const files = await discoverWorkflowFiles(repoDir)
  const results: FileResult[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(join(repoDir, file), 'utf8')
    } catch (e) {
      results.push({ ...emptyOutcome(), problems: [{ file, line: 1, column: 1, path: '', message: `cannot read the file: ${(e as Error).message}` }], warnings: [] })
      continue
    }
    results.push(parseFileEntries(file, text))
  }
  return combine(results, files)
}
