/** The runner script's input (built by src/orchestrate/runner-plan.ts, rendered by render.ts). */
import type { StoreLocation } from '../model/store-location.js'

export interface RunnerPlan {
  runName: string
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
  /** `<otherRepo>/runs/<run>/artifacts`: copied into the working folder before the commands */
  deps: { label: string; artifactsPrefix: string }[]
  /** may contain `${{ run.args }}` and `${{ run.name }}` (replaced by shell-quoted values) */
  commands: string[]
  setup: string[]
  /** literal values, exported single-quoted */
  env: Record<string, string>
  /** names whose values come from the runner's environment (never in the script text) */
  secretEnvNames: string[]
  /** relative to the repo root ('.' = root) */
  workingDir: string
  /** relative to the working folder */
  artifacts: { path: string; mount: boolean }[]
  args: string[]
  image?: string
  entrypoint?: string
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
  }
}
