/**
 * Current-format `*.dstack.yml`: one configuration per file, read as dstack's own models read it
 * (dstackai/dstack `core/models/configurations.py`, `profiles.py`, `resources.py`). Only
 * `type: task` runs in CI; the other types are skipped with a reason, never errors. Keys dstack knows
 * that change nothing on a CI runner are accepted with a warning that says why.
 */
import { posix } from 'node:path'
import { DEFAULTS, NODE_ADDRESS_ANY, parseNodeAddress, type NodeGroupSpec, type Resources, type RetryEvent, type RunSpec } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'
import { checkSchema } from './schema-check.js'
import { baseSpec, emptyOutcome, entryLines, sourceAt, type FileOutcome } from './entry.js'
import {
  absolutePath, artifacts, cacheOptions, cachePaths, checkName, deps, envEntries, isObj, ports, pythonVersion, registryAuth, relativePath, scriptLines, stringList, type Obj
} from './fields.js'
import { parseCpuSpec, parseGpuSpec, vendorsNeedingImage } from './gpu.js'
import { parseSizeMiB, parseSizeRange, tryParseDuration, type Parsed } from './units.js'
import { didYouMean } from './suggest.js'
import { scanReferences } from './interpolation.js'

/** configuration types that are not tasks: skipped, with the reason `validate` shows */
export const SKIPPED_TYPES: Record<string, string> = {
  service: 'a service keeps serving requests and never ends; CI runs `type: task` configurations, which run their commands and finish',
  'dev-environment': 'a dev environment is interactive (an IDE or an SSH session); a CI run has no one to attach to it',
  fleet: 'a fleet describes machines that dstack manages; it runs no commands',
  gateway: 'a gateway is infrastructure that dstack manages; it runs no commands',
  volume: 'a volume is storage that dstack manages; it runs no commands',
  preset: 'a preset holds defaults for `dstack apply`; it runs no commands'
}
/** the 0.x `torchrun` provider with several nodes (a task with `nodes:` runs; this provider does not) */
export const MULTI_NODE_REASON = 'the 0.x `torchrun` provider is not supported: write a task with `nodes:` and run `torchrun` in its `commands`'
const ALL_EVENTS: RetryEvent[] = ['no-capacity', 'interruption', 'error']

/** keys dstack knows that change nothing on a CI runner (a warning says why) */
const IGNORED: Record<string, string> = {
  files: 'the whole repository is already checked out in the working folder',
  repos: 'the repository of this CI job is already checked out',
  nvcc: 'the image decides whether nvcc is present',
  user: 'commands run as the image\'s user',
  home_dir: 'deprecated in dstack, where it has no effect either',
  priority: 'runs start right away',
  single_branch: 'the CI checkout is used',
  dstack: 'there is no dstack server',
  backends: 'run-action runs on AWS, or on the CI machine with the local backend',
  reservation: 'capacity reservations are not used',
  stop_duration: 'a stopped job gets SIGTERM, then 20 s to save its artifacts',
  idle_duration: 'machines are released when the run ends',
  creation_policy: 'every run gets a new machine',
  fleets: 'every run gets a new machine',
  instances: 'every run gets a new machine',
  utilization_policy: 'not enforced',
  schedule: 'schedule the CI pipeline instead',
  tags: 'instances carry run-action\'s own tags',
  backend_options: 'not used'
}
/** multi-node keys: meaningful only with more than one node */
const MULTI_NODE_KEYS: Record<string, string> = {
  startup_order: 'a single-node task has no workers to order',
  stop_criteria: 'a single-node task ends when its one node does'
}
/** keys dstack knows that run-action refuses (problem) */
const REFUSED: Record<string, [string, string]> = {
  volumes: ['`volumes` are not supported: the data they hold would be missing', 'use `artifacts` and `deps` to pass data between runs']
}

