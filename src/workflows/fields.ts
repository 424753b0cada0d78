/**
 * Field normalisers shared by both formats. Each takes the file context, the field's path and its
 * raw value, reports problems at that path and returns the normalised value (or a safe fallback).
 * Type errors were already reported by the JSON Schema; these check meaning.
 */
import { posix } from 'node:path'
import { assertName, assertRepoId, normaliseRelativePath, UserError, type ArtifactSpec, type DepSpec } from '../model/index.js'
import type { FieldPath, FileContext } from './source.js'
import { ENV_NAME_RE, RUN_CONTEXT, envReference, envTemplate, expressionsIn, namespaceRoot, scanReferences, unsupportedCommandExpressions } from './interpolation.js'

/** which format's rules apply: `task` (current `*.dstack.yml`) or `seed` (0.x `.dstack/workflows.yaml`) */
export type Format = 'task' | 'seed'

export type Obj = Record<string, unknown>
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function userMessage(e: unknown): { message: string; hint?: string } {
  if (e instanceof UserError) return e.hint ? { message: e.message, hint: e.hint } : { message: e.message }
  throw e
}

/** `assertName` semantics, reported as a problem */
export function checkName(ctx: FileContext, path: FieldPath, kind: 'workflow name' | 'tag', v: string): boolean {
  try {
    assertName(kind, v)
    return true
  } catch (e) {
    const m = userMessage(e)
    ctx.report(path, m.message, m.hint)
    return false
  }
}

/**
 * commands / setup, read as dstack reads them. Both formats: `$$` is an escaped `$` (dstack's
 * interpolator). `task`: a list (the schema refuses a string); a number is text (pydantic's
 * `coerce_numbers_to_str`), a boolean is refused; only `${{ run.args }}` is interpolated (the CLI's
 * `_interpolate_commands`), `${{ groups[i].nodes[j].IP_ADDRESS }}` is resolved on the machine, any
 * other reference (`${{ run.name }}` too) is refused as dstack refuses it. `seed`: a list, or one
 * multi-line string kept as one script block; `${{ run.args }}` and `${{ run.name }}` (0.x's
 * `_inject_context`).
 */
export function scriptLines(ctx: FileContext, path: FieldPath, v: unknown, format: Format = 'seed'): string[] {
  if (v === undefined || v === null) return []
  const list = Array.isArray(v) ? v : [v]
  const out: string[] = []
  list.forEach((item, i) => {
    const itemPath = Array.isArray(v) ? [...path, i] : path
    if (format === 'task' && typeof item === 'boolean') {
      if (!ctx.hasProblemAt(itemPath)) ctx.report(itemPath, `expected a command (a string), got the YAML boolean \`${String(item)}\``, 'dstack reads YAML 1.1, where `yes`, `no`, `on`, `off` are booleans: quote the command')
      return
    }
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
      if (!ctx.hasProblemAt(itemPath)) ctx.report(itemPath, 'expected a command (a string)')
      return
    }
    const raw = String(item)
    const allowed: readonly string[] = format === 'task' ? ['run.args'] : RUN_CONTEXT
    const scanned = scanReferences(raw, (name) => (allowed.includes(name) ? `\${{ ${name} }}` : undefined), (name) => ['secrets', 'groups'].includes(namespaceRoot(name)) || (format === 'seed' && !RUN_CONTEXT.includes(name as (typeof RUN_CONTEXT)[number])))
    if (scanned.error) {
      ctx.report(itemPath, `${scanned.error} (dstack refuses this command)`, 'write `${{ run.args }}`; a literal `$` before `{{` is written `$$`')
      return
    }
    if (scanned.missing.length) {
      ctx.report(
        itemPath,
        `Failed to interpolate due to missing vars: [${scanned.missing.map((m) => `'${m}'`).join(', ')}] (dstack interpolates only \`\${{ run.args }}\` in task commands)`,
        scanned.missing.includes('run.name') ? 'use `$DSTACK_RUN_NAME`, which the job\'s environment holds' : 'use `${{ run.args }}`, or an environment variable from `env:`'
      )
      return
    }
    for (const e of unsupportedCommandExpressions(scanned.text)) {
      if (format === 'task' && /^groups\b/.test(e.expr)) continue
      const ref = envReference(e.expr)
      ctx.report(
        itemPath,
        `unsupported expression \`${e.text}\` in a command; only ${format === 'task' ? '`${{ run.args }}` is' : '`${{ run.args }}` and `${{ run.name }}` are'} allowed here`,
        ref ? `put it in \`env:\` (e.g. \`${ref}: \${{ ${e.expr} }}\`) and use \`$${ref}\` in the command` : undefined
      )
    }
    out.push(scanned.text)
  })
  return out
}

