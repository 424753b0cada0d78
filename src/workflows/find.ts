/** Pick the workflow to run by name, on its own: problems elsewhere never block it. */
import { UserError, WorkflowErrors, type RunSpec, type WorkflowProblem } from '../model/index.js'
import { closest } from './suggest.js'
import type { SkippedWorkflow } from './entry.js'

export function findWorkflow(specs: RunSpec[], name: string): RunSpec {
  const found = specs.find((s) => s.workflow === name) ?? specs.find((s) => s.format === 'dstack.yml' && s.source.file === name)
  if (found) return found
  const names = specs.map((s) => s.workflow)
  if (!names.length) {
    throw new UserError(`workflow \`${name}\` not found: no workflows are defined`, 'define one in .dstack/workflows.yaml or a *.dstack.yml file')
  }
  const near = closest(name, names)
  throw new UserError(
    `workflow \`${name}\` not found${near ? `; did you mean \`${near}\`?` : ''}`,
    `available: ${[...names].sort().join(', ')}`
  )
}

export interface Selection {
  spec: RunSpec
  /** how many problems other workflows and files have (for the one-line notice) */
  otherProblems: number
  /** warnings of the chosen workflow */
  warnings: WorkflowProblem[]
}

/**
 * The workflow `name` (or a task file's path) if its own definition is valid and it can run.
 * Throws its own problems (WorkflowErrors), the reason it is skipped, or "not found" — in that
 * last case with the problems of files whose workflows could not be read, since it may be there.
 */
export function selectWorkflow(loaded: { specs: RunSpec[]; problems: WorkflowProblem[]; warnings: WorkflowProblem[]; skipped: SkippedWorkflow[] }, name: string): Selection {
  const byName = (w: string | undefined, file?: string) => w === name || (file === name && /\.dstack\.ya?ml$/.test(name))
  const spec = loaded.specs.find((s) => byName(s.workflow, s.source.file))
  const wf = spec?.workflow ?? loaded.skipped.find((s) => byName(s.workflow, s.file))?.workflow ?? name
  const own = loaded.problems.filter((p) => p.workflow === wf || (p.workflow === undefined && p.file === name))
  if (own.length) throw new WorkflowErrors(own)
  const skipped = loaded.skipped.find((s) => byName(s.workflow, s.file))
  if (!spec && skipped) {
    throw new UserError(`workflow \`${wf}\` (${skipped.file}:${skipped.line}, ${skipped.kind}) cannot run: ${skipped.reason}`, 'list what runs with `dstack-run validate`')
  }
  if (!spec) {
    const unowned = loaded.problems.filter((p) => p.workflow === undefined)
    if (unowned.length) throw new WorkflowErrors(unowned)
    findWorkflow(loaded.specs, name)
  }
  const chosen = spec!
  return {
    spec: chosen,
    otherProblems: loaded.problems.length,
    warnings: loaded.warnings.filter((w) => w.workflow === chosen.workflow)
  }
}