/** `train.dstack.yml` → `train`; `.dstack.yml` → its folder's name, or `default` at the root */
export function defaultTaskName(file: string): string {
  const base = posix.basename(file)
  const stem = base.replace(/\.dstack\.ya?ml$/, '')
  if (stem) return stem
  const dir = posix.basename(posix.dirname(file))
  return dir && dir !== '.' ? dir : 'default'
}

/**
 * The name from the whole path, used when the short name is taken by another workflow:
 * `a/task.dstack.yml` → `a-task`, `examples/qlora/.dstack.yml` → `examples-qlora`.
 * Characters a name cannot hold become `-`.
 */
export function pathTaskName(file: string): string {
  const dir = posix.dirname(file)
  const stem = posix.basename(file).replace(/\.dstack\.ya?ml$/, '')
  const parts = [...(dir === '.' ? [] : dir.split('/')), ...(stem ? [stem] : [])]
  const name = parts.join('-').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100)
  return name || 'default'
}

export function parseTaskFile(ctx: FileContext, root: unknown): FileOutcome {
  const out = emptyOutcome()
  if (!isObj(root)) {
    ctx.report([], 'expected a mapping with `type: task`', 'see https://dstack.ai/docs/concepts/tasks')
    return out
  }
  if (root.type === undefined || root.type === null) {
    ctx.report([], 'missing `type`', 'add `type: task` at the top (or put seed-era workflows under `workflows:` in .dstack/workflows.yaml)')
    return out
  }
  const name = typeof root.name === 'string' ? root.name : undefined
  const pos = ctx.position([])
  if (root.type !== 'task') {
    const t = String(root.type)
    const reason = SKIPPED_TYPES[t]
    if (reason) {
      const skipped = { file: ctx.file, line: pos.line, column: pos.column, kind: `type: ${t}`, reason }
      out.skipped.push(name ? { ...skipped, workflow: name } : skipped)
    } else {
      ctx.report(['type'], `unknown type \`${t}\``, didYouMean(t, ['task', ...Object.keys(SKIPPED_TYPES)]) ?? 'use `type: task`')
    }
    return out
  }
  checkSchema(ctx, 'dstack-task', root)
  const named = name !== undefined
  const taskName = name ?? defaultTaskName(ctx.file)
  out.seen.push({ name: taskName, file: ctx.file, root: '', line: pos.line, column: pos.column, derived: !named })
  const spec = task(ctx, root, taskName, named)
  if (!spec || ctx.problems.length) return out
  const n = ctx.position(named ? ['name'] : [])
  out.entries.push({ spec, nameAt: { file: ctx.file, line: n.line, column: n.column, path: named ? ['name'] : [] }, derived: !named })
  return out
}

