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
  absolutePath, artifacts, cachePaths, checkName, deps, envEntries, isObj, ports, pythonVersion, registryAuth, relativePath, scriptLines, stringList, type Obj
} from './fields.js'
import { parseCpuSpec, parseGpuSpec } from './gpu.js'
import { parseSizeMiB, parseSizeRange, tryParseDuration, type Parsed } from './units.js'
import { didYouMean } from './suggest.js'

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
  shell: 'commands run with bash (sh in an image without bash)',
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
  if (named && !ctx.hasProblemAt(['name'])) checkName(ctx, ['name'], 'workflow name', name)
  const spec: RunSpec = baseSpec(name, 'dstack.yml', sourceAt(ctx, []))
  spec.commands = scriptLines(ctx, ['commands'], t.commands)
  spec.commandLines = entryLines(ctx, ['commands'], spec.commands.length)
  if (has('setup')) {
    spec.setup = scriptLines(ctx, ['setup'], t.setup)
    ctx.warn(['setup'], '`setup` has no effect for tasks in current dstack (deprecated since 0.18.31); run-action still runs it before `commands`, as dstack did when the file was written', 'move it into `commands`', true)
  }
  if (typeof t.image === 'string') spec.image = t.image
  if (typeof t.entrypoint === 'string') spec.entrypoint = t.entrypoint
  const groups = has('groups') && Array.isArray(t.groups) ? nodeGroups(ctx, t.groups) : undefined
  if (spec.commands.length === 0 && !spec.image && !groups && !ctx.hasProblemAt(['commands']) && !ctx.misspelt([], 'commands')) {
    ctx.report([], 'a task needs `commands` (or an `image` whose entrypoint does the work)', 'e.g. `commands: [python train.py]`')
  }
  const py = pythonVersion(ctx, ['python'], t.python)
  if (py && spec.image) ctx.report(['python'], '`python` cannot be combined with `image`', 'drop `python`, or drop `image` to use the default image', true)
  else if (py) spec.python = py
  const env = envEntries(ctx, ['env'], t.env)
  spec.env = env.env
  spec.secretEnv = env.secretEnv
  if (typeof t.working_dir === 'string') spec.workingDir = workingDir(ctx, t.working_dir)
  spec.ports = ports(ctx, ['ports'], t.ports)
  spec.artifacts = artifacts(ctx, ['artifacts'], t.artifacts)
  spec.deps = deps(ctx, ['deps'], t.deps)
  spec.cache = cachePaths(ctx, ['cache'], t.cache)
  if (isObj(t.resources)) spec.resources = taskResources(ctx, ['resources'], t.resources, spec.resources)
  if (has('spot_policy')) spec.spotPolicy = t.spot_policy as RunSpec['spotPolicy']
  if (has('max_price') && typeof t.max_price === 'number') spec.maxPrice = t.max_price
  if (has('max_duration')) {
    const v = t.max_duration
    if (v === 'off' || v === false) {
      ctx.warn(['max_duration'], `\`max_duration: ${String(v)}\` still has a hard cap of ${DEFAULTS.maxDurationSec / 3600}h in CI (a machine must never outlive its job)`, 'set a longer `max_duration` (e.g. `24h`) if the run needs it', true)
    } else if (v !== true) report(ctx, ['max_duration'], tryParseDuration(v), (s) => (spec.maxDurationSec = s)) // `true` is dstack's "the default"
  }
  if (has('retry')) retry(ctx, t.retry, spec)
  if (has('instance_types')) spec.instanceTypes = stringList(t.instance_types)
  if (has('regions')) spec.regions = stringList(t.regions)
  if (has('availability_zones')) spec.availabilityZones = stringList(t.availability_zones)
  if (has('nodes') && typeof t.nodes === 'number') spec.nodes = t.nodes
  if (groups) {
    if (has('nodes')) ctx.report(['groups'], '`nodes` and `groups` cannot be combined', 'give each group its own `nodes`', true)
    for (const k of ['commands', 'ports', 'entrypoint']) if (has(k)) ctx.report([k], `top-level \`${k}\` cannot be combined with \`groups\``, `put \`${k}\` in each group`, true)
    spec.groups = groups
    spec.nodes = groups.reduce((n, g) => n + g.nodes, 0)
  }
  if (has('registry_auth')) {
    const auth = registryAuth(ctx, ['registry_auth'], t.registry_auth)
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
  checkNodeAddresses(ctx, spec)
  return spec
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

function nodeGroups(ctx: FileContext, list: unknown[]): NodeGroupSpec[] | undefined {
  if (list.length === 0) {
    ctx.report(['groups'], '`groups` cannot be empty', 'list at least one group, or drop `groups`')
    return undefined
  }
  const out: NodeGroupSpec[] = []
  list.forEach((g, i) => {
    if (!isObj(g)) return
    const at = (k: string): FieldPath => ['groups', i, k]
    const name = typeof g.name === 'string' ? g.name : String(i)
    if (out.some((x) => x.name === name)) ctx.report(at('name'), `node group \`${name}\` is listed more than once`, 'give each group its own `name`')
    const commands = scriptLines(ctx, at('commands'), g.commands)
    const group: NodeGroupSpec = { name, nodes: typeof g.nodes === 'number' ? g.nodes : 1, commands, commandLines: entryLines(ctx, at('commands'), commands.length), ports: ports(ctx, at('ports'), g.ports) }
    if (commands.length === 0 && !ctx.hasProblemAt(at('commands'))) ctx.report(at('commands'), `node group \`${name}\` has no \`commands\``, 'give every group the commands its nodes run')
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
      if (!spec.groups) ctx.report(path, `\`${m[0]}\` needs \`groups\`: it names a node of a group`, 'use $DSTACK_MASTER_NODE_IP or $DSTACK_NODES_IPS with `nodes:`')
      else if (!ref) ctx.report(path, `\`${m[0]}\` is not a node address`, 'write it as ${{ groups[0].nodes[0].IP_ADDRESS }}')
      else if (ref.group >= spec.groups.length || ref.node >= spec.groups[ref.group]!.nodes) {
        ctx.report(path, `\`${m[0]}\` names a node that does not exist (the task has ${spec.groups.map((g) => `${g.nodes} in \`${g.name}\``).join(', ')})`, 'count groups and nodes from 0')
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
