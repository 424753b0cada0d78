/**
 * Pure: RunnerPlan → the bash script that runs an attempt on the machine (DESIGN.md "Runner script
 * contract"). The same text runs under SSM `AWS-RunShellScript` on EC2 (root, no HOME, minimal PATH)
 * and through the local backend. The header holds the plan's values, every one shell-quoted; the
 * body (runner-body.sh) is static. Secret values never appear: only their names.
 */
import { createHash } from 'node:crypto'
import { shlexJoin, shlexSplit } from './shlex.js'
import { assertName, assertRepoId, normaliseAbsolutePath, normaliseRelativePath, ROOT_ARTIFACT_PREFIX } from '../model/names.js'
import { UserError } from '../model/errors.js'
import type { RunnerPlan } from './plan.js'
import { shellArray, shellQuote } from './quote.js'
import { RUNNER_BODY } from './body.generated.js'
import { argsText, interpolateCommand as referenceArgs, jobArgsPrelude } from './interpolate.js'
import { DOCKER_CLIENT_ENV, JOB_PASSTHROUGH_ENV } from './job-env.js'

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
const RESERVED_ENV = /^(DSTACK_NODES_NUM|DSTACK_NODE_RANK|DSTACK_MASTER_NODE_IP|DSTACK_NODES_IPS|DSTACK_GPUS_PER_NODE|DSTACK_GPUS_NUM|DSTACK_MPI_HOSTFILE|DSTACK_NODE_IP_[0-9]+|DSTACK_RUN_NAME|DSTACK_RUN_ID|DSTACK_JOB_ID|DSTACK_WORKING_DIR|DSTACK_REPO_DIR|DSTACK_GPUS_BY_RANK|DSTACK_WORKFLOW|DSTACK_REPO_ID|DSTACK_REVISION|DSTACK_ATTEMPT|DSTACK_RUNNER_DIR|DSTACK_METRICS|DSTACK_REPORT|DSTACK_REGISTRY_USERNAME|DSTACK_REGISTRY_PASSWORD|DSTACK_ARGS|DSTACK_ARGS_TEXT|DSTACK_REDACT|DSTACK_RESTORED|DSTACK_RESUMED_FROM)$/
const ARGS_RE = /\$\{\{\s*run\.args\s*\}\}/g
const NAME_RE = /\$\{\{\s*run\.name\s*\}\}/g

/** exit codes of the runner script (0 = succeeded; failed = the job's own exit code, or 1) */
export const RUNNER_EXIT = { succeeded: 0, timedOut: 124, cancelled: 143, interrupted: 75 } as const

function fail(msg: string): never {
  throw new UserError(`cannot render the runner script: ${msg}`)
}

/** a store key or key prefix: relative, no `..`, no control characters; trailing `/` dropped */
function storeKey(kind: string, key: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof key !== 'string' || key === '' || /[\u0000-\u001f\u007f\\]/.test(key) || key.startsWith('/')) fail(`invalid ${kind} ${JSON.stringify(key)}`)
  const parts = key.split('/').filter((p) => p !== '')
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..')) fail(`invalid ${kind} ${JSON.stringify(key)}`)
  return parts.join('/')
}

function envName(kind: string, name: string): string {
  if (!ENV_NAME_RE.test(name)) fail(`invalid ${kind} name ${JSON.stringify(name)} (use letters, digits and _)`)
  if (RESERVED_ENV.test(name)) fail(`${kind} name ${name} is reserved by the runner`)
  return name
}

function positiveInt(kind: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) fail(`${kind} must be a positive whole number, got ${JSON.stringify(n)}`)
  return n
}

/**
 * A command with `${{ run.args }}` and `${{ run.name }}` replaced by references to variables the job
 * script sets from shell-quoted values (interpolate.ts): the args' text never becomes shell code.
 */
export function interpolateCommand(command: string, args: string[], runName: string, groupSizes?: number[]): string {
  return referenceArgs(command, { args, runName: assertName('run name', runName), ...(groupSizes ? { groupSizes } : {}) })
}

