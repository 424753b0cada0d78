/**
 * Seed-era `.dstack/workflows.yaml` (dstack 0.0.7 – 0.10.4): a `workflows:` list of named
 * workflows with a `provider`. Only `bash` and `docker` run in CI.
 */
import type { GpuSpec, Resources, RunSpec } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'
import { checkSchema } from './schema-check.js'
import { baseSpec, entryLines, sourceAt, type WorkflowEntry } from './entry.js'
import {
  artifacts, cachePaths, checkName, deps, envEntries, isObj, ports, pythonVersion, relativePath, scriptLines, type Obj
} from './fields.js'
import { parseSizeMiB } from './units.js'

const INTERACTIVE = ['code', 'lab', 'notebook', 'ssh']
const PROVIDER_ONLY: Record<string, string> = { version: 'code', code: 'ssh', file: 'torchrun', args: 'torchrun', nodes: 'torchrun' }
const IGNORED: Record<string, string> = {
  home_dir: '`home_dir` is ignored',
  ssh: '`ssh` is ignored: CI runs are not interactive',
  build: '`build` is ignored: images are not prebuilt'
}

export function parseSeedFile(ctx: FileContext, root: unknown): WorkflowEntry[] {
  checkSchema(ctx, 'workflows', root)
  if (!isObj(root) || !Array.isArray(root.workflows)) return []
  const out: WorkflowEntry[] = []
  root.workflows.forEach((item, i) => {
    const entry = seedWorkflow(ctx, item, ['workflows', i])
    if (entry) out.push(entry)
  })
  return out
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

function seedWorkflow(ctx: FileContext, w: unknown, path: FieldPath): WorkflowEntry | undefined {
  if (!isObj(w)) return undefined
  const at = (k: string): FieldPath => [...path, k]
  const name = typeof w.name === 'string' ? w.name : undefined
  if (name !== undefined && !ctx.hasProblemAt(at('name'))) checkName(ctx, at('name'), 'workflow name', name)
  const provider = typeof w.provider === 'string' ? w.provider : undefined
  if (provider && INTERACTIVE.includes(provider)) {
    ctx.report(at('provider'), `interactive provider \`${provider}\` cannot run in CI; use \`bash\` (commands) or \`docker\` (an image)`,
      'CI runs have no one to attach to a notebook, IDE or shell')
    return undefined
  }
  if (provider === 'torchrun') {
    ctx.report(at('provider'), 'provider `torchrun` is not supported; use `bash` and call `torchrun` in `commands`', 'multi-node runs are not supported yet')
    return undefined
  }

  const spec: RunSpec = baseSpec(name ?? '', 'workflows.yaml', sourceAt(ctx, path))
  if (provider) spec.provider = provider
  if (typeof w.help === 'string') spec.help = w.help
  spec.commands = scriptLines(ctx, at('commands'), w.commands)
  spec.commandLines = entryLines(ctx, at('commands'), spec.commands.length)
  spec.setup = [...scriptLines(ctx, at('before_run'), w.before_run), ...scriptLines(ctx, at('setup'), w.setup)]
  if (typeof w.requirements === 'string') {
    const req = relativePath(ctx, at('requirements'), 'requirements', w.requirements)
    if (req) spec.setup.unshift(`pip install -r ${shellWord(req)}`)
  }
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
  const py = pythonVersion(ctx, at('python'), w.python)
  if (py) {
    if (provider === 'docker') ctx.warn(at('python'), '`python` is ignored with provider `docker` (the image decides)')
    else spec.python = py
  }
  const env = envEntries(ctx, at('env'), w.env)
  spec.env = env.env
  spec.secretEnv = env.secretEnv
  spec.artifacts = artifacts(ctx, at('artifacts'), w.artifacts)
  spec.deps = deps(ctx, at('deps'), w.deps)
  spec.ports = ports(ctx, at('ports'), w.ports)
  spec.cache = cachePaths(ctx, at('cache'), w.cache)
  if (typeof w.working_dir === 'string') spec.workingDir = relativePath(ctx, at('working_dir'), 'working_dir', w.working_dir, true) ?? '.'
  if (w.registry_auth !== undefined) {
    ctx.report(at('registry_auth'), '`registry_auth` is not supported yet', 'use a public image, or one the instance profile can pull (ECR)', true)
  }
  for (const [k, p] of Object.entries(PROVIDER_ONLY)) {
    if (w[k] !== undefined && !ctx.hasProblemAt(at(k))) ctx.report(at(k), `\`${k}\` belongs to provider \`${p}\`, not \`${provider ?? '?'}\``, undefined, true)
  }
  for (const [k, m] of Object.entries(IGNORED)) if (w[k] !== undefined) ctx.warn(at(k), m, undefined, true)
  if (isObj(w.resources) && !ctx.hasProblemAt(at('resources'))) seedResources(ctx, at('resources'), w.resources, spec)

  if (name === undefined || ctx.hasProblemAt(path)) return undefined
  const n = ctx.position(at('name'))
  return { spec, nameAt: { file: ctx.file, line: n.line, column: n.column, path: at('name') } }
}

/** 0.0.x resources: every figure is a minimum; `interruptible` chooses the market */
function seedResources(ctx: FileContext, path: FieldPath, r: Obj, spec: RunSpec): void {
  const res: Resources = spec.resources
  const at = (k: string): FieldPath => [...path, k]
  let gpu: GpuSpec | undefined
  if (typeof r.gpu === 'number') {
    if (r.gpu > 0) gpu = { names: [], count: { min: r.gpu, max: r.gpu } }
  } else if (isObj(r.gpu)) {
    const count = typeof r.gpu.count === 'number' ? r.gpu.count : 1
    gpu = { names: typeof r.gpu.name === 'string' ? [r.gpu.name.toUpperCase()] : [], count: { min: count, max: count } }
    if (typeof r.gpu.memory === 'string') {
      const m = parseSizeMiB(r.gpu.memory)
      if (m.ok) gpu.memoryMiB = { min: m.value }
      else ctx.report(at('gpu'), m.message, m.hint)
    }
  }
  const legacy = Object.keys(r).filter((k) => k.endsWith('/gpu'))
  if (legacy.length > 1 || (legacy.length === 1 && r.gpu !== undefined)) {
    ctx.report(at(legacy[legacy.length - 1]!), 'GPUs are requested more than once', 'keep one of `gpu:` or `<NAME>/gpu:`', true)
  } else if (legacy.length === 1) {
    const count = Number(r[legacy[0]!])
    gpu = { names: [legacy[0]!.slice(0, -'/gpu'.length).toUpperCase()], count: { min: count, max: count } }
  }
  if (gpu) res.gpu = gpu
  for (const [key, field] of [['memory', 'memoryMiB'], ['shm_size', 'shmSizeMiB']] as const) {
    if (typeof r[key] !== 'string') continue
    const m = parseSizeMiB(r[key])
    if (!m.ok) ctx.report(at(key), m.message, m.hint)
    else if (field === 'memoryMiB') res.memoryMiB = { min: m.value }
    else res.shmSizeMiB = m.value
  }
  if (typeof r.cpu === 'number') res.cpu = { min: r.cpu }
  if (typeof r.interruptible === 'boolean') spec.spotPolicy = r.interruptible ? 'spot' : 'on-demand'
}