function task(ctx: FileContext, t: Obj, name: string, named: boolean): RunSpec | undefined {
  const has = (k: string) => t[k] !== undefined && t[k] !== null && !ctx.hasProblemAt([k])
  if (named && !ctx.hasProblemAt(['name']) && checkName(ctx, ['name'], 'workflow name', name) && !DSTACK_RUN_NAME.test(name)) {
    ctx.report(['name'], `Resource name should match regex '^[a-z][a-z0-9-]{1,40}$' (dstack's rule for run names; \`${name}\` does not)`, 'use lower-case letters, digits and `-`, starting with a letter, 2–41 characters')
  }
  const spec: RunSpec = baseSpec(name, 'dstack.yml', sourceAt(ctx, []))
  if (named) spec.configuredName = name
  spec.commands = scriptLines(ctx, ['commands'], t.commands, 'task')
  spec.commandLines = entryLines(ctx, ['commands'], spec.commands.length)
  if (has('setup')) {
    spec.setup = scriptLines(ctx, ['setup'], t.setup, 'task')
    ctx.warn(['setup'], '`setup` has no effect for tasks in current dstack (deprecated since 0.18.31); run-action still runs it before `commands`, as dstack did when the file was written', 'move it into `commands`', true)
  }
  if (typeof t.image === 'string') spec.image = t.image
  if (typeof t.entrypoint === 'string') spec.entrypoint = t.entrypoint
  const groups = has('groups') && Array.isArray(t.groups) ? nodeGroups(ctx, t.groups, typeof t.image === 'string') : undefined
  if (spec.commands.length === 0 && !spec.image && !groups && !ctx.hasProblemAt(['commands']) && !ctx.misspelt([], 'commands')) {
    ctx.report([], 'Either `commands` or `image` must be set (dstack\'s rule for a task)', 'e.g. `commands: [python train.py]`')
  }
  const py = pythonVersion(ctx, ['python'], t.python, 'task')
  if (py && spec.image) ctx.report(['python'], '`image` and `python` are mutually exclusive fields', 'drop `python`, or drop `image` to use the default image', true)
  else if (py) spec.python = py
  const env = envEntries(ctx, ['env'], t.env, 'task')
  spec.env = env.env
  spec.secretEnv = env.secretEnv
  if (typeof t.working_dir === 'string') spec.workingDir = workingDir(ctx, t.working_dir)
  spec.ports = ports(ctx, ['ports'], t.ports, 'task')
  spec.artifacts = artifacts(ctx, ['artifacts'], t.artifacts)
  spec.deps = deps(ctx, ['deps'], t.deps)
  spec.cache = cachePaths(ctx, ['cache'], t.cache)
  const cacheOpts = cacheOptions(ctx, ['cache'], t.cache, spec.cache)
  if (cacheOpts) spec.cacheOptions = cacheOpts
  if (isObj(t.resources)) spec.resources = taskResources(ctx, ['resources'], t.resources, spec.resources)
  if (has('spot_policy')) spec.spotPolicy = t.spot_policy as RunSpec['spotPolicy']
  if (has('max_price')) {
    // pydantic reads a float from a number or from a string that holds one (`"1.5"`); `gt=0`
    const price = typeof t.max_price === 'number' ? t.max_price : typeof t.max_price === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(t.max_price) ? Number(t.max_price) : NaN
    if (!Number.isFinite(price)) ctx.report(['max_price'], `invalid max_price ${JSON.stringify(t.max_price)}: expected a number of USD per hour`, 'e.g. `max_price: 1.5`')
    else if (price <= 0) ctx.report(['max_price'], `max_price must be greater than 0 (got ${price})`, 'leave it out for no price limit')
    else spec.maxPrice = price
  }
  if (has('max_duration')) {
    const v = t.max_duration
    if (v === 'off' || v === false) {
      ctx.warn(['max_duration'], `\`max_duration: ${String(v)}\` still has a hard cap of ${DEFAULTS.maxDurationSec / 3600}h in CI (a machine must never outlive its job)`, 'set a longer `max_duration` (e.g. `24h`) if the run needs it', true)
    } else if (v !== true) report(ctx, ['max_duration'], tryParseDuration(v), (s) => (spec.maxDurationSec = s)) // `true` is dstack's "the default"
  }
  if (has('retry')) retry(ctx, t.retry, spec)
  const fromFile = (['spot_policy', 'retry', 'max_duration'] as const).filter((k) => has(k) && !(k === 'max_duration' && (t[k] === 'off' || t[k] === false || t[k] === true)))
  if (fromFile.length) spec.fromFile = [...fromFile]
  if (has('instance_types')) spec.instanceTypes = stringList(t.instance_types)
  if (has('regions')) spec.regions = stringList(t.regions)
  if (has('availability_zones')) spec.availabilityZones = stringList(t.availability_zones)
  if (has('nodes') && typeof t.nodes === 'number') spec.nodes = t.nodes
  if (groups) {
    if (has('nodes')) ctx.report(['groups'], '`nodes` and `groups` are mutually exclusive', 'give each group its own `nodes`', true)
    for (const k of ['commands', 'ports', 'entrypoint']) if (has(k)) ctx.report([k], `Top-level \`${k}\` is not allowed when \`groups\` is set`, k === 'entrypoint' ? 'specify `commands` in each node group instead' : `specify \`${k}\` in each node group instead`, true)
    spec.groups = groups
    spec.nodes = groups.reduce((n, g) => n + g.nodes, 0)
  }
  if (has('registry_auth')) {
    const auth = registryAuth(ctx, ['registry_auth'], taskRegistryAuth(ctx, t.registry_auth, spec))
    if (auth && !spec.image) ctx.warn(['registry_auth'], '`registry_auth` is ignored: there is no `image` to pull', undefined, true)
    else if (auth) spec.registryAuth = auth
  }
  for (const [k, [m, h]] of Object.entries(REFUSED)) if (has(k) && !(Array.isArray(t[k]) && t[k].length === 0)) ctx.report([k], m, h, true)
  if (t.docker === true) ctx.report(['docker'], '`docker: true` (Docker-in-Docker) is not supported', 'build images in an earlier CI step and use `image:`', true)
  if (t.privileged === true) ctx.report(['privileged'], '`privileged: true` is not supported', 'CI jobs run unprivileged containers', true)
  for (const [k, why] of Object.entries(IGNORED)) if (has(k)) ctx.warn([k], `\`${k}\` is ignored: ${why}`, undefined, true)
  if (spec.nodes <= 1 && !groups) {
    for (const [k, why] of Object.entries(MULTI_NODE_KEYS)) if (has(k)) ctx.warn([k], `\`${k}\` is ignored: ${why}`, undefined, true)
  } else {
    if (has('startup_order')) spec.startupOrder = t.startup_order as RunSpec['startupOrder']
    if (has('stop_criteria')) spec.stopCriteria = t.stop_criteria as RunSpec['stopCriteria']
  }
  if (has('shell') && checkShell(ctx, t.shell)) spec.shell = t.shell as string
  if (has('schedule') && isObj(t.schedule)) checkSchedule(ctx, t.schedule.cron)
  if (has('utilization_policy') && isObj(t.utilization_policy) && t.utilization_policy.time_window !== undefined) {
    const w = tryParseDuration(t.utilization_policy.time_window)
    if (!w.ok) ctx.report(['utilization_policy', 'time_window'], w.message, w.hint)
    else if (w.value < 300) ctx.report(['utilization_policy', 'time_window'], 'Minimum time_window is 5m (dstack\'s rule)')
  }
  for (const k of ['stop_duration', 'idle_duration']) {
    const v = t[k]
    if (has(k) && v !== 'off' && typeof v !== 'boolean') {
      const d = tryParseDuration(v)
      if (!d.ok) ctx.report([k], d.message, d.hint)
    }
  }
  checkImageNeeds(ctx, spec, groups)
  checkNodeAddresses(ctx, spec)
  return spec
}