/** an env value: `${{ run.args }}` → the args joined by spaces, `${{ run.name }}` → the name (exported single-quoted) */
export function interpolateEnvValue(value: string, args: string[], runName: string): string {
  return value.replace(ARGS_RE, () => argsText(args)).replace(NAME_RE, () => runName)
}

function stepLabel(kind: 'setup' | 'commands', i: number, command: string): string {
  const first = command.split('\n').find((l) => l.trim() !== '')?.trim() ?? ''
  const short = first.length > 60 ? `${first.slice(0, 57)}...` : first
  return `\`${kind}[${i + 1}]\`${short ? ` (${short})` : ''}`
}

/** a UUID-shaped id of the run, derived from the repository and the run's name (dstack's run ids are UUIDs) */
export function runId(repoId: string, runName: string): string {
  const h = createHash('sha256').update(`${repoId}/${runName}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** a UUID-shaped id of one job (node and attempt) but its last 4 hex digits, the node's rank */
export function jobIdPrefix(plan: Pick<RunnerPlan, 'repoId' | 'runName' | 'attempt'>): string {
  const h = createHash('sha256').update(`${plan.repoId}/${plan.runName}/${plan.attempt}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 28)}`
}

/** dstack's `_shell()`: `sh`/`bash` are in /bin, an absolute path is itself; '' leaves the default to the runner */
export function shellPath(shell: string | undefined): string {
  if (shell === undefined || shell === '') return ''
  if (shell === 'sh' || shell === 'bash') return `/bin/${shell}`
  if (!shell.startsWith('/')) fail(`invalid shell ${JSON.stringify(shell)}: \`sh\`, \`bash\` or an absolute path`)
  return normaliseAbsolutePath('shell', shell)
}

/** the shell text of the repository's folder, from the folder the job starts in (`$PWD`) */
function repoDirExpr(workingDir: string): string {
  const wd = workingDir.replace(/\/+$/, '')
  if (wd === '.' || wd === '' || wd.startsWith('/')) return '"$PWD"'
  // a relative working_dir was validated (no `..`, no control characters); strip it from $PWD
  return `"\${PWD%/${wd.replace(/[\\"$`*?[\]{}]/g, '\\$&')}}"`
}

/**
 * One command of an `entrypoint` task: an argument of the entrypoint, never shell text; `${{ run.args }}`
 * is the args as `shlex.join` writes them and `${{ run.name }}` the name, as dstack substitutes them.
 */
export function entrypointArgument(command: string, args: string[], runName: string): string {
  return command.replace(/\$\{\{\s*run\.args\s*\}\}/g, () => shlexJoin(args)).replace(/\$\{\{\s*run\.name\s*\}\}/g, () => assertName('run name', runName))
}