export interface EnvResult {
  env: Record<string, string>
  secretEnv: Record<string, string>
}

/**
 * `env` as a list of `NAME=VALUE` / bare `NAME`, or (current format) a mapping.
 * `task` (dstack's `Env` model and `interpolate_job_spec_secrets`): a bare name (or a null mapping
 * value) comes from the environment of the one who applies the file (the CI's here); a value may
 * use `${{ secrets.X }}` only — `${{ env.X }}`, `${{ run.args }}` and `${{ run.name }}` are missing
 * vars there, and node addresses belong to commands; a number is text, a boolean is refused.
 * `seed` (0.x `Provider._env`): a bare name is exported empty; values may use `${{ run.args }}`,
 * `${{ run.name }}` and (run-action extension) `${{ secrets.X }}` / `${{ env.X }}`.
 * Both: `$$` in a value is `$`.
 */
export function envEntries(ctx: FileContext, path: FieldPath, v: unknown, format: Format = 'seed'): EnvResult {
  const out: EnvResult = { env: {}, secretEnv: {} }
  if (v === undefined || v === null) return out
  const seen = new Set<string>()
  const add = (itemPath: FieldPath, name: string, value: string | undefined, keyPos = false) => {
    if (!ENV_NAME_RE.test(name)) {
      ctx.report(itemPath, `invalid environment variable name \`${name}\``, 'use letters, digits and `_`, not starting with a digit', keyPos)
      return
    }
    if (seen.has(name)) {
      ctx.report(itemPath, `Duplicate environment variable: ${name}`, undefined, keyPos)
      return
    }
    seen.add(name)
    if (value === undefined) {
      if (format === 'seed') out.env[name] = ''
      else out.secretEnv[name] = envTemplate(name)
      return
    }
    const exprs = expressionsIn(value)
    if (format === 'task') {
      if (exprs.some((e) => namespaceRoot(e.expr) === 'groups')) {
        ctx.report(itemPath, 'groups IP references are only supported in commands, not in `env`', 'use $DSTACK_NODES_IPS or $DSTACK_MASTER_NODE_IP in the commands')
        return
      }
      const scanned = scanReferences(value, (n) => (n.startsWith('secrets.') ? `\${{ ${n} }}` : undefined))
      if (scanned.error || scanned.missing.length) {
        const why = scanned.error ?? `Failed to interpolate due to missing vars: [${scanned.missing.map((m) => `'${m}'`).join(', ')}]`
        const hint = scanned.missing.some((m) => m.startsWith('env.'))
          ? `dstack reads only \`\${{ secrets.NAME }}\` in env values; write the bare name (\`- ${name}\`) to take it from the environment, or \`\${{ secrets.NAME }}\``
          : 'dstack reads only `${{ secrets.NAME }}` in env values; `${{ run.args }}` belongs to commands, and the run name is `$DSTACK_RUN_NAME`'
        ctx.report(itemPath, `${why} in the value of \`${name}\``, hint)
        return
      }
      if (exprs.length) out.secretEnv[name] = value
      else out.env[name] = scanned.text
      return
    }
    // `${{ run.args }}` / `${{ run.name }}` become the joined args / the name at launch (literal text)
    const runExprs = exprs.filter((e) => (RUN_CONTEXT as readonly string[]).includes(e.expr))
    const bad = exprs.filter((e) => envReference(e.expr) === undefined && !runExprs.includes(e))
    for (const e of bad) {
      ctx.report(itemPath, `unsupported expression \`${e.text}\` in the value of \`${name}\``, 'use `${{ secrets.NAME }}`, `${{ env.NAME }}`, `${{ run.args }}` or `${{ run.name }}`')
    }
    if (bad.length) return
    if (runExprs.length && runExprs.length < exprs.length) {
      ctx.report(itemPath, `the value of \`${name}\` mixes \`\${{ run.* }}\` with secrets or CI variables`, 'use two variables: one for the run\'s arguments, one for the secret')
      return
    }
    if (runExprs.length) out.env[name] = value
    else if (exprs.length) out.secretEnv[name] = value
    else out.env[name] = scanReferences(value, () => undefined).text
  }
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (typeof item !== 'string') return
      const eq = item.indexOf('=')
      if (eq < 0) add([...path, i], item.trim(), undefined)
      else add([...path, i], item.slice(0, eq).trim(), item.slice(eq + 1))
    })
  } else if (isObj(v)) {
    for (const [name, value] of Object.entries(v)) {
      if (value === null || value === undefined) add([...path, name], name, undefined, true)
      else if (format === 'task' && typeof value === 'boolean') {
        ctx.report([...path, name], `the value of \`${name}\` is the YAML boolean \`${String(value)}\`, which dstack refuses (an env value is text)`, 'dstack reads YAML 1.1, where `yes`, `no`, `on`, `off`, `true` are booleans: quote it (`"true"`)')
      } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') add([...path, name], name, String(value))
    }
  }
  return out
}

