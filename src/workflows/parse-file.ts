/** One file → normalised entries and problems; format chosen by content, then location. */
import type { WorkflowProblem } from '../model/index.js'
import { parseYaml } from './source.js'
import { isObj } from './fields.js'
import { isSeedFile } from './discover.js'
import { parseSeedFile } from './seed-format.js'
import { parseTaskFile, pathTaskName } from './task-format.js'
import { emptyOutcome, type FileOutcome, type WorkflowEntry, type WorkflowSeen } from './entry.js'

export interface FileResult extends FileOutcome {
  problems: WorkflowProblem[]
  warnings: WorkflowProblem[]
}

export function parseFileEntries(file: string, text: string): FileResult {
  const { ctx, value, ok } = parseYaml(file, text)
  if (!ok) return { ...emptyOutcome(), problems: ctx.problems, warnings: ctx.warnings }
  let outcome = emptyOutcome()
  if (value === null || value === undefined) {
    ctx.report([], 'the file is empty', isSeedFile(file) ? 'define `workflows:` (a list of workflows)' : 'define a task: `type: task` and `commands:`')
  } else {
    const seed = isObj(value) && ('workflows' in value || 'type' in value) ? 'workflows' in value && !('type' in value) : isSeedFile(file)
    outcome = seed ? parseSeedFile(ctx, value) : parseTaskFile(ctx, value)
  }
  return { ...outcome, problems: byPosition(ctx.problems), warnings: byPosition(ctx.warnings) }
}

function byPosition(list: WorkflowProblem[]): WorkflowProblem[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column)
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/i

/**
 * Names derived from paths (tasks without `name:`): the short name (`train` for
 * `x/train.dstack.yml`, the folder for `x/.dstack.yml`) when it is a valid name that no other
 * workflow of the repository has; otherwise the name from the whole path (`x-train`). The file
 * path itself is always accepted by `run` too (find.ts), which never changes.
 */
export function settleDerivedNames(results: FileResult[]): void {
  const count = new Map<string, number>()
  for (const r of results) for (const s of r.seen) count.set(s.name, (count.get(s.name) ?? 0) + 1)
  for (const r of results) {
    for (const s of r.seen) {
      if (!s.derived || (NAME_RE.test(s.name) && !/^\.+$/.test(s.name) && count.get(s.name) === 1)) continue
      rename(r, s, pathTaskName(s.file))
    }
  }
}

function rename(r: FileResult, seen: WorkflowSeen, name: string): void {
  const old = seen.name
  seen.name = name
  for (const e of r.entries) if (e.derived && e.spec.workflow === old) e.spec.workflow = name
  for (const s of r.skipped) {
    if (s.workflow !== old || s.file !== seen.file) continue
    s.workflow = name
    if (s.spec) s.spec.workflow = name
  }
}

/** each problem and warning gets the name of the workflow it belongs to, when it belongs to one */
export function attribute(r: FileResult): void {
  for (const p of [...r.problems, ...r.warnings]) {
    const owner = r.seen.find((s) => s.root === '' || p.path === s.root || p.path.startsWith(s.root + '.') || p.path.startsWith(s.root + '['))
    if (owner) p.workflow = owner.name
  }
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
      hint: e.derived ? 'this task has no `name:`; add one' : 'workflow names are unique across all workflow files of the repository; rename one of them',
      workflow: e.spec.workflow
    })
  }
  return { kept, problems }
}

function formatNamePath(e: WorkflowEntry): string {
  return e.nameAt.path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('')
}
