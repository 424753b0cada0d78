/**
 * Everything that happens before a machine is asked for: the workflow, its secrets, the revision and
 * code snapshot, the deps. Any problem here fails the run before anything is launched or stored.
 */
import { loadWorkflows, findWorkflow, resolveSecretEnv } from '../workflows/index.js'
import { captureRevision, gitAt, untrackedFiles } from '../revision/index.js'
import type { RunStore } from '../store/index.js'
import { UserError, WorkflowErrors, plural, type Revision, type RunSpec, type RunRecord } from '../model/index.js'
import type { EventSink } from './events.js'
import { untrackedNamedByCommands, untrackedWarning, gpuWarning, hostHasGpu } from './preflight-warnings.js'

export interface PrepareOptions {
  repoDir: string
  workflow: string
  args: string[]
  /** `NAME=VALUE` overrides from the CLI (-e) or the action's `env` input; literal values */
  env?: Record<string, string>
  environ: Record<string, string | undefined>
  includeUntracked?: boolean
  /** where it will run: a GPU request on a local host without one gets a warning */
  backend?: { name: string }
  /** mask a secret value in the CI log before anything can print it */
  maskSecret?: (value: string) => void
}

export interface PreparedRun {
  spec: RunSpec
  revision: Revision
  secretValues: Record<string, string>
  deps: { label: string; repoId: string; run: RunRecord }[]
}

export async function prepareRun(opts: PrepareOptions, store: RunStore, emit: EventSink): Promise<PreparedRun> {
  emit({ type: 'step', step: 'validate', message: `Reading workflows in ${opts.repoDir}` })
  const loaded = await loadWorkflows(opts.repoDir)
  if (loaded.problems.length) throw new WorkflowErrors(loaded.problems)
  const base = findWorkflow(loaded.specs, opts.workflow)
  // an explicit NAME=VALUE override replaces the workflow's value, secret template included
  const overrides = opts.env ?? {}
  const secretEnv = Object.fromEntries(Object.entries(base.secretEnv).filter(([name]) => !(name in overrides)))
  const spec: RunSpec = { ...base, args: opts.args, env: { ...base.env, ...overrides }, secretEnv }

  const secrets = resolveSecretEnv(spec, opts.environ)
  if (secrets.missing.length) {
    throw new UserError(
      `workflow \`${spec.workflow}\` (${spec.source.file}:${spec.source.line}) needs ${secrets.missing.map((m) => `\`${m}\``).join(', ')} from the environment, which ${secrets.missing.length > 1 ? 'are' : 'is'} not set`,
      'set it in the step\'s `env:` (GitHub: `env: { NAME: ${{ secrets.NAME }} }`), as a masked CI/CD variable (GitLab), or export it in your shell'
    )
  }
  for (const v of Object.values(secrets.values)) if (v.length >= 4) opts.maskSecret?.(v)

  emit({ type: 'step', step: 'revision', message: 'Capturing the revision and code snapshot' })
  const captured = await captureRevision(opts.repoDir, opts.environ, { includeUntracked: opts.includeUntracked })
  for (const w of captured.warnings) emit({ type: 'warning', message: w })
  const untracked = opts.includeUntracked ? [] : await untrackedFiles(gitAt(captured.root)).catch(() => [])
  for (const w of [untrackedWarning(spec.workflow, untrackedNamedByCommands(spec, untracked)), gpuWarning(spec, opts.backend?.name ?? '', opts.backend?.name === 'local' && hostHasGpu(opts.environ))]) {
    if (w) emit({ type: 'warning', message: w })
  }
  const uploaded = await store.putCodeSnapshot(captured.snapshot.sha256, captured.snapshot.tarGz)
  emit({
    type: 'info',
    message: `revision ${captured.revision.sha.slice(0, 12)}${captured.revision.diffSha256 ? ' + local changes' : ''}; code snapshot ${captured.snapshot.sha256.slice(0, 12)} (${captured.snapshot.tarGz.length} bytes, ${uploaded ? 'uploaded' : 'already stored'})`
  })

  let deps: PreparedRun['deps'] = []
  if (spec.deps.length) {
    emit({ type: 'step', step: 'deps', message: `Resolving ${plural(spec.deps.length, 'dependency')}` })
    const resolved = await store.resolveDeps(captured.revision.repoId, spec.deps)
    deps = resolved.map((r, i) => ({ label: depLabel(spec.deps[i]!), repoId: r.repoId, run: r.run }))
    for (const d of deps) emit({ type: 'info', message: `dep ${d.label} → run ${d.run.run} (${d.repoId})` })
  }
  return { spec, revision: captured.revision, secretValues: secrets.values, deps }
}

function depLabel(d: RunSpec['deps'][number]): string {
  return `${d.kind}:${d.repo ? d.repo + '/' : ''}${d.name}`
}