/** a relative path inside the checkout, normalised; `.` stays `.` */
export function relativePath(ctx: FileContext, path: FieldPath, kind: string, v: string, allowDot = false): string | undefined {
  // only `.` segments (`.`, `./`, `././`) mean the root; `..`, `./..` or `...` are not `.`
  if (allowDot && v.trim() !== '' && v.trim().split('/').every((p) => p === '.' || p === '')) return '.'
  try {
    return normaliseRelativePath(kind, v.trim())
  } catch (e) {
    const m = userMessage(e)
    ctx.report(path, m.message, m.hint ?? `a path relative to the ${kind === 'working_dir' ? 'repository root' : 'working directory'}`)
    return undefined
  }
}

/**
 * An absolute path (a container or machine path): normalised, no `..`, no control characters,
 * not `/` itself. `~` and `~/…` are read as `/root…` (dstack's home folder of a job).
 */
export function absolutePath(ctx: FileContext, path: FieldPath, kind: string, v: string): string | undefined {
  const text = v.trim().replace(/^~(?=\/|$)/, '/root')
  const parts = text.split('/').filter((p) => p !== '' && p !== '.')
  // eslint-disable-next-line no-control-regex
  if (!text.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(text) || parts.includes('..') || parts.length === 0 || text.length > 1024) {
    ctx.report(path, `invalid ${kind} ${JSON.stringify(v)}`, 'an absolute path names a folder below `/`, without `..`, backslashes or control characters')
    return undefined
  }
  return '/' + parts.join('/')
}

/** the run name's reference in a 0.x string field, as the spec keeps it until the run has a name */
export const RUN_NAME_REF = '${{ run.name }}'
/** a stand-in with the shape of a generated run name, to check a path that holds RUN_NAME_REF */
const RUN_NAME_SAMPLE = 'run-name-1'

/**
 * artifacts: `{path, mount}` or plain strings; relative to the working directory, or absolute.
 * `seed`: `${{ run.name }}` in a path is the run's name (0.x interpolated every string,
 * `Provider._inject_context`); it stays RUN_NAME_REF until launch (orchestrate/run-name-fields.ts).
 */