/** the job: setup then commands, `set -e`, env exported single-quoted, one step marker per entry */
export function renderJobScript(plan: RunnerPlan, commands = plan.commands): string {
  // dstack's `node_groups`: a task without `groups` is one group of all its nodes
  const groupSizes = plan.nodes?.groups?.map((g) => g.nodes) ?? (plan.nodes ? [plan.nodes.count] : undefined)
  const lines: string[] = [
    `# job of workflow ${plan.workflow}: setup, then commands, as dstack joins them with \` && \`: the first failing entry stops it`,
    'set -e',
    `export DSTACK_RUN_NAME=${shellQuote(plan.dstackRunName ? assertName('run name', plan.dstackRunName) : plan.runName)}`,
    `export DSTACK_WORKFLOW=${shellQuote(plan.workflow)}`,
    `export DSTACK_REPO_ID=${shellQuote(plan.repoId)}`,
    `export DSTACK_REVISION=${shellQuote(plan.revisionSha)}`,
    `export DSTACK_ATTEMPT=${shellQuote(String(plan.attempt))}`,
    // dstack's job environment: the run's id (stable for the run, the same on every node and attempt),
    // the folder the job starts in, and the repository's folder (the working_dir's root)
    `export DSTACK_RUN_ID=${shellQuote(runId(plan.repoId, plan.runName))}`,
    // dstack's job (submission) id: one per node and attempt
    `DSTACK_JOB_ID="${jobIdPrefix(plan)}$(printf '%04x' "\${DSTACK_NODE_RANK:-0}")"`,
    'export DSTACK_JOB_ID',
    'export DSTACK_WORKING_DIR="$PWD"',
    `export DSTACK_REPO_DIR=${repoDirExpr(plan.workingDir)}`,
    ...jobArgsPrelude(plan.args, shellQuote)
  ]
  for (const name of Object.keys(plan.ciEnv ?? {}).sort()) {
    if (name in plan.env) continue
    lines.push(`export ${envName('CI env', name)}=${shellQuote(plan.ciEnv![name]!)}`)
  }
  for (const name of Object.keys(plan.env).sort()) {
    lines.push(`export ${envName('env', name)}=${shellQuote(interpolateEnvValue(plan.env[name]!, plan.args, plan.runName))}`)
  }
  if (plan.freePorts) {
    // 0.x `ports: N`: $PORT_i is a port nothing listens on yet (the kernel picks it); 20000+i without python3
    lines.push(`__dstack_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])' 2>/dev/null || echo "$((20000 + $1))"; }`)
    for (let i = 0; i < plan.freePorts; i++) lines.push(`export PORT_${i}="$(__dstack_free_port ${i})"`)
  }
  lines.push(`__dstack_step() { printf '%s\\n' "$1" >"\${DSTACK_RUNNER_DIR:-.}/step" 2>/dev/null || true; }`)
  const add = (kind: 'setup' | 'commands', list: string[]) =>
    list.forEach((c, i) => {
      lines.push(`__dstack_step ${shellQuote(stepLabel(kind, i, c))}`)
      // dstack joins the commands with ` && ` (no `set -e` inside an item): the lines of a multi-line
      // item all run, the item's status is its last line's, and a failing item stops the job
      lines.push('set +e')
      lines.push(interpolateCommand(c, plan.args, plan.runName, groupSizes))
      // (the item's own status, whatever its last line is: an echo's too)
      lines.push('# shellcheck disable=SC2320')
      lines.push('__dstack_rc=$?; set -e; [ "$__dstack_rc" = 0 ] || exit "$__dstack_rc"')
    })
  add('setup', plan.setup)
  add('commands', commands)
  lines.push("__dstack_step 'done'")
  return lines.join('\n') + '\n'
}

/** the node layout: a count, and groups whose sizes add up to it */
function nodeLayout(plan: RunnerPlan): { count: number; order: string; sizes: number[]; names: string[]; scripts: string[] } {
  const n = plan.nodes
  if (!n) return { count: 1, order: 'any', sizes: [1], names: [''], scripts: [] }
  positiveInt('node count', n.count)
  if (n.count > 1000) fail(`node count ${n.count} is more than 1000`)
  if (!['any', 'master-first', 'workers-first'].includes(n.startupOrder)) fail(`invalid startup order ${JSON.stringify(n.startupOrder)}`)
  if (!n.groups) return { count: n.count, order: n.startupOrder, sizes: [n.count], names: [''], scripts: [] }
  const sizes = n.groups.map((g) => positiveInt(`nodes of group ${JSON.stringify(g.name)}`, g.nodes))
  if (sizes.reduce((a, b) => a + b, 0) !== n.count) fail(`the groups' nodes add up to ${sizes.reduce((a, b) => a + b, 0)}, not ${n.count}`)
  return { count: n.count, order: n.startupOrder, sizes, names: n.groups.map((g) => g.name), scripts: n.groups.map((g) => renderJobScript(plan, g.commands)) }
}

