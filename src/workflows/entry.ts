/** A normalised workflow plus where its name was written (for duplicate-name problems). */
import { DEFAULTS, type RunSpec, type SourceRef } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'

export interface WorkflowEntry {
  spec: RunSpec
  /** position of the name (or of the workflow when the name was derived from the file name) */
  nameAt: SourceRef & { path: FieldPath }
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
