/**
 * The action's `mode: start`, `mode: attach` and `mode: reconcile` (docs/long-runs.md). `start` is
 * `mode: run` that returns once the job started (the run name, status and links as outputs, the
 * comment's section "running"); `attach` follows the run named by `run` (or the newest of
 * `workflow`) and, when it ends, hands the record to the same publishing as `mode: run`; when
 * `attach-timeout` comes first it sets `status` to what the run still is and succeeds. `reconcile`
 * looks once at every active detached run of the repository (a scheduled job).
 */
import * as core from '@actions/core'
import { attachRun } from '../orchestrate/attach-run.js'
import { readDetachedState } from '../orchestrate/detached-state.js'
import { createBackend, type BackendName } from '../backends/index.js'
import { describeStore, isTerminal, type RunRecord, type StoreLocation } from '../model/index.js'
import type { RunEvent } from '../orchestrate/index.js'
import type { RunStore } from '../store/index.js'
import { parseDuration } from '../workflows/index.js'
import { detectRepoId } from '../revision/index.js'
import { resolveRunRef } from './cli-views.js'
import { latestRun } from './cli-attach.js'

export interface ActionAttachDeps {
  store: RunStore
  loc: StoreLocation
  repoDir: string
  signal: AbortSignal
  emit: (ev: RunEvent) => void
  awsOptions: Record<string, unknown>
}

/** where the machines of a detached run are asked for, kept for its retries (never the credentials) */
export function placementOf(aws: Record<string, unknown>): Record<string, string | string[] | undefined> {
  const pick = (k: string) => aws[k] as string | string[] | undefined
  return { region: pick('region'), instanceProfile: pick('instanceProfile'), subnetIds: pick('subnetIds'), securityGroupIds: pick('securityGroupIds'), ami: pick('ami') }
}

async function backendOf(rec: RunRecord, d: ActionAttachDeps) {
  const placement = (await readDetachedState(d.store, rec).catch(() => undefined))?.placement ?? {}
  const region = rec.attempts[rec.attempts.length - 1]?.machine?.region
  return createBackend(rec.backend as BackendName, { detached: true, aws: { ...placement, ...d.awsOptions, ...(region ? { region } : {}) } })
}

/** `mode: start`: what the step says and sets once the run's job has started */
export function publishStarted(rec: RunRecord, loc: StoreLocation, artifactsUrl: string): void {
  core.setOutput('run-name', rec.run)
  core.setOutput('workflow', rec.workflow)
  core.setOutput('status', rec.status)
  core.setOutput('attempts', String(rec.attempts.length))
  core.setOutput('artifacts-url', artifactsUrl)
  const m = rec.attempts[rec.attempts.length - 1]?.machine
  if (m) {
    core.setOutput('instance-id', m.id)
    if (m.instanceType) core.setOutput('instance-type', m.instanceType)
    if (m.market) core.setOutput('market', m.market)
  }
  core.info(`run ${rec.run} is ${rec.status}: it goes on without this job. Follow it with \`mode: attach\` and \`run: ${rec.run}\`, or \`dstack-run attach ${rec.run}${loc.kind === 'folder' ? '' : ` --store ${describeStore(loc)}`}\``)
}

/** `mode: attach`: the ended run's record (published like `mode: run`), or undefined when the watch stopped first */
export async function actionAttach(d: ActionAttachDeps): Promise<RunRecord | undefined> {
  const repoId = await detectRepoId(d.repoDir, process.env)
  const ref = core.getInput('run')
  const rec = ref ? await resolveRunRef(d.store, repoId, ref) : await latestRun(d.store, repoId, core.getInput('workflow', { required: true }))
  const timeout = core.getInput('attach-timeout')
  const backend = await backendOf(rec, d)
  core.info(`attaching to ${rec.run} (${rec.workflow}, ${rec.status})${timeout ? ` for at most ${timeout}` : ''}`)
  const res = await attachRun({
    store: d.store, storeLocation: d.loc, backend, record: rec, environ: process.env, signal: d.signal, emit: d.emit,
    timeoutMs: timeout ? parseDuration(timeout) * 1000 : undefined,
    attacher: process.env.GITHUB_RUN_ID ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}` : undefined
  }).finally(() => backend.close?.())
  if (res.ended) return res.record
  publishStarted(res.record, d.loc, d.store.artifactUrl(res.record.repoId, res.record.run))
  return undefined
}

/** `mode: reconcile`: one look at every active detached run of the repository */
export async function actionReconcile(d: ActionAttachDeps): Promise<void> {
  const repoId = await detectRepoId(d.repoDir, process.env)
  const seen: { run: string; status: string }[] = []
  for (const rec of await d.store.listRuns(repoId)) {
    if (isTerminal(rec.status) || rec.spec.nodes > 1 || !(await d.store.store.exists(`${repoId}/runs/${rec.run}/detached.json`))) continue
    const backend = await backendOf(rec, d)
    const res = await attachRun({ store: d.store, storeLocation: d.loc, backend, record: rec, environ: process.env, signal: d.signal, timeoutMs: 0, emit: (ev) => { if (ev.type === 'warning') core.warning(ev.message) } }).finally(() => backend.close?.())
    seen.push({ run: rec.run, status: res.record.status })
    core.info(`${rec.run}: ${res.record.status}${res.record.attempts.length > rec.attempts.length ? ` (attempt ${res.record.attempts.length} started)` : ''}`)
  }
  core.setOutput('runs', JSON.stringify(seen))
  if (!seen.length) core.info(`no detached run of ${repoId} is active`)
}