function validate(plan: RunnerPlan): void {
  assertName('run name', plan.runName)
  assertName('workflow name', plan.workflow)
  assertRepoId(plan.repoId)
  positiveInt('attempt', plan.attempt)
  positiveInt('maxDurationSec', plan.maxDurationSec)
  positiveInt('logIntervalSec', plan.options.logIntervalSec)
  const expected = `${plan.repoId}/runs/${plan.runName}`
  if (storeKey('run prefix', plan.runPrefix) !== expected) fail(`runPrefix must be the run's folder key ${JSON.stringify(expected)}, got ${JSON.stringify(plan.runPrefix)}`)
  if (!/^[0-9a-zA-Z._-]{1,100}$/.test(plan.revisionSha)) fail(`invalid revision ${JSON.stringify(plan.revisionSha)}`)
  if (typeof plan.options.workRoot !== 'string' || !plan.options.workRoot.startsWith('/')) fail(`workRoot must be an absolute path, got ${JSON.stringify(plan.options.workRoot)}`)
  for (const n of plan.secretEnvNames) envName('secret env', n)
  for (const n of Object.keys(plan.env)) envName('env', n)
  for (const a of plan.args) shellQuote(a)
  if (plan.store.kind === 'folder' && !plan.store.root.startsWith('/')) fail(`the folder store must be an absolute path, got ${JSON.stringify(plan.store.root)}`)
  if (plan.store.kind === 's3' && !/^[a-z0-9][a-z0-9.-]{1,62}$/.test(plan.store.bucket)) fail(`invalid bucket ${JSON.stringify(plan.store.bucket)}`)
}

/** a relative path (normalised) or an absolute one (normalised, kept absolute) */
function pathOf(kind: string, p: string): string {
  return p.startsWith('/') ? normaliseAbsolutePath(kind, p) : normaliseRelativePath(kind, p)
}

const SHA256_RE = /^[0-9a-f]{64}$/

/** the snapshot's sha256: the plan's, else the hex digits of its content-addressed key */
function codeSha256(plan: RunnerPlan): string {
  const sha = plan.codeSha256 ?? /^code\/([0-9a-f]{64})\.tar\.gz$/.exec(plan.codeKey)?.[1]
  if (!sha || !SHA256_RE.test(sha)) fail(`the code snapshot's sha256 is unknown (codeSha256 ${JSON.stringify(plan.codeSha256)}, codeKey ${JSON.stringify(plan.codeKey)})`)
  return sha
}

/** per dep file: its dep's index, its path under the dep's artifacts, its sha256 */
function depFiles(plan: RunnerPlan): { dep: string[]; path: string[]; sha: string[] } {
  const out = { dep: [] as string[], path: [] as string[], sha: [] as string[] }
  plan.deps.forEach((d, i) => {
    if (d.manifestSha256 !== undefined && !SHA256_RE.test(d.manifestSha256)) fail(`invalid manifest sha256 of dep ${d.label}`)
    for (const f of d.files) {
      if (!SHA256_RE.test(f.sha256)) fail(`invalid sha256 of ${JSON.stringify(f.path)} in dep ${d.label}`)
      out.dep.push(String(i))
      out.path.push(normaliseRelativePath('dependency artifact path', f.path))
      out.sha.push(f.sha256)
    }
  })
  return out
}

/** the `cache` arrays (docs/cache.md): one element per cached path */
function cacheHeader(plan: RunnerPlan): string[] {
  const caches = plan.caches ?? []
  for (const c of caches) {
    if (!c.path.startsWith('~/') && !c.path.startsWith('/')) normaliseRelativePath('cache path', c.path)
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(c.path) || c.path.split('/').includes('..')) fail(`invalid cache path ${JSON.stringify(c.path)}`)
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(c.key)) fail(`invalid cache key ${JSON.stringify(c.key)}`)
    if (c.restore && (!SHA256_RE.test(c.restore.sha256) || !/\.tar\.(zst|gz)$/.test(c.restore.archiveKey))) fail(`invalid cache entry for ${JSON.stringify(c.path)}`)
  }
  return [
    `CACHE_PATHS=${shellArray(caches.map((c) => c.path))}`,
    `CACHE_KEYS=${shellArray(caches.map((c) => c.key))}`,
    `CACHE_RESTORE_ARCHIVES=${shellArray(caches.map((c) => (c.restore ? storeKey('cache archive', c.restore.archiveKey) : '')))}`,
    `CACHE_RESTORE_SHAS=${shellArray(caches.map((c) => c.restore?.sha256 ?? ''))}`,
    `CACHE_RESTORE_KEYS=${shellArray(caches.map((c) => c.restore?.key ?? ''))}`,
    `CACHE_SAVE_BASES=${shellArray(caches.map((c) => (c.saveBase ? storeKey('cache key', c.saveBase) : '')))}`,
    `CACHE_TRUSTED=${plan.trusted ? 1 : 0}`
  ]
}