export function artifacts(ctx: FileContext, path: FieldPath, v: unknown, format: Format = 'task'): ArtifactSpec[] {
  if (!Array.isArray(v)) return []
  const out: ArtifactSpec[] = []
  v.forEach((item, i) => {
    const p: FieldPath = [...path, i]
    const raw = typeof item === 'string' ? item : isObj(item) && typeof item.path === 'string' ? item.path : undefined
    if (raw === undefined) return
    const at = isObj(item) ? [...p, 'path'] : p
    const refs = expressionsIn(raw)
    const bad = refs.find((e) => format !== 'seed' || e.expr !== 'run.name')
    if (bad) {
      ctx.report(at, `unsupported expression \`${bad.text}\` in an artifact path`, format === 'seed' ? 'only `${{ run.name }}` is interpolated in a 0.x artifact path' : 'an artifact path of a task is a plain path')
      return
    }
    // checked with a stand-in name, kept with the reference until the run has its name
    const text = refs.length ? raw.replace(/\$\{\{\s*run\.name\s*\}\}/g, RUN_NAME_SAMPLE) : raw
    const checked = text.trim().startsWith('/') || text.trim().startsWith('~') ? absolutePath(ctx, at, 'artifact path', text) : relativePath(ctx, at, 'artifact path', text)
    const norm = checked === undefined || !refs.length ? checked : checked.split(RUN_NAME_SAMPLE).join(RUN_NAME_REF)
    if (norm === undefined) return
    if (out.some((a) => a.path === norm)) {
      ctx.report(p, `artifact \`${norm}\` is listed more than once`)
      return
    }
    out.push({ path: norm, mount: isObj(item) && item.mount === true })
  })
  return out
}

/**
 * A dependency reference: `name`, or `owner/repo/name` (another GitHub repo), or
 * `host/owner/…/repo/name` (a repo on another host). In the plain-string form a leading `:` marks a tag.
 */
function depRef(ctx: FileContext, path: FieldPath, kind: 'tag' | 'workflow', ref: string): DepSpec | undefined {
  const parts = ref.split('/')
  let name = parts.pop()!
  let repo: string | undefined
  if (parts.length) {
    repo = parts.length === 2 && !parts[0]!.includes('.') ? `github.com/${parts.join('/')}` : parts.join('/')
    try {
      assertRepoId(repo)
    } catch (e) {
      const m = userMessage(e)
      ctx.report(path, `invalid dependency \`${ref}\`: ${m.message}`, 'use `name`, `owner/repo/name` (GitHub) or `host/owner/repo/name`')
      return undefined
    }
  }
  if (name.startsWith(':')) {
    kind = 'tag'
    name = name.slice(1)
  }
  if (!checkName(ctx, path, kind === 'tag' ? 'tag' : 'workflow name', name)) return undefined
  return repo ? { kind, name, repo } : { kind, name }
}

/** deps: `{tag}`, `{workflow}` (`mount` ignored), or plain strings `":tag"`, `"workflow"`, `"owner/repo/:tag"` */
export function deps(ctx: FileContext, path: FieldPath, v: unknown): DepSpec[] {
  if (!Array.isArray(v)) return []
  const out: DepSpec[] = []
  v.forEach((item, i) => {
    const p: FieldPath = [...path, i]
    let dep: DepSpec | undefined
    if (typeof item === 'string') dep = depRef(ctx, p, 'workflow', item.trim())
    else if (isObj(item)) {
      const hasTag = typeof item.tag === 'string'
      const hasWf = typeof item.workflow === 'string'
      if (hasTag === hasWf) {
        if (!ctx.hasProblemAt(p)) ctx.report(p, 'a dependency names exactly one of `tag` or `workflow`', 'e.g. `- tag: my-model` or `- workflow: prepare-data`')
        return
      }
      dep = hasTag ? depRef(ctx, [...p, 'tag'], 'tag', String(item.tag).trim()) : depRef(ctx, [...p, 'workflow'], 'workflow', String(item.workflow).trim())
    }
    if (dep) out.push(dep)
  })
  return out
}

/**
 * ports. Seed era 0.0.x – 0.9: an int count N meant "allocate N ports" (`$PORT_0`…): it becomes N
 * entries of 0, meaning "any free port". Lists: numbers; `task` (dstack's `PortMapping.parse`):
 * `"80:8080"`, `"*:8080"` are local:container → the container port; `seed` (0.10's apps):
 * `"3000:8080"` is app:local → the app's port, 3000.
 */
