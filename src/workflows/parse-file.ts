/** One workflow file → normalised entries and problems; format chosen by content, then location. */
import type { WorkflowProblem } from '../model/index.js'
import { parseYaml } from './source.js'
import { isObj } from './fields.js'
import { isSeedFile } from './discover.js'
import { parseSeedFile } from './seed-format.js'
import { parseTaskFile } from './task-format.js'
import type { WorkflowEntry } from './entry.js'

export interface FileResult {
  entries: WorkflowEntry[]
  problems: WorkflowProblem[]
  warnings: WorkflowProblem[]
}

export function parseFileEntries(file: string, text: string): FileResult {
  const { ctx, value, ok } = parseYaml(file, text)
  if (!ok) return { entries: [], problems: ctx.problems, warnings: ctx.warnings }
  let entries: WorkflowEntry[] = []
  if (value === null || value === undefined) {
    ctx.report([], 'the file is empty', isSeedFile(file) ? 'define `workflows:` (a list of workflows)' : 'define a task: `type: task` and `commands:`')
  } else {
    const seed = isObj(value) && ('workflows' in value || 'type' in value) ? 'workflows' in value && !('type' in value) : isSeedFile(file)
    entries = seed ? parseSeedFile(ctx, value) : parseTaskFile(ctx, value)
  }
  return { entries, problems: byPosition(ctx.problems), warnings: byPosition(ctx.warnings) }
}

function byPosition(list: WorkflowProblem[]): WorkflowProblem[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column)
}

/** one problem per repeated workflow name, naming both places; later duplicates are dropped */
export function dropDuplicates(entries: WorkflowEntry[]): { kept: WorkflowEntry[]; problems: WorkflowProblem[] } {
  const first = new Map<string, WorkflowEntry>()
  const kept: WorkflowEntry[] = []
  const problems: WorkflowProblem[] = []
  for (const e of entries) {
    const prev = first.get(e.spec.workflow)
    if (!prev) {
      first.set(e.spec.workflow, e)
      kept.push(e)
      continue
    }
    const p = prev.nameAt
    problems.push({
      file: e.nameAt.file,
      line: e.nameAt.line,
      column: e.nameAt.column,
      path: formatNamePath(e),
      message: `duplicate workflow name \`${e.spec.workflow}\`: first defined at ${p.file}:${p.line}:${p.column}`,
      hint: 'workflow names are unique across all workflow files of the repository; rename one of them'
    })
  }
  return { kept, problems }
}

function formatNamePath(e: WorkflowEntry): string {
  return e.nameAt.path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('')
}