export function renderRunnerScript(plan: RunnerPlan): string {
  validate(plan)
  const workingDir = plan.workingDir === '.' || plan.workingDir === '' ? '.' : pathOf('working_dir', plan.workingDir)
  const artifacts = plan.artifacts.map((a) => ({ path: pathOf('artifact path', a.path), mount: !!a.mount }))
  for (const a of artifacts) if (a.path === ROOT_ARTIFACT_PREFIX || a.path.startsWith(`${ROOT_ARTIFACT_PREFIX}/`)) fail(`artifact path ${JSON.stringify(a.path)}: \`${ROOT_ARTIFACT_PREFIX}/\` is where absolute artifact paths are kept`)
  const rootPaths = [...new Set((plan.rootPaths ?? []).map((p) => normaliseAbsolutePath('absolute artifact path', p)))]
  const store = plan.store
  const files = depFiles(plan)
  const layout = nodeLayout(plan)
  const q = shellQuote
  const header = [
    '#!/usr/bin/env bash',
    `# dstack run-action runner: run ${plan.runName}, workflow ${plan.workflow}, attempt ${plan.attempt}, revision ${plan.revisionSha}`,
    '# Environment overrides: DSTACK_AWS_CLI, DSTACK_S3_ENDPOINT, DSTACK_IMDS_ENDPOINT, DSTACK_WORK_ROOT,',
    '# DSTACK_LOG_INTERVAL, DSTACK_SPOT_POLL_INTERVAL, DSTACK_KILL_AFTER, DSTACK_KEEP_WORK=1,',
    '# DSTACK_CHECKPOINT_INTERVAL, DSTACK_SPOT_WATCH; from the backend: DSTACK_NODE_RANK, DSTACK_NODES_IPS,',
    '# DSTACK_GPUS_PER_NODE (multi-node tasks).',
    '# Secret values come from this script\'s environment; this text holds only their names.',
    'set -uo pipefail',
    'export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    'export LANG="${LANG:-C.UTF-8}"',
    'export HOME="${HOME:-/root}"',
    'umask 022',
    '',
    `RUN_NAME=${q(plan.runName)}`,
    `WORKFLOW=${q(plan.workflow)}`,
    '# shellcheck disable=SC2034 # REPO_ID names the run for whoever reads this script; the body does not need it',
    `REPO_ID=${q(plan.repoId)}`,
    `REVISION=${q(plan.revisionSha)}`,
    `ATTEMPT=${q(String(plan.attempt))}`,
    `STORE_KIND=${q(store.kind)}`,
    `STORE_ROOT=${q(store.kind === 'folder' ? store.root.replace(/\/+$/, '') || '/' : '')}`,
    `S3_BUCKET=${q(store.kind === 's3' ? store.bucket : '')}`,
    `S3_PREFIX=${q(store.kind === 's3' ? store.prefix.split('/').filter(Boolean).join('/') : '')}`,
    `S3_REGION=${q(store.kind === 's3' ? (store.region ?? '') : '')}`,
    `DEFAULT_S3_ENDPOINT=${q(store.kind === 's3' ? (store.endpoint ?? '') : '')}`,
    `RUN_PREFIX=${q(storeKey('run prefix', plan.runPrefix))}`,
    `CODE_KEY=${q(storeKey('code key', plan.codeKey))}`,
    `CODE_SHA256=${q(codeSha256(plan))}`,
    `WORKING_DIR=${q(workingDir)}`,
    `DEP_LABELS=${shellArray(plan.deps.map((d) => d.label))}`,
    `DEP_PREFIXES=${shellArray(plan.deps.map((d) => storeKey('dependency artifacts prefix', d.artifactsPrefix)))}`,
    `DEP_MANIFEST_KEYS=${shellArray(plan.deps.map((d) => (d.manifestKey ? storeKey('dependency manifest key', d.manifestKey) : '')))}`,
    `DEP_MANIFEST_SHAS=${shellArray(plan.deps.map((d) => d.manifestSha256 ?? ''))}`,
    `DEP_FILE_DEPS=${shellArray(files.dep)}`,
    `DEP_FILE_PATHS=${shellArray(files.path)}`,
    `DEP_FILE_SHAS=${shellArray(files.sha)}`,
    `JOB_ENV_KEEP=${shellArray([...JOB_PASSTHROUGH_ENV])}`,
    `DOCKER_ENV_KEEP=${shellArray([...DOCKER_CLIENT_ENV])}`,
    `ARTIFACT_PATHS=${shellArray(artifacts.map((a) => a.path))}`,
    `ARTIFACT_MOUNTS=${shellArray(artifacts.map((a) => (a.mount ? '1' : '0')))}`,
    `ROOT_PATHS=${shellArray(rootPaths)}`,
    ...cacheHeader(plan),
    `REGISTRY_AUTH=${plan.registryAuth ? 1 : 0}`,
    `OWNS_MACHINE=${plan.options.ownsMachine ? 1 : 0}`,
    `SECRET_NAMES=${shellArray([...plan.secretEnvNames].sort())}`,
    `IMAGE=${q(plan.image ?? '')}`,
    `ENTRYPOINT=${q(plan.entrypoint ?? '')}`,
    // dstack: `shlex.split(entrypoint) + commands`, each command one argument (run.args as shlex.join text)
    `ENTRYPOINT_ARGV=${shellArray(plan.entrypoint ? shlexSplit(plan.entrypoint) : [])}`,
    `ENTRYPOINT_ARGS=${shellArray(plan.entrypoint ? plan.commands.map((c) => entrypointArgument(c, plan.args, plan.runName)) : [])}`,
    `ENTRYPOINT_ENV=${shellArray(plan.entrypoint ? Object.keys(plan.env).sort().map((n) => `${envName('env', n)}=${interpolateEnvValue(plan.env[n]!, plan.args, plan.runName)}`) : [])}`,
    `SHM_SIZE_MIB=${q(plan.shmSizeMiB ? String(Math.round(plan.shmSizeMiB)) : '')}`,
    `JOB_SHELL=${q(shellPath(plan.shell))}`,
    `PYTHON_VERSION=${q(plan.python ?? '')}`,
    `HAS_SETUP=${plan.setup.length > 0 ? 1 : 0}`,
    `HAS_COMMANDS=${plan.setup.length + plan.commands.length > 0 || layout.scripts.length > 0 ? 1 : 0}`,
    `MAX_DURATION=${plan.maxDurationSec}`,
    `SELF_DESTRUCT=${plan.options.selfDestruct ? 1 : 0}`,
    `SPOT_WATCH=${plan.options.spotWatch ? 1 : 0}`,
    `DEFAULT_LOG_INTERVAL=${plan.options.logIntervalSec}`,
    `DEFAULT_WORK_ROOT=${q(plan.options.workRoot.replace(/\/+$/, '') || '/')}`,
    `NODES_NUM=${layout.count}`,
    `STARTUP_ORDER=${q(layout.order)}`,
    `GROUP_SIZES=${shellArray(layout.sizes.map(String))}`,
    `GROUP_NAMES=${shellArray(layout.names)}`,
    `GROUP_JOB_SCRIPTS=${shellArray(layout.scripts)}`,
    `JOB_SCRIPT=${q(layout.scripts.length ? '' : renderJobScript(plan))}`,
    ''
  ]
  return header.join('\n') + '\n' + RUNNER_BODY
}