export function ports(ctx: FileContext, path: FieldPath, v: unknown, format: Format = 'task'): number[] {
  if (v === undefined || v === null) return []
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 16) ctx.report(path, `invalid port count ${v}`, 'a count of ports to allocate is 0–16; or list port numbers')
    return Number.isInteger(v) && v >= 0 && v <= 16 ? new Array<number>(v).fill(0) : []
  }
  if (!Array.isArray(v)) return []
  const out: number[] = []
  v.forEach((item, i) => {
    const p: FieldPath = [...path, i]
    if (isObj(item)) {
      // dstack's PortMapping object: `{container_port, local_port}`; only the container port matters here
      const port = item.container_port
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        if (!ctx.hasProblemAt(p)) ctx.report([...p, 'container_port'], `invalid port ${JSON.stringify(port)}`, 'expected `{container_port: 8080}` (1–65535), optionally with `local_port`')
      } else if (!out.includes(port)) out.push(port)
      return
    }
    const text = String(item).trim()
    const m = format === 'seed' ? /^(\d+)(?::\d+)?$/.exec(text) : /^(?:(?:\*|\d+):)?(\d+)$/.exec(text)
    const port = m ? Number(m[1]) : NaN
    if (!m || port < 1 || port > 65535) {
      if (!ctx.hasProblemAt(p)) ctx.report(p, `invalid port \`${text}\``, format === 'seed' ? 'expected a port number 1–65535 or `"3000:8080"` (app:local)' : 'expected a port number 1–65535, `"80:8080"`, `"*:8080"` (local:container) or `{container_port: 8080}`')
      return
    }
    if (!out.includes(port)) out.push(port)
  })
  return out
}

/** cache: list of `{path}` or strings; `~/…`, relative (normalised) or absolute container paths */
export function cachePaths(ctx: FileContext, path: FieldPath, v: unknown): string[] {
  if (!Array.isArray(v)) return []
  const out: string[] = []
  v.forEach((item, i) => {
    const raw = typeof item === 'string' ? item : isObj(item) && typeof item.path === 'string' ? item.path : undefined
    if (raw === undefined) return
    const p: FieldPath = isObj(item) ? [...path, i, 'path'] : [...path, i]
    const text = raw.trim()
    // eslint-disable-next-line no-control-regex
    if (!text || /[\u0000-\u001f\u007f\\]/.test(text) || text.split('/').includes('..')) {
      ctx.report(p, `invalid cache path ${JSON.stringify(raw)}`, 'no `..`, backslashes or control characters')
      return
    }
    const norm = text.startsWith('/') || text.startsWith('~') ? text.replace(/\/+$/, '') || '/' : relativePath(ctx, p, 'cache path', text)
    if (norm !== undefined && (norm === '~' || (norm.startsWith('~') && !norm.startsWith('~/')))) {
      ctx.report(p, `invalid cache path ${JSON.stringify(raw)}`, '`~/…` is a folder of the home folder; `~` itself or `~user` cannot be cached')
      return
    }
    if (norm !== undefined && !out.includes(norm)) out.push(norm)
  })
  return out
}

const CACHE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const RESTORE_KEY = /^[A-Za-z0-9._-]{0,128}$/

