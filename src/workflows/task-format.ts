/**
 * Current-format `*.dstack.yml` (dstack 0.18 – 0.21): one configuration per file; only
 * `type: task` runs in CI. Keys dstack knows but run-action cannot honour are ignored with a
 * warning or refused with a reason.
 */
import { posix } from 'node:path'
import { DEFAULTS, type RetryEvent, type RunSpec } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'
import { checkSchema } from './schema-check.js'
import { baseSpec, entryLines, sourceAt, type WorkflowEntry } from './entry.js'
import {
  artifacts, cachePaths, checkName, deps, envEntries, isObj, ports, pythonVersion, relativePath, scriptLines, stringList, type Obj
} from './fields.js'
import { parseCpuSpec, parseGpuSpec } from './gpu.js'
import { parseSizeMiB, parseSizeRange, tryParseDuration, type Parsed } from './units.js'
import { didYouMean } from './suggest.js'

const OTHER_TYPES = ['service', 'dev-environment', 'fleet', 'volume', 'gateway', 'preset']
const ALL_EVENTS: RetryEvent[] = ['no-capacity', 'interruption', 'error']

/** keys dstack knows that run-action ignores (warning) */
const IGNORED: Record<string, string> = {
  files: 'the whole repository is already checked out in the working folder',
  repos: 'the repository of this CI job is already checked out',
  nvcc: 'the image decides whether nvcc is present',
  shell: 'commands run with bash',
  user: 'commands run as the image\'s user',
  home_dir: 'deprecated in dstack',
  priority: 'runs start right away',
  single_branch: 'the CI checkout is used',
  dstack: 'there is no dstack server',
  backends: 'run-action runs on AWS (or locally with --local)',
  reservation: 'capacity reservations are not used',
  stop_duration: 'a stopped job gets SIGTERM, then its artifacts are saved',
  idle_duration: 'machines are released when the run ends',
  creation_policy: 'every run gets a new machine',
  fleets: 'every run gets a new machine',
  instances: 'every run gets a new machine',
  utilization_policy: 'not enforced',
  startup_order: 'single-node runs only',
  stop_criteria: 'single-node runs only',
  schedule: 'schedule the CI pipeline instead',
  tags: 'instances carry run-action\'s own tags',
  backend_options: 'not used'
}
/** keys dstack knows that run-action refuses (problem) */
const REFUSED: Record<string, [string, string]> = {
  volumes: ['`volumes` are not supported', 'use `artifacts` and `deps` to pass data between runs'],
  groups: ['node `groups` (multi-node runs) are not supported yet', 'use one task per file'],
  registry_auth: ['`registry_auth` is not supported yet', 'use a public image, or one the instance profile can pull (ECR)']
}

/** `train.dstack.yml` → `train`; `.dstack.yml` → its folder's name, or `default` at the root */
export function defaultTaskName(file: string): string {
  const base = posix.basename(file)
  const stem = base.replace(/\.dstack\.ya?ml$/, '')
  if (stem) return stem
  const dir = posix.basename(posix.dirname(file))
  return dir && dir !== '.' ? dir : 'default'
}

export function parseTaskFile(ctx: FileContext, root: unknown): WorkflowEntry[] {
  if (!isObj(root)) {
    ctx.report([], 'expected a mapping with `type: task`', 'see https://dstack.ai/docs/concepts/tasks')
    return []
  }
  if (root.type === undefined || root.type === null) {
    ctx.report([], 'missing `type`', 'add `type: task` at the top (or put seed-era workflows under `workflows:` in .dstack/workflows.yaml)')
    return []
  }
  if (root.type !== 'task') {
    const t = String(root.type)
    if (OTHER_TYPES.includes(t)) {
      ctx.report(['type'], `\`type: ${t}\` cannot run in CI: only \`type: task\` runs`, t === 'service' || t === 'dev-environment' ? 'a task runs its commands and ends; services and dev environments keep running' : 'fleets, volumes and gateways are managed by dstack itself')
    } else {
      ctx.report(['type'], `unknown type \`${t}\``, didYouMean(t, ['task', ...OTHER_TYPES]) ?? 'use `type: task`')
    }
    return []
  }
  checkSchema(ctx, 'dstack-task', root)
  const entry = task(ctx, root)
  return entry ? [entry] : []
}

