/**
 * Seed-era `.dstack/workflows.yaml` (dstack 0.0.1 – 0.10.4): a `workflows:` list of named
 * workflows with a `provider`. `bash`, `docker` and the early `python` provider run in CI; the
 * interactive and app providers are skipped with a reason, never errors.
 */
import type { GpuSpec, Resources, RunSpec } from '../model/index.js'
import { formatPath, type FieldPath, type FileContext } from './source.js'
import { checkSchema } from './schema-check.js'
import { baseSpec, emptyOutcome, entryLines, sourceAt, type FileOutcome } from './entry.js'
import {
  artifacts, cacheOptions, cachePaths, checkName, deps, envEntries, isObj, ports, pythonVersion, registryAuth, relativePath, scriptLines, type Obj
} from './fields.js'
import { parseSeedSizeMiB } from './units.js'
import { parseGpuSpec } from './gpu.js'
import { MULTI_NODE_REASON } from './task-format.js'

/** providers that cannot run in CI, with the reason `validate` shows */
export const SKIPPED_PROVIDERS: Record<string, string> = {
  code: 'provider `code` opens VS Code in the browser; a CI run has no one to use it',
  lab: 'provider `lab` opens JupyterLab; a CI run has no one to use it',
  notebook: 'provider `notebook` opens Jupyter; a CI run has no one to use it',
  ssh: 'provider `ssh` starts an SSH server to attach to; a CI run has no one to attach',
  streamlit: 'provider `streamlit` serves an app until stopped; a CI run must end',
  gradio: 'provider `gradio` serves an app until stopped; a CI run must end',
  fastapi: 'provider `fastapi` serves an app until stopped; a CI run must end',
  tensorboard: 'provider `tensorboard` serves TensorBoard until stopped; a CI run must end',
  curl: 'provider `curl` (dstack 0.0.1–0.0.6) is gone; write `provider: bash` with `commands: [curl -fLo output/FILE URL]` to run it in CI',
  torchrun: 'provider `torchrun` starts distributed training; write `provider: bash` with `commands: [torchrun … script.py]` to run it on one machine'
}
/** fields that belong to some providers only: for hints that name the right ones */
const PROVIDER_FIELDS: Record<string, { providers: string[]; meaning: string }> = {
  version: { providers: ['code', 'python'], meaning: 'the openvscode-server version (`code`) or the Python version (`python`); for `bash` and `docker` write `python:`' },
  code: { providers: ['ssh'], meaning: 'print a VS Code link (`ssh`)' },
  file: { providers: ['python', 'torchrun'], meaning: 'the script to run (`python`, `torchrun`); for `bash` call it in `commands`' },
  script: { providers: ['python'], meaning: 'the script to run (`python`); for `bash` call it in `commands`' },
  args: { providers: ['python', 'torchrun'], meaning: 'the script\'s arguments (`python`, `torchrun`); for `bash` write them in `commands`, or use `${{ run.args }}`' },
  environment: { providers: ['python'], meaning: 'environment variables (`python`); for `bash` and `docker` write `env:`' },
  nodes: { providers: ['torchrun'], meaning: 'the node count (`torchrun`)' }
}
const IGNORED: Record<string, string> = {
  home_dir: '`home_dir` is ignored',
  ssh: '`ssh` is ignored: CI runs are not interactive',
  build: '`build` is ignored: images are not prebuilt'
}

