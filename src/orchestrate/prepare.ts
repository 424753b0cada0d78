/**
 * Everything that happens before a machine is asked for: the workflow, its secrets, the revision and
 * code snapshot, the deps. Any problem here fails the run before anything is launched or stored.
 */
import { loadWorkflows, selectWorkflow, resolveSecretEnv, REGISTRY_USERNAME_ENV, REGISTRY_PASSWORD_ENV } from '../workflows/index.js'
import { checkPlacement } from './placement.js'
import { captureRevision, ciContextFromEnv, gitAt, runTrust, untrackedFiles } from '../revision/index.js'
import type { RunStore } from '../store/index.js'
import { UserError, formatProblem, plural, trustLabel, type Revision, type RunSpec, type RunTrust } from '../model/index.js'
import type { EventSink } from './events.js'
import { readDepManifest, type ResolvedDep } from './dep-manifests.js'
import { secretTexts } from './secret-values.js'
import { ciJobEnv } from '../runner/job-env.js'
import { checkCommandInterpolation } from './check-commands.js'
import { planCaches } from './cache-plan.js'
import type { RunnerCache } from '../runner/plan.js'
import { untrackedNamedByCommands, untrackedWarning, gpuWarning, hostHasGpu } from './preflight-warnings.js'
import { canSwitchUser, jobUserMode, jobUserWarning } from '../backends/local/job-user.js'

export interface PrepareOptions {
  repoDir: string
  workflow: string
  args: string[]
  /** `NAME=VALUE` overrides from the CLI (-e) or the action's `env` input; literal values */
  env?: Record<string, string>
  environ: Record<string, string | undefined>
  includeUntracked?: boolean
  /** mask a secret value in the CI log before anything can print it */
  maskSecret?: (value: string) => void
  /** where it will run: absolute paths are refused on a machine the run does not own (placement.ts);
   *  a GPU request on a local host without one gets a warning */
  backend?: { name: string }
  /** branches whose pushes, schedules and manual runs are trusted besides the default branch */
  protectedBranches?: string[]
  /** deps may resolve to untrusted runs and tags (default: only outside CI, docs/trust-model.md) */
  untrustedDeps?: boolean
  /** called with the spec once it has passed its checks, before the revision and snapshot are captured */
  onSpec?: (spec: RunSpec) => void
}

export interface PreparedRun {
  spec: RunSpec
  revision: Revision
  secretValues: Record<string, string>
  /** every secret text to redact and mask, one line each, longest first (secret-values.ts) */
  redactTexts: string[]
  /** the CI variables the job sees (runner/job-env.ts) */
  ciEnv: Record<string, string>
  deps: ResolvedDep[]
  /** whether this run's code is trusted, from the CI's own variables */
  trust: RunTrust
  /** the `cache` entries this run restores and saves (cache-plan.ts) */
  caches?: RunnerCache[]
}

/** outside CI the user runs their own code and may use their own untrusted runs; in CI only trusted ones */
export function untrustedDepsAllowed(o: Pick<PrepareOptions, 'environ' | 'untrustedDeps'>): boolean {
  return o.untrustedDeps ?? ciContextFromEnv(o.environ, () => '{}').platform === 'local'
}

/**
 * The run prepared, and the code snapshot's upload under way: `snapshotStored` settles once the
 * snapshot is in the store (its line said), so the caller names and records the run meanwhile and
 * waits for it only before anything reads the snapshot (the runner script, the launch).
 */