function task(ctx: FileContext, t: Obj): WorkflowEntry | undefined {
  const has = (k: string) => t[k] !== undefined && !ctx.hasProblemAt([k])
  let name = typeof t.name === 'string' ? t.name : undefined
  const named = name !== undefined
  if (name !== undefined) {
    if (!ctx.hasProblemAt(['name'])) checkName(ctx, ['name'], 'workflow name', name)
  } else {
    name = defaultTaskName(ctx.file)
    if (!checkNameQuietly(name)) ctx.report([], `cannot use \`${name}\` (from the file name) as the workflow name`, 'add `name:` with letters, digits, `.`, `_` or `-`')
  }
  const spec: RunSpec = baseSpec(name, 'dstack.yml', sourceAt(ctx, []))
  spec.commands = scriptLines(ctx, ['commands'], t.commands)
  spec.commandLines = entryLines(ctx, ['commands'], spec.commands.length)
  if (has('setup')) {
    spec.setup = scriptLines(ctx, ['setup'], t.setup)
    ctx.warn(['setup'], '`setup` is deprecated in dstack; run-action runs it before `commands`', 'move it into `commands`', true)
  }
  if (typeof t.image === 'string') spec.image = t.image
  if (typeof t.entrypoint === 'string') spec.entrypoint = t.entrypoint
  if (spec.commands.length === 0 && !spec.image && !ctx.hasProblemAt(['commands']) && !ctx.misspelt([], 'commands')) {
    ctx.report([], 'a task needs `commands` (or an `image` whose entrypoint does the work)', 'e.g. `commands: [python train.py]`')
  }
  const py = pythonVersion(ctx, ['python'], t.python)
  if (py && spec.image) ctx.report(['python'], '`python` cannot be combined with `image`', 'drop `python`, or drop `image` to use the default image', true)
  else if (py) spec.python = py
  const env = envEntries(ctx, ['env'], t.env)
  spec.env = env.env
  spec.secretEnv = env.secretEnv
  if (typeof t.working_dir === 'string') {
    if (t.working_dir.startsWith('/') || t.working_dir.startsWith('~')) {
      ctx.report(['working_dir'], `\`working_dir: ${t.working_dir}\` is absolute`, 'run-action runs in the repository checkout: use a path relative to the repository root (`.` for the root)')
    } else spec.workingDir = relativePath(ctx, ['working_dir'], 'working_dir', t.working_dir, true) ?? '.'
  }
  spec.ports = ports(ctx, ['ports'], t.ports)
  spec.artifacts = artifacts(ctx, ['artifacts'], t.artifacts)
  spec.deps = deps(ctx, ['deps'], t.deps)
  spec.cache = cachePaths(ctx, ['cache'], t.cache)
  if (isObj(t.resources)) taskResources(ctx, ['resources'], t.resources, spec)
  if (has('spot_policy')) spec.spotPolicy = t.spot_policy as RunSpec['spotPolicy']
  if (has('max_price') && typeof t.max_price === 'number') spec.maxPrice = t.max_price
  if (has('max_duration')) {
    const v = t.max_duration
    if (v === 'off' || v === false) {
      ctx.warn(['max_duration'], `\`max_duration: ${String(v)}\` still has a hard cap of ${DEFAULTS.maxDurationSec / 3600}h in CI`, 'set a longer `max_duration` (e.g. `24h`) if the run needs it', true)
    } else report(ctx, ['max_duration'], tryParseDuration(v), (s) => (spec.maxDurationSec = s))
  }
  if (has('retry')) retry(ctx, t.retry, spec)
  if (has('instance_types')) spec.instanceTypes = stringList(t.instance_types)
  if (has('regions')) spec.regions = stringList(t.regions)
  if (has('availability_zones')) spec.availabilityZones = stringList(t.availability_zones)
  if (has('nodes') && typeof t.nodes === 'number') {
    if (t.nodes > 1) ctx.report(['nodes'], `multi-node runs are not supported yet (\`nodes: ${t.nodes}\`)`, 'use `nodes: 1` and the GPUs of one machine')
    spec.nodes = 1
  }
  for (const [k, [m, h]] of Object.entries(REFUSED)) if (has(k)) ctx.report([k], m, h, true)
  if (t.docker === true) ctx.report(['docker'], '`docker: true` (Docker-in-Docker) is not supported', undefined, true)
  if (t.privileged === true) ctx.report(['privileged'], '`privileged: true` is not supported', undefined, true)
  for (const [k, why] of Object.entries(IGNORED)) if (has(k)) ctx.warn([k], `\`${k}\` is ignored: ${why}`, undefined, true)

  if (ctx.problems.length) return undefined
  const n = ctx.position(named ? ['name'] : [])
  return { spec, nameAt: { file: ctx.file, line: n.line, column: n.column, path: named ? ['name'] : [] } }
}

function checkNameQuietly(name: string): boolean {
  return /^[a-z0-9][a-z0-9._-]{0,99}$/i.test(name) && !/^\.+$/.test(name)
}

function report<T>(ctx: FileContext, path: FieldPath, r: Parsed<T>, set: (v: T) => void): void {
  if (r.ok) set(r.value)
  else ctx.report(path, r.message, r.hint)
}

function retry(ctx: FileContext, v: unknown, spec: RunSpec): void {
  if (v === true) spec.retry = { onEvents: [...ALL_EVENTS], durationSec: 3600 }
  else if (v === false) spec.retry = { onEvents: [], durationSec: 0 }
  else if (isObj(v)) {
    const onEvents = Array.isArray(v.on_events) ? [...new Set(v.on_events as RetryEvent[])] : [...ALL_EVENTS]
    let durationSec = 3600
    if (v.duration !== undefined) report(ctx, ['retry', 'duration'], tryParseDuration(v.duration), (s) => (durationSec = s))
    spec.retry = { onEvents, durationSec }
  }
}

/** the full dstack resources grammar; a single size or count means exactly that */
function taskResources(ctx: FileContext, path: FieldPath, r: Obj, spec: RunSpec): void {
  const at = (k: string): FieldPath => [...path, k]
  const has = (k: string) => r[k] !== undefined && r[k] !== null && !ctx.hasProblemAt(at(k))
  const res = spec.resources
  if (has('gpu')) report(ctx, at('gpu'), parseGpuSpec(r.gpu), (g) => { if (g) res.gpu = g })
  if (has('cpu')) report(ctx, at('cpu'), parseCpuSpec(r.cpu), (c) => (res.cpu = c))
  if (has('memory')) report(ctx, at('memory'), parseSizeRange(r.memory, 'memory'), (m) => (res.memoryMiB = m))
  if (has('disk')) {
    const v = isObj(r.disk) ? r.disk.size : r.disk
    report(ctx, isObj(r.disk) ? [...at('disk'), 'size'] : at('disk'), parseSizeRange(v, 'disk size'), (m) => (res.diskMiB = m))
  }
  if (has('shm_size')) report(ctx, at('shm_size'), parseSizeMiB(r.shm_size), (m) => (res.shmSizeMiB = m))
}
