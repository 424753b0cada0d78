/**
 * RunSpec: the one shape every workflow format becomes (DESIGN.md "RunSpec").
 * Pure data: serialisable to JSON and stored in run.json. It never holds secret values:
 * `secretEnv` keeps the templates (`${{ secrets.X }}`, `${{ env.X }}`, bare names), resolved
 * only at launch from the CI environment and masked.
 */

/** Inclusive numeric range; a missing bound is open. `{min: 2, max: 2}` is exactly 2. */
export interface Range {
  min?: number
  max?: number
}

export interface GpuSpec {
  /** nvidia, amd, google, intel, tt; undefined = any vendor */
  vendor?: string
  /** alternatives, upper-case as written by dstack (`A10G`, `A100`); empty = any model */
  names: string[]
  count: Range
  /** per-GPU memory, MiB */
  memoryMiB?: Range
  /** total GPU memory across the GPUs, MiB */
  totalMemoryMiB?: Range
  /** minimum CUDA compute capability `[major, minor]` */
  computeCapability?: [number, number]
}

export interface Resources {
  /** undefined = no GPU requested (CPU-only machines allowed) */
  gpu?: GpuSpec
  cpu: Range & { arch?: 'x86' | 'arm' }
  memoryMiB: Range
  diskMiB: Range
  shmSizeMiB?: number
}

export interface ArtifactSpec {
  /**
   * relative to the working directory, normalised, no `..`; or an absolute path (`/opt/conda/envs/x`)
   * on the machine or in the container the run owns (README "Absolute artifact paths")
   */
  path: string
  /** true: synced while the job runs (dstack's real-time artifacts) */
  mount: boolean
}

export type DepSpec =
  | { kind: 'tag'; name: string; repo?: string }
  | { kind: 'workflow'; name: string; repo?: string }

export type SpotPolicy = 'spot' | 'on-demand' | 'auto'
export type RetryEvent = 'no-capacity' | 'interruption' | 'error'

export interface SourceRef {
  /** path relative to the repository root, forward slashes */
  file: string
  line: number
  column: number
}

/**
 * one node group of a heterogeneous multi-node task: its nodes take the next ranks, in the order
 * the groups are listed (`groups[0].nodes[0]` is the master, rank 0)
 */
export interface NodeGroupSpec {
  name: string
  nodes: number
  /** may contain `${{ groups[i].nodes[j].IP_ADDRESS }}` (resolved on the machine), `${{ run.args }}`, `${{ run.name }}` */
  commands: string[]
  commandLines?: number[]
  ports: number[]
  /** undefined: the task's own `resources` */
  resources?: Resources
}

/** dstack's `startup_order`: which nodes start their commands first (default `any`) */
export type StartupOrder = 'any' | 'master-first' | 'workers-first'
/** dstack's `stop_criteria`: `all-done` (default) ends the run when every node is done, `master-done` when the master is */
export type StopCriteria = 'all-done' | 'master-done'

export interface RunSpec {
  workflow: string
  format: 'workflows.yaml' | 'dstack.yml'
  source: SourceRef
  help?: string
  /** seed-era provider (`bash`, `docker`); undefined for `type: task` */
  provider?: string
  /** may contain `${{ run.args }}` and `${{ run.name }}`; resolved (quoted) by the runner renderer */
  commands: string[]
  setup: string[]
  /** line of each `commands` / `setup` entry in `source.file` (for annotations of a failed command) */
  commandLines?: number[]
  setupLines?: number[]
  image?: string
  entrypoint?: string
  /** dstack's `shell` (`sh`, `bash` or an absolute path); undefined: bash without an image, `/bin/sh` in a custom image */
  shell?: string
  /** a task's configured `name` (dstack's run name, `$DSTACK_RUN_NAME`); undefined when the file gives none */
  configuredName?: string
  python?: string
  /** literal values, safe to store */
  env: Record<string, string>
  /**
   * name -> template whose value comes from the CI environment at launch and is masked:
   * a bare name in `env` (`HF_TOKEN`) is stored as `${{ env.HF_TOKEN }}`;
   * `${{ secrets.X }}` and `${{ env.X }}` may be embedded in a longer value.
   */
  secretEnv: Record<string, string>
  /**
   * relative to the repository root ('.' = root); or an absolute path (dstack's current form): the
   * checkout is placed there and the job starts there (README "working_dir")
   */
  workingDir: string
  args: string[]
  artifacts: ArtifactSpec[]
  deps: DepSpec[]
  ports: number[]
  /** paths of `cache` (docs/cache.md) */
  cache: string[]
  /** a cached path's own `key` / `restore_keys`, when the file gives them (else the commit, and every earlier entry) */
  cacheOptions?: Record<string, { key?: string; restoreKeys?: string[] }>
  resources: Resources
  spotPolicy: SpotPolicy
  /** USD per hour */
  maxPrice?: number
  /** hard cap, seconds; always present (default 6 h) */
  maxDurationSec: number
  retry: { onEvents: RetryEvent[]; durationSec: number }
  /** which of the settings whose defaults differ from dstack's the file itself sets (docs/dstack-differences.md) */
  fromFile?: ('spot_policy' | 'retry' | 'max_duration')[]
  instanceTypes: string[]
  regions: string[]
  availabilityZones: string[]
  /** total node count (the sum over `groups` when they are given) */
  nodes: number
  groups?: NodeGroupSpec[]
  /** multi-node only; undefined = `any` */
  startupOrder?: StartupOrder
  /** multi-node only; undefined = `all-done` */
  stopCriteria?: StopCriteria
  /**
   * credentials for pulling `image`: templates like `secretEnv` (the password is always a
   * `${{ secrets.X }}` / `${{ env.X }}` reference), resolved at launch, never stored as values
   */
  registryAuth?: { username: string; password: string }
}

export const DEFAULTS = {
  spotPolicy: 'auto' as SpotPolicy,
  maxDurationSec: 6 * 3600,
  retry: { onEvents: ['no-capacity', 'interruption'] as RetryEvent[], durationSec: 3600 },
  cpu: { min: 2 } as Range,
  memoryMiB: { min: 8 * 1024 } as Range,
  diskMiB: { min: 100 * 1024 } as Range
}