export function parseSeedFile(ctx: FileContext, root: unknown): FileOutcome {
  checkSchema(ctx, 'workflows', root)
  const out = emptyOutcome()
  if (!isObj(root) || !Array.isArray(root.workflows)) return out
  root.workflows.forEach((item, i) => seedWorkflow(ctx, item, ['workflows', i], out))
  return out
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

function seedWorkflow(ctx: FileContext, w: unknown, path: FieldPath, out: FileOutcome): void {
  if (!isObj(w)) return
  const at = (k: string): FieldPath => [...path, k]
  const name = typeof w.name === 'string' ? w.name : undefined
  const pos = ctx.position(path)
  const provider = typeof w.provider === 'string' ? w.provider : undefined
  const skip = provider === 'torchrun' && typeof w.nodes === 'number' && w.nodes > 1 ? MULTI_NODE_REASON : provider ? SKIPPED_PROVIDERS[provider] : undefined
  if (skip) {
    // not runnable by nature: its own fields are not checked (other providers' grammar), only listed
    ctx.dropProblemsAt(path)
    const skipped = { file: ctx.file, line: pos.line, column: pos.column, kind: `provider: ${provider}`, reason: skip }
    out.skipped.push(name !== undefined ? { ...skipped, workflow: name } : skipped)
    return
  }
  if (name !== undefined) out.seen.push({ name, file: ctx.file, root: formatPath(path), line: pos.line, column: pos.column, derived: false })
  if (name !== undefined && !ctx.hasProblemAt(at('name'))) checkName(ctx, at('name'), 'workflow name', name)

  const spec: RunSpec = baseSpec(name ?? '', 'workflows.yaml', sourceAt(ctx, path))
  if (provider) spec.provider = provider
  if (typeof w.help === 'string') spec.help = w.help
  spec.commands = scriptLines(ctx, at('commands'), w.commands)
  spec.commandLines = entryLines(ctx, at('commands'), spec.commands.length)
  // `before_run` (0.0.x) was renamed `setup`; no release read both, so a workflow gives one of them
  if (w.before_run !== undefined && w.setup !== undefined) ctx.report(at('before_run'), '`setup` and `before_run` are the same field (0.0.x called it `before_run`); give one of them', 'merge the commands into `setup`', true)
  spec.setup = [...scriptLines(ctx, at('before_run'), w.before_run), ...scriptLines(ctx, at('setup'), w.setup)]
  if (typeof w.requirements === 'string') {
    const req = relativePath(ctx, at('requirements'), 'requirements', w.requirements)
    if (req) spec.setup.unshift(`pip install -r ${shellWord(req)}`)
  }
  if (provider === 'python') pythonProvider(ctx, path, w, spec)
  if (provider === 'bash' && spec.commands.length === 0 && !ctx.hasProblemAt(at('commands')) && !ctx.misspelt(path, 'commands')) {
    ctx.report(path, 'provider `bash` needs `commands`', 'e.g. `commands: [python train.py]`')
  }
  if (typeof w.image === 'string') spec.image = w.image
  if (typeof w.entrypoint === 'string') spec.entrypoint = w.entrypoint
  if (provider === 'docker' && !spec.image && !ctx.hasProblemAt(at('image')) && !ctx.misspelt(path, 'image')) {
    ctx.report(path, 'provider `docker` needs `image`', 'e.g. `image: ubuntu:22.04`')
  }
  if (provider === 'bash' && (w.image !== undefined || w.entrypoint !== undefined)) {
    ctx.report(at(w.image !== undefined ? 'image' : 'entrypoint'), '`image` and `entrypoint` belong to provider `docker`', 'use `provider: docker`, or drop them', true)
  }
  const py = pythonVersion(ctx, at('python'), w.python ?? (provider === 'python' ? w.version : undefined), 'seed')
  if (py) {
    if (provider === 'docker') ctx.warn(at('python'), '`python` is ignored with provider `docker` (the image decides)')
    else spec.python = py
  }
  const env = envEntries(ctx, at(w.env === undefined && provider === 'python' ? 'environment' : 'env'), w.env ?? (provider === 'python' ? w.environment : undefined))
  spec.env = env.env
  spec.secretEnv = env.secretEnv
  spec.artifacts = artifacts(ctx, at('artifacts'), w.artifacts, 'seed')
  spec.deps = deps(ctx, at('deps'), w.deps)
  spec.ports = ports(ctx, at('ports'), w.ports, 'seed')
  spec.cache = cachePaths(ctx, at('cache'), w.cache)
  const cacheOpts = cacheOptions(ctx, at('cache'), w.cache, spec.cache)
  if (cacheOpts) spec.cacheOptions = cacheOpts
  if (typeof w.working_dir === 'string') spec.workingDir = relativePath(ctx, at('working_dir'), 'working_dir', w.working_dir, true) ?? '.'
  if (w.registry_auth !== undefined && w.registry_auth !== null) {
    const auth = registryAuth(ctx, at('registry_auth'), w.registry_auth)
    if (auth && !spec.image) ctx.warn(at('registry_auth'), '`registry_auth` is ignored: there is no `image` to pull', undefined, true)
    else if (auth) spec.registryAuth = auth
  }
  for (const [k, f] of Object.entries(PROVIDER_FIELDS)) {
    if (w[k] === undefined || ctx.hasProblemAt(at(k)) || (provider && f.providers.includes(provider))) continue
    const owners = f.providers.map((p) => `\`${p}\``).join(' and ')
    ctx.report(at(k), `\`${k}\` is a field of provider${f.providers.length > 1 ? 's' : ''} ${owners}, not of \`${provider ?? '?'}\``, `it means ${f.meaning}`, true)
  }
  for (const [k, m] of Object.entries(IGNORED)) if (w[k] !== undefined) ctx.warn(at(k), m, undefined, true)
  if (isObj(w.resources)) seedResources(ctx, at('resources'), w.resources, spec)

  if (name === undefined || ctx.hasProblemAt(path)) return
  const n = ctx.position(at('name'))
  out.entries.push({ spec, nameAt: { file: ctx.file, line: n.line, column: n.column, path: at('name') } })
}

/**
 * The early `python` provider (2022): `file` (or `script`) run with Python, `args`,
 * `requirements`, `version` (the Python version), `environment` (a mapping). Becomes commands.
 */
function pythonProvider(ctx: FileContext, path: FieldPath, w: Obj, spec: RunSpec): void {
  const key = w.file !== undefined ? 'file' : 'script'
  const script = w[key]
  if (typeof script !== 'string') {
    if (!ctx.hasProblemAt([...path, key])) ctx.report(path, 'provider `python` needs `file` (the script to run)', 'e.g. `file: train.py`')
    return
  }
  const file = relativePath(ctx, [...path, key], 'file', script)
  if (!file) return
  const args = Array.isArray(w.args) ? w.args.map((a) => shellWord(String(a))).join(' ') : typeof w.args === 'string' ? w.args : ''
  spec.commands = [`python ${shellWord(file)}${args ? ` ${args}` : ''}`, ...spec.commands]
}

/**
 * 0.x resources (`Provider._resources`): every figure is a minimum, the GPU count too (0.x asked for
 * an instance with at least that many); sizes are read as 0.x read them (`64GB` decimal, see
 * parseSeedSizeMiB); `interruptible` chooses the market.
 */
function seedResources(ctx: FileContext, path: FieldPath, r: Obj, spec: RunSpec): void {
  const res: Resources = spec.resources
  const at = (k: string): FieldPath => [...path, k]
  let gpu: GpuSpec | undefined
  if (typeof r.gpu === 'number') {
    if (r.gpu > 0) gpu = { names: [], count: { min: r.gpu } }
  } else if (typeof r.gpu === 'string' && !ctx.hasProblemAt(at('gpu'))) {
    // run-action extension: the dstack gpu grammar of the current format (`A10G:1`, `24GB..:2`)
    const g = parseGpuSpec(r.gpu)
    if (g.ok) gpu = g.value
    else ctx.report(at('gpu'), g.message, g.hint)
  } else if (isObj(r.gpu)) {
    const count = typeof r.gpu.count === 'number' ? r.gpu.count : 1
    gpu = { names: typeof r.gpu.name === 'string' ? [r.gpu.name.toUpperCase()] : [], count: { min: count } }
    if (typeof r.gpu.memory === 'string') {
      const m = parseSeedSizeMiB(r.gpu.memory)
      if (m.ok) gpu.memoryMiB = { min: m.value }
      else ctx.report(at('gpu'), m.message, m.hint)
    }
  }
  const legacy = Object.keys(r).filter((k) => k.endsWith('/gpu'))
  if (legacy.length > 1 || (legacy.length === 1 && r.gpu !== undefined)) {
    ctx.report(at(legacy[legacy.length - 1]!), 'GPUs are requested more than once', 'keep one of `gpu:` or `<NAME>/gpu:`', true)
  } else if (legacy.length === 1) {
    const count = Number(r[legacy[0]!])
    gpu = { names: [legacy[0]!.slice(0, -'/gpu'.length).toUpperCase()], count: { min: count } }
  }
  if (gpu) res.gpu = gpu
  for (const [key, field] of [['memory', 'memoryMiB'], ['shm_size', 'shmSizeMiB']] as const) {
    if (typeof r[key] !== 'string') continue
    const m = parseSeedSizeMiB(r[key])
    if (!m.ok) ctx.report(at(key), m.message, m.hint)
    else if (field === 'memoryMiB') res.memoryMiB = { min: m.value }
    else res.shmSizeMiB = m.value
  }
  if (typeof r.cpu === 'number') res.cpu = { min: r.cpu }
  if (typeof r.interruptible === 'boolean') {
    spec.spotPolicy = r.interruptible ? 'spot' : 'on-demand'
    spec.fromFile = ['spot_policy']
  }
}