export async function prepareRun(opts: PrepareOptions, store: RunStore, emit: EventSink): Promise<PreparedRun & { snapshotStored: Promise<void> }> {
  emit({ type: 'step', step: 'validate', message: `Reading workflows in ${opts.repoDir}` })
  const loaded = await loadWorkflows(opts.repoDir)
  // each workflow stands alone: only the chosen one's own problems stop the run
  const chosen = selectWorkflow(loaded, opts.workflow)
  const base = chosen.spec
  for (const w of chosen.warnings) emit({ type: 'warning', message: formatProblem(w), problem: w })
  if (chosen.otherProblems) {
    const files = new Set(loaded.problems.map((p) => p.file)).size
    emit({ type: 'warning', message: `other workflows have ${chosen.otherProblems} problem${chosen.otherProblems > 1 ? 's' : ''} (in ${files} file${files > 1 ? 's' : ''}); \`${opts.workflow}\` is not affected; list them with \`dstack-run validate\`` })
  }
  // an explicit NAME=VALUE override replaces the workflow's value, secret template included
  const overrides = opts.env ?? {}
  const secretEnv = Object.fromEntries(Object.entries(base.secretEnv).filter(([name]) => !(name in overrides)))
  const spec: RunSpec = { ...base, args: opts.args, env: { ...base.env, ...overrides }, secretEnv }

  // registry_auth travels like secret env, under names the runner keeps from the job
  const registry: Record<string, string> = spec.registryAuth ? { [REGISTRY_USERNAME_ENV]: spec.registryAuth.username, [REGISTRY_PASSWORD_ENV]: spec.registryAuth.password } : {}
  checkPlacement(spec, [], opts.backend?.name)
  checkCommandInterpolation(spec, opts.args)
  const secrets = resolveSecretEnv({ secretEnv: { ...spec.secretEnv, ...registry } }, opts.environ)
  if (secrets.missing.length) {
    throw new UserError(
      `workflow \`${spec.workflow}\` (${spec.source.file}:${spec.source.line}) needs ${secrets.missing.map((m) => `\`${m}\``).join(', ')} from the environment, which ${secrets.missing.length > 1 ? 'are' : 'is'} not set`,
      'set it in the step\'s `env:` (GitHub: `env: { NAME: ${{ secrets.NAME }} }`), as a masked CI/CD variable (GitLab), or export it in your shell'
    )
  }
  const redactTexts = secretTexts(spec, secrets.values, opts.environ).filter((t) => !/[\r\n]/.test(t))
  for (const t of redactTexts) opts.maskSecret?.(t)

  opts.onSpec?.(spec)
  emit({ type: 'step', step: 'revision', message: 'Capturing the revision and code snapshot' })
  const storeRoot = (store.store as { root?: unknown }).root
  const captured = await captureRevision(opts.repoDir, opts.environ, { includeUntracked: opts.includeUntracked, excludeDirs: typeof storeRoot === 'string' ? [storeRoot] : [] })
  for (const w of captured.warnings) emit({ type: 'warning', message: w })
  const untracked = opts.includeUntracked ? [] : await untrackedFiles(gitAt(captured.root)).catch(() => [])
  const jobUser = opts.backend?.name === 'local' ? jobUserWarning(jobUserMode(opts.environ), { image: spec.image, canSwitch: jobUserMode(opts.environ) === 'off' || canSwitchUser() }) : undefined
  for (const w of [untrackedWarning(spec.workflow, untrackedNamedByCommands(spec, untracked)), gpuWarning(spec, opts.backend?.name ?? '', opts.backend?.name === 'local' && hostHasGpu(opts.environ)), jobUser]) {
    if (w) emit({ type: 'warning', message: w })
  }
  const snapshotStored = store.putCodeSnapshot(captured.snapshot.sha256, captured.snapshot.tarGz).then((uploaded) => {
    emit({
      type: 'info',
      message: `revision ${captured.revision.sha.slice(0, 12)}${captured.revision.diffSha256 ? ' + local changes' : ''}; code snapshot ${captured.snapshot.sha256.slice(0, 12)} (${captured.snapshot.tarGz.length} bytes, ${uploaded ? 'uploaded' : 'already stored'})`
    })
  })
  snapshotStored.catch(() => undefined) // the caller awaits it; a failure below must not leave it unhandled

  const ci = ciContextFromEnv(opts.environ)
  const trust = runTrust(ci, { protectedBranches: opts.protectedBranches })
  // in CI, say it at once (outside CI every run is untrusted, and `ps` shows it)
  if (ci.platform !== 'local') emit({ type: 'info', message: `this run is ${trustLabel(trust)}: ${trust.why}` })

  let deps: PreparedRun['deps'] = []
  if (spec.deps.length) {
    emit({ type: 'step', step: 'deps', message: `Resolving ${plural(spec.deps.length, 'dependency')}` })
    const untrusted = untrustedDepsAllowed(opts)
    const resolved = await store.resolveDeps(captured.revision.repoId, spec.deps, { untrusted })
    deps = await Promise.all(resolved.map((r, i) => readDepManifest(store, spec.deps[i]!, depLabel(spec.deps[i]!), r)))
    for (const d of deps) {
      emit({ type: d.trusted || ci.platform === 'local' ? 'info' : 'warning', message: `dep ${d.label} → run ${d.run.run} (${d.repoId}; ${d.via}; ${d.trusted ? 'trusted' : 'UNTRUSTED'})` })
    }
  }
  checkPlacement(spec, deps.map((d) => ({ label: d.label, spec: d.run.spec })), opts.backend?.name)
  const caches = spec.cache.length ? await planCaches({ store: store.store, repoId: captured.revision.repoId, spec, trusted: trust.trusted, revisionSha: captured.revision.sha, emit }) : undefined
  return { spec, revision: captured.revision, secretValues: secrets.values, redactTexts, ciEnv: ciJobEnv(opts.environ), deps, trust, ...(caches ? { caches } : {}), snapshotStored }
}

function depLabel(d: RunSpec['deps'][number]): string {
  return `${d.kind}:${d.repo ? d.repo + '/' : ''}${d.name}`
}
