/** The runner script's input (built by src/orchestrate/runner-plan.ts, rendered by render.ts). */
import type { StoreLocation } from '../model/store-location.js'

export interface RunnerPlan {
  runName: string
  /** the task's configured `name`: `$DSTACK_RUN_NAME` in the job, as in dstack (absent: `runName`) */
  dstackRunName?: string
  workflow: string
  repoId: string
  revisionSha: string
  /** 1-based */
  attempt: number
  store: StoreLocation
  /** store key of the run folder: `<repoId>/runs/<run>` (relative to the store root/prefix; a trailing `/` is dropped) */
  runPrefix: string
  /** `code/<sha256>.tar.gz` */
  codeKey: string
  /** sha256 of the code snapshot; the runner refuses other bytes (default: the hex digits of `codeKey`) */
  codeSha256?: string
  /**
   * another run's artifacts, copied into the working folder before the commands: only the files its
   * manifest lists, each checked against its sha256, and the manifest itself against `manifestSha256`
   */
  deps: RunnerDep[]
  /** may contain `${{ run.args }}` and `${{ run.name }}` (references to shell-quoted values, interpolate.ts) */
  commands: string[]
  setup: string[]
  /** 0.x `ports: N`: the job gets `$PORT_0` … `$PORT_<N-1>`, each a free port of the machine (absent: none) */
  freePorts?: number
  /** literal values, exported single-quoted; `${{ run.args }}` / `${{ run.name }}` become the joined args / the name */
  env: Record<string, string>
  /** the CI's own variables the job may see (job-env.ts), exported single-quoted before `env` */
  ciEnv?: Record<string, string>
  /** names whose values come from the runner's environment (never in the script text) */
  secretEnvNames: string[]
  /** relative to the repo root ('.' = root), or absolute: the checkout is placed there */
  workingDir: string
  /** relative to the working folder, or absolute (kept in the store under `_root/…`) */
  artifacts: { path: string; mount: boolean }[]
  /**
   * absolute folders the job sees at their own path: its absolute artifacts and those its deps
   * restore. In a container each is a folder of the work area mounted there; on a machine the run
   * owns, the path itself.
   */
  rootPaths?: string[]
  /** `cache` paths (absent: none) */
  caches?: RunnerCache[]
  /** this run is trusted (written into the cache entries it saves) */
  trusted?: boolean
  /** log in to the image's registry first, with DSTACK_REGISTRY_USERNAME / _PASSWORD from the environment */
  registryAuth?: boolean
  args: string[]
  /**
   * multi-node tasks: the node layout (absent: one node). Every node runs this same script; the
   * backend gives each its rank and the nodes' addresses in its environment (`DSTACK_NODE_RANK`,
   * `DSTACK_NODES_IPS`, optionally `DSTACK_GPUS_PER_NODE`).
   */
  nodes?: {
    count: number
    startupOrder: 'any' | 'master-first' | 'workers-first'
    /** node groups in rank order, each with its own commands (absent: every node runs `commands`) */
    groups?: { name: string; nodes: number; commands: string[] }[]
  }
  image?: string
  /** dstack's `entrypoint`: the container runs `shlex.split(entrypoint) + commands` (no shell, no setup) */
  entrypoint?: string
  /** `resources.shm_size`: the container's /dev/shm (`docker run --shm-size`) */
  shmSizeMiB?: number
  /**
   * dstack's `shell`: `sh`, `bash` or an absolute path runs `job.sh` (absent: bash without an image,
   * `/bin/sh` in a custom image, as dstack's configurator chooses)
   */
  shell?: string
  python?: string
  maxDurationSec: number
  options: {
    /** arm `shutdown -h +<max duration + 10 min>` (AWS) */
    selfDestruct: boolean
    /** poll IMDSv2 for a spot interruption notice (AWS) */
    spotWatch: boolean
    logIntervalSec: number
    /** default of `DSTACK_WORK_ROOT`; the attempt works in `<workRoot>/<run>/<attempt>` */
    workRoot: string
    /**
     * the machine belongs to this run (aws): without an image, absolute paths are used as they are.
     * false on the local backend: without an image, the runner refuses to write outside its folder.
     */
    ownsMachine?: boolean
  }
}

/** one `cache` path (docs/cache.md): restored before the job, saved after it succeeds */
export interface RunnerCache {
  /** as the workflow lists it: `~/…`, absolute, or relative to the working directory */
  path: string
  /** the key this run saves under */
  key: string
  /** the entry to restore: its archive (`….tar.zst` / `….tar.gz`) and that archive's sha256 */
  restore?: { archiveKey: string; sha256: string; key: string; trusted: boolean }
  /** `<repoId>/[untrusted-]caches/<workflow>/<path id>/<key>`: where to save (absent: not saved, the key was restored) */
  saveBase?: string
}

export interface RunnerDep {
  label: string
  /** `<otherRepo>/runs/<run>/artifacts` */
  artifactsPrefix: string
  /** `<otherRepo>/runs/<run>/artifacts.json`, and the sha256 of its bytes as the orchestrator read them */
  manifestKey?: string
  manifestSha256?: string
  /** the manifest's files (relative to `artifactsPrefix`) with their sha256 */
  files: { path: string; sha256: string }[]
}
