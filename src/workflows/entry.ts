/** A normalised workflow plus where its name was written (for duplicate-name problems). */
import { DEFAULTS, type RunSpec, type SourceRef } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'

export interface WorkflowEntry {
  spec: RunSpec
  /** position of the name (or of the workflow when the name was derived from the file name) */
  nameAt: SourceRef & { path: FieldPath }
  /** the name was derived from the file's path (a task without `name:`) */
  derived?: boolean
}

/**
 * Every workflow a file defines, valid or not, runnable or not: what problems are attributed to
 * and what `validate` lists. `root` is the workflow's field path (`''` for a task file,
 * `workflows[2]` in a seed-era file).
 */
export interface WorkflowSeen {
  name: string
  file: string
  root: string
  line: number
  column: number
  derived: boolean
}

/** a workflow that cannot run in CI by its nature (a service, an IDE, a multi-node task) */
export interface SkippedWorkflow {
  file: string
  line: number
  column: number
  /** its name, when it has one */
  workflow?: string
  /** `type: service`, `provider: code`, `nodes: 2` … */
  kind: string
  reason: string
  /** the normalised spec, when the definition itself is valid (multi-node tasks) */
  spec?: RunSpec
}

export function sourceAt(ctx: FileContext, path: FieldPath): SourceRef {
  const p = ctx.position(path)
  return { file: ctx.file, line: p.line, column: p.column }
}

/** the line of each entry of the list at `path` (a single script block: the line of the field) */
export function entryLines(ctx: FileContext, path: FieldPath, count: number): number[] {
  return Array.from({ length: count }, (_, i) => ctx.position([...path, i]).line)
}

/** a RunSpec with every default of a CI run (DESIGN.md "RunSpec") */
export function baseSpec(workflow: string, format: RunSpec['format'], source: SourceRef): RunSpec {
  return {
    workflow,
    format,
    source,
    commands: [],
    setup: [],
    env: {},
    secretEnv: {},
    workingDir: '.',
    args: [],
    artifacts: [],
    deps: [],
    ports: [],
    cache: [],
    resources: { cpu: { ...DEFAULTS.cpu }, memoryMiB: { ...DEFAULTS.memoryMiB }, diskMiB: { ...DEFAULTS.diskMiB } },
    spotPolicy: DEFAULTS.spotPolicy,
    maxDurationSec: DEFAULTS.maxDurationSec,
    retry: { onEvents: [...DEFAULTS.retry.onEvents], durationSec: DEFAULTS.retry.durationSec },
    instanceTypes: [],
    regions: [],
    availabilityZones: [],
    nodes: 1
  }
}

/** what one file yields */
export interface FileOutcome {
  entries: WorkflowEntry[]
  seen: WorkflowSeen[]
  skipped: SkippedWorkflow[]
}

export const emptyOutcome = (): FileOutcome => ({ entries: [], seen: [], skipped: [] })