/**
 * dstack's CLI reads `${{ env.X }}` in `registry_auth` from the configuration's own `env` (after
 * `-e` and the environment filled its bare names; `interpolate_env`), and leaves `${{ secrets.X }}`
 * to the server. So `${{ env.X }}` becomes what the task's `env` says X is: a literal (kept for the
 * username; for the password it is a password written in the file), or the template of a bare name
 * or a secret. An X that the task's `env` does not list is refused as dstack refuses it.
 */
function taskRegistryAuth(ctx: FileContext, v: unknown, spec: RunSpec): unknown {
  if (!isObj(v)) return v
  const out: Obj = { ...v }
  for (const k of ['username', 'password'] as const) {
    const value = v[k]
    if (typeof value !== 'string') continue
    const scanned = scanReferences(value, (name) => {
      if (!name.startsWith('env.')) return `\${{ ${name} }}`
      const x = name.slice(4)
      if (x in spec.secretEnv) return spec.secretEnv[x]
      if (x in spec.env) return k === 'password' ? undefined : spec.env[x]
      return undefined
    })
    if (scanned.error) {
      ctx.report(['registry_auth', k], scanned.error)
      out[k] = undefined
    } else if (scanned.missing.length) {
      const literal = scanned.missing.find((m) => m.slice(4) in spec.env)
      if (literal) ctx.report(['registry_auth', k], `\`\${{ ${literal} }}\` is a value written in the file's \`env\`, so the registry password would be written in the file`, `list \`${literal.slice(4)}\` in \`env\` as a bare name (its value then comes from the CI environment), or use \`\${{ secrets.NAME }}\``)
      else ctx.report(['registry_auth', k], `Failed to interpolate due to missing vars: [${scanned.missing.map((m) => `'${m}'`).join(', ')}] (dstack reads \`\${{ env.X }}\` in \`registry_auth\` from the task's own \`env\`)`, `add \`${scanned.missing[0]!.slice(4)}\` to \`env\` (a bare name takes it from the CI environment), or use \`\${{ secrets.NAME }}\``)
      out[k] = undefined
    } else out[k] = scanned.text
  }
  return out
}