/** `cache` items' own `key` and `restore_keys` (docs/cache.md), by normalised path */
export function cacheOptions(ctx: FileContext, path: FieldPath, v: unknown, paths: string[]): Record<string, { key?: string; restoreKeys?: string[] }> | undefined {
  if (!Array.isArray(v)) return undefined
  const out: Record<string, { key?: string; restoreKeys?: string[] }> = {}
  let i = 0
  for (const item of v) {
    const at: FieldPath = [...path, i++]
    if (!isObj(item) || typeof item.path !== 'string') continue
    const o: { key?: string; restoreKeys?: string[] } = {}
    if (item.key !== undefined) {
      if (typeof item.key !== 'string' || !CACHE_KEY.test(item.key)) ctx.report([...at, 'key'], `invalid cache key ${JSON.stringify(item.key)}`, 'letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 128 characters (e.g. `pip-v1`)')
      else o.key = item.key
    }
    if (item.restore_keys !== undefined) {
      const list = Array.isArray(item.restore_keys) ? item.restore_keys : [item.restore_keys]
      const good = list.filter((k): k is string => typeof k === 'string' && RESTORE_KEY.test(k))
      if (good.length !== list.length) ctx.report([...at, 'restore_keys'], 'invalid cache restore_keys', 'a list of key prefixes: letters, digits, `.`, `_` and `-` (e.g. `[pip-]`)')
      else o.restoreKeys = good
    }
    const text = (item.path as string).trim().replace(/\/+$/, '')
    const norm = paths.find((p) => p === text || p === posix.normalize(text))
    if (norm !== undefined && (o.key !== undefined || o.restoreKeys !== undefined)) out[norm] = o
  }
  return Object.keys(out).length ? out : undefined
}

export const REGISTRY_USERNAME_ENV = 'DSTACK_REGISTRY_USERNAME'
export const REGISTRY_PASSWORD_ENV = 'DSTACK_REGISTRY_PASSWORD'

/**
 * `registry_auth: {username, password}`: the password must come from the CI environment
 * (`${{ secrets.X }}` or `${{ env.X }}`), so it is never written to a store, a script or a disk;
 * the username may be a literal. Both stay templates until launch.
 */
export function registryAuth(ctx: FileContext, path: FieldPath, v: unknown): { username: string; password: string } | undefined {
  if (!isObj(v) || ctx.hasProblemAt(path)) return undefined
  const out: Record<'username' | 'password', string> = { username: '', password: '' }
  for (const k of ['username', 'password'] as const) {
    const value = v[k]
    if (typeof value !== 'string') continue
    const exprs = expressionsIn(value)
    const bad = exprs.filter((e) => envReference(e.expr) === undefined)
    if (bad.length) {
      ctx.report([...path, k], `unsupported expression \`${bad[0]!.text}\` in \`registry_auth.${k}\``, 'use `${{ secrets.NAME }}` or `${{ env.NAME }}`, read from the CI environment at launch')
      continue
    }
    if (k === 'password' && exprs.length === 0) {
      ctx.report([...path, k], 'the registry password is written in the file', 'keep it in a CI secret and write `password: ${{ secrets.REGISTRY_TOKEN }}` (GitHub: map the secret into the step\'s `env:`)')
      continue
    }
    out[k] = value
  }
  return out.username && out.password ? out : undefined
}

/** the Python versions each format's dstack accepts: current `PythonVersion` (3.9 – 3.14); 0.x `_safe_python_version` (3.7 – 3.11) */
const PYTHON_VERSIONS: Record<Format, string[]> = {
  task: ['3.9', '3.10', '3.11', '3.12', '3.13', '3.14'],
  seed: ['3.7', '3.8', '3.9', '3.10', '3.11']
}

/** python: `3.10`, `"3.9"`; the number `3.1` is read as 3.10, as dstack does (YAML drops the zero) */
export function pythonVersion(ctx: FileContext, path: FieldPath, v: unknown, format: Format = 'seed'): string | undefined {
  if (v === undefined || v === null) return undefined
  let s = String(v).trim()
  if (s === '3.1' && typeof v === 'number') s = '3.10'
  const versions = PYTHON_VERSIONS[format]
  if (!versions.includes(s)) {
    ctx.report(path, `unsupported python version \`${String(v)}\`: dstack${format === 'seed' ? ' 0.x' : ''} supports ${versions.join(', ')}`, `use one of them, quoted (\`python: "${versions[versions.length - 1]}"\`) so YAML keeps the trailing zero of 3.10`)
    return undefined
  }
  return s
}

/** a list of strings (instance_types, regions, availability_zones; dstack's `List[str]`: numbers are text) */
export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x) => typeof x === 'string' || typeof x === 'number').map((s) => String(s).trim()) : []
}
