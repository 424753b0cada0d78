/**
 * Runs runner modules (src/runner/body/*.sh) alone in bash: the header of a rendered script (the
 * plan's values, as render.ts writes them), the test's values and stand-ins for the other modules'
 * functions, then `source` of the modules under test, then the test's commands. No store server,
 * no job: a module's concern is checked in milliseconds. `$T` is a fresh folder of the test's own.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { renderRunnerScript } from '../../../src/runner/render.js'
import { RUNNER_BODY } from '../../../src/runner/body.generated.js'
import { shellArray, shellQuote } from '../../../src/runner/quote.js'
import { makePlan, tempDir } from '../fixture.js'
import type { RunnerPlan } from '../../../src/runner/plan.js'

const BODY_DIR = fileURLToPath(new URL('../../../src/runner/body/', import.meta.url))

export interface ModuleRun {
  code: number | null
  stdout: string
  stderr: string
  /** the test's folder ($T) */
  dir: string
}

export interface ModuleOptions {
  /** the plan whose header is set (default: a folder store at $T/store) */
  plan?: (dir: string) => RunnerPlan
  /** variables set after the header: a string or an array */
  vars?: Record<string, string | string[]>
  /** shell text before the modules are sourced: stand-ins for the other modules' functions */
  standIns?: string
  /** the runner's environment (PATH and T are always set) */
  env?: Record<string, string>
}

/** the header render.ts writes for a plan: everything before the body */
function header(plan: RunnerPlan): string {
  const script = renderRunnerScript(plan)
  return script.slice(0, script.length - RUNNER_BODY.length)
}

export function runModules(modules: string[], script: string, opts: ModuleOptions = {}): ModuleRun {
  const dir = tempDir('runner-module-')
  const plan = opts.plan ? opts.plan(dir) : makePlan({ kind: 'folder', root: `${dir}/store` })
  const vars = Object.entries(opts.vars ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? shellArray(v) : shellQuote(v)}`)
  const text = [header(plan), ...vars, opts.standIns ?? '', ...modules.map((m) => `source ${shellQuote(BODY_DIR + m)}`), script].join('\n')
  const r = spawnSync('bash', ['-c', text], {
    encoding: 'utf8',
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, T: dir, ...opts.env },
    timeout: 30_000
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir }
}

/** stand-ins that record calls to $T/calls, one line each: `name args…` */
export function recording(...names: string[]): string {
  return names.map((n) => `${n}() { printf '%s\\n' "${n} $*" >>"$T/calls"; }`).join('\n')
}