/** dstack's run-name rule (`core/services::is_valid_dstack_resource_name`) */
const DSTACK_RUN_NAME = /^[a-z][a-z0-9-]{1,40}$/
/** dstack's node-group name rule (`is_valid_replica_group_name`) */
const DSTACK_GROUP_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/

/** `shell`: `sh`, `bash` or an absolute path (`BaseRunConfiguration.validate_shell`) */
function checkShell(ctx: FileContext, v: unknown): boolean {
  if (typeof v === 'string' && (v === 'sh' || v === 'bash' || v.startsWith('/'))) return true
  ctx.report(['shell'], 'The value must be `sh`, `bash`, or an absolute path (dstack\'s rule for `shell`)', 'e.g. `shell: bash` or `shell: /usr/bin/zsh`')
  return false
}

/** `schedule.cron`: one or more 5-field crontab lines, as apscheduler's `CronTrigger.from_crontab` reads them */
function checkSchedule(ctx: FileContext, cron: unknown): void {
  const list = typeof cron === 'string' ? [cron] : Array.isArray(cron) ? cron : []
  if (list.length === 0) ctx.report(['schedule', 'cron'], 'At least one cron expression must be specified')
  list.forEach((c, i) => {
    const why = typeof c === 'string' ? cronProblem(c) : 'not a string'
    if (why) ctx.report(typeof cron === 'string' ? ['schedule', 'cron'] : ['schedule', 'cron', i], `invalid cron expression ${JSON.stringify(c)}: ${why} (dstack refuses it)`, 'five fields, UTC: minute hour day-of-month month day-of-week, e.g. `15 23 * * *`')
  })
}

const CRON_FIELDS: [string, number, number, string[]][] = [
  ['minute', 0, 59, []],
  ['hour', 0, 23, []],
  ['day', 1, 31, []],
  ['month', 1, 12, ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']],
  ['day_of_week', 0, 6, ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']]
]

/** why apscheduler would refuse a crontab line (undefined: it reads it) */
export function cronProblem(line: string): string | undefined {
  const fields = line.trim().split(/\s+/)
  if (fields.length !== 5) return `Wrong number of fields; got ${fields.length}, expected 5`
  for (let f = 0; f < 5; f++) {
    const [name, lo, hi, names] = CRON_FIELDS[f]!
    for (const part of fields[f]!.split(',')) {
      const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(part)
      if (!m) return `Unrecognized expression "${part}" for field "${name}"`
      if (m[2] !== undefined && Number(m[2]) === 0) return `the step of "${part}" for field "${name}" must be positive`
      if (m[1] === '*') continue
      for (const bound of m[1]!.split('-')) {
        const n = /^\d+$/.test(bound) ? Number(bound) : names.indexOf(bound.toLowerCase()) + (f === 3 ? 1 : 0)
        if ((!/^\d+$/.test(bound) && names.indexOf(bound.toLowerCase()) < 0) || n < lo || n > hi) return `Error validating expression "${part}": the value ${bound} of field "${name}" is out of range ${lo}–${hi}`
      }
    }
  }
  return undefined
}

/**
 * dstack's default image serves NVIDIA GPUs and TPUs on x86 only (`runs/spec.py`
 * `_validate_gpu_vendor_and_image`, `_validate_cpu_arch_and_image`): other accelerators and arm CPUs
 * need an `image`. With `groups`, each group's resources are checked and named.
 */
function checkImageNeeds(ctx: FileContext, spec: RunSpec, groups: NodeGroupSpec[] | undefined): void {
  if (spec.image) return
  const sets: [FieldPath, Resources, string][] = groups
    ? groups.map((g, i): [FieldPath, Resources, string] => [['groups', i, 'resources'], g.resources ?? baseSpec('', 'dstack.yml', { file: '', line: 0, column: 0 }).resources, `groups[${i}]: `])
    : [[['resources'], spec.resources, '']]
  for (const [path, res, prefix] of sets) {
    const vendors = vendorsNeedingImage(res.gpu)
    if (vendors.length) ctx.report([...path, 'gpu'], `${prefix}\`image\` must be set when the requested accelerator is not supported by the default image: [${vendors.map((v) => `'${v}'`).join(', ')}]`, 'set `image` to the vendor\'s image (e.g. rocm/pytorch for AMD)')
    if (res.cpu.arch === 'arm') ctx.report([...path, 'cpu'], `${prefix}\`image\` must be set when ARM CPU requested`, 'set an arm64 `image`; dstack\'s default image is x86 only')
  }
}

/**
 * `working_dir`: dstack today wants an absolute path inside the container (`/workflow`,
 * `~/project`); a relative one is the legacy form, relative to the repository. Absolute: the
 * checkout is placed there and the job starts there. `~` is dstack's home folder, `/root`.
 */
function workingDir(ctx: FileContext, v: string): string {
  const text = v.trim()
  if (text.startsWith('/') || text.startsWith('~')) return absolutePath(ctx, ['working_dir'], 'working_dir', text) ?? '.'
  return relativePath(ctx, ['working_dir'], 'working_dir', text, true) ?? '.'
}

function nodeGroups(ctx: FileContext, list: unknown[], image: boolean): NodeGroupSpec[] | undefined {
  if (list.length === 0) {
    ctx.report(['groups'], '`groups` cannot be an empty list', 'list at least one group, or drop `groups`')
    return undefined
  }
  const out: NodeGroupSpec[] = []
  list.forEach((g, i) => {
    if (!isObj(g)) return
    const at = (k: string): FieldPath => ['groups', i, k]
    const name = typeof g.name === 'string' ? g.name : String(i)
    if (typeof g.name === 'string' && !DSTACK_GROUP_NAME.test(g.name)) ctx.report(at('name'), 'Node group name should match regex \'^[a-z0-9][a-z0-9-]{0,39}$\' (dstack\'s rule)', 'use lower-case letters, digits and `-`')
    if (out.some((x) => x.name === name)) ctx.report(at('name'), `Duplicate node group names found: ['${name}']. Each node group must have a unique name.`, 'give each group its own `name`')
    const commands = scriptLines(ctx, at('commands'), g.commands, 'task')
    const group: NodeGroupSpec = { name, nodes: typeof g.nodes === 'number' ? g.nodes : 1, commands, commandLines: entryLines(ctx, at('commands'), commands.length), ports: ports(ctx, at('ports'), g.ports, 'task') }
    if (commands.length === 0 && !image && !ctx.hasProblemAt(at('commands'))) ctx.report(at('commands'), `Node group '${name}': either \`commands\` must be set in the group, or \`image\` at the task level.`, 'give the group its commands, or the task an `image` whose entrypoint does the work')
    if (isObj(g.resources)) group.resources = taskResources(ctx, at('resources'), g.resources, baseSpec('', 'dstack.yml', { file: '', line: 0, column: 0 }).resources)
    out.push(group)
  })
  return out
}

/**
 * `${{ groups[i].nodes[j].IP_ADDRESS }}` (dstack's address of another node, resolved on the machine)
 * stands only in group commands, and must name a node that exists
 */
function checkNodeAddresses(ctx: FileContext, spec: RunSpec): void {
  const check = (path: FieldPath, text: string) => {
    for (const m of text.matchAll(NODE_ADDRESS_ANY)) {
      const ref = parseNodeAddress(m[0])
      // dstack's `node_groups`: a task without `groups` is one group `0` of all its nodes
      const layout = spec.groups ?? [{ name: '0', nodes: spec.nodes }]
      if (!ref) ctx.report(path, `\`${m[0]}\` is not a node address`, 'write it as ${{ groups[0].nodes[0].IP_ADDRESS }}')
      else if (ref.group >= layout.length || ref.node >= layout[ref.group]!.nodes) {
        ctx.report(path, `\`${m[0]}\` names a node that does not exist (the task has ${layout.map((g) => `${g.nodes} in \`${g.name}\``).join(', ')})`, 'count groups and nodes from 0')
      }
    }
  }
  spec.commands.forEach((c, i) => check(['commands', i], c))
  spec.groups?.forEach((g, gi) => g.commands.forEach((c, i) => check(['groups', gi, 'commands', i], c)))
}

function report<T>(ctx: FileContext, path: FieldPath, r: Parsed<T>, set: (v: T) => void): void {
  if (r.ok) set(r.value)
  else ctx.report(path, r.message, r.hint)
}

function retry(ctx: FileContext, v: unknown, spec: RunSpec): void {
  if (v === true) spec.retry = { onEvents: [...ALL_EVENTS], durationSec: 3600 }
  else if (v === false) spec.retry = { onEvents: [], durationSec: 0 }
  else if (isObj(v)) {
    if (Array.isArray(v.on_events) && v.on_events.length === 0) ctx.report(['retry', 'on_events'], '`on_events` cannot be empty', 'leave it out to retry on every event, or use `retry: false`')
    const onEvents = Array.isArray(v.on_events) ? [...new Set(v.on_events as RetryEvent[])] : [...ALL_EVENTS]
    let durationSec = 3600
    if (v.duration !== undefined && v.duration !== null) report(ctx, ['retry', 'duration'], tryParseDuration(v.duration), (s) => (durationSec = s))
    spec.retry = { onEvents, durationSec }
  }
}

/** the full dstack resources grammar (strings, numbers and `{min, max}` objects); a single size or count means exactly that */
function taskResources(ctx: FileContext, path: FieldPath, r: Obj, base: Resources): Resources {
  const at = (k: string): FieldPath => [...path, k]
  const has = (k: string) => r[k] !== undefined && r[k] !== null && !ctx.hasProblemAt(at(k))
  const res: Resources = { ...base }
  if (has('gpu')) report(ctx, at('gpu'), parseGpuSpec(r.gpu), (g) => { if (g) res.gpu = g })
  if (has('cpu')) report(ctx, at('cpu'), parseCpuSpec(r.cpu), (c) => (res.cpu = c))
  if (has('memory')) report(ctx, at('memory'), parseSizeRange(r.memory, 'memory'), (m) => (res.memoryMiB = m))
  if (has('disk')) {
    const sized = isObj(r.disk) && 'size' in r.disk
    report(ctx, sized ? [...at('disk'), 'size'] : at('disk'), parseSizeRange(sized ? (r.disk as Obj).size : r.disk, 'disk size'), (m) => (res.diskMiB = m))
  }
  if (has('shm_size')) report(ctx, at('shm_size'), parseSizeMiB(r.shm_size), (m) => (res.shmSizeMiB = m))
  return res
}
