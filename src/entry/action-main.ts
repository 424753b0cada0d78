/**
 * The action's main step (`uses: dstack/run-action@v1`). Reads inputs, runs the workflow through the
 * same lifecycle as the CLI, publishes outputs, the job summary and (optionally) a workflow artifact,
 * and fails the step unless the run succeeded. Instances are released on every exit path; the ids
 * are saved for the `post:` step the moment they exist.
 */
import { regionList } from './region-list.js'
import * as core from '@actions/core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import { openStore, parseStoreSpec, defaultStoreLocation, RunStore } from '../store/index.js'
import { parseBranchList } from '../revision/index.js'
import { runWorkflow } from '../orchestrate/index.js'
import { createBackend, parseBackendName } from '../backends/index.js'
import { runOutputs } from '../report/index.js'
import { githubEventSink, annotateProblems, saveMachines, writeSummary, setOutputs, booleanInput } from '../ci/github.js'
import { UserError, WorkflowErrors, describeStore, isTerminal, type MachineInfo, type StoreLocation } from '../model/index.js'
import type { RunEvent } from '../orchestrate/index.js'
import { actionAttach, actionReconcile, placementOf, publishStarted } from './action-attach.js'
import { parseEnvInput } from './env-input.js'
import { parseArgsInput } from './args-input.js'
import { PrCommenter, commentThreadFromEnv, parseCommentMode } from '../ci/pr-comment.js'
import { SecretRedactor } from '../ci/redact.js'
import { prepareRunReport } from '../ci/run-report.js'
import { groupSectionFor, staleLimit } from '../ci/group-section.js'
import { runGroupFrom } from '../ci/run-group-env.js'
import { artifactsNote, wantWorkflowArtifact } from '../ci/artifact-place.js'
import { annotateFailure } from '../ci/github.js'
import { metricsOutput } from '../report/metrics.js'
import { writeAttestInputs } from '../ci/github-provenance.js'
import { awsSession } from './aws-session.js'
import { diskNetworkInputs } from './disk-network-inputs.js'

/** a step summary holds 1 MiB: this many characters fit even when every one takes 4 bytes */
const SUMMARY_MAX_CHARS = 250_000
import { attemptRef, deferReleaseOnCancel, saveAttemptRef } from './cancel-wait.js'
import { actionCheck } from './action-check.js'
import { explainError, type ErrorContext } from './cli-errors.js'

export async function run(signal: AbortSignal = new AbortController().signal): Promise<void> {
  const machines: MachineInfo[] = []
  // what the step was using when it failed, to name it in the error (cli-errors.ts)
  const failing: ErrorContext = { surface: 'action' }
  try {
    const mode = core.getInput('mode') || 'run'
    const backendName = parseBackendName(core.getInput('backend'))
    if (backendName === 'aws' || ['check', 'cleanup'].includes(core.getInput('mode'))) failing.awsUse = core.getInput('mode') === 'cleanup' ? 'cleanup' : 'the aws backend'
    // `region` may list several, in order: the session and the store use the first
    const regions = regionList(core.getInput('region'))
    const region = regions[0] || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined
    const credentials = await awsSession({ roleArn: core.getInput('role-to-assume'), source: 'input `role-to-assume`', environ: process.env, region, log: (l) => core.info(l) })
    const awsOptions = {
      credentials,
      region,
      ...(regions.length > 1 ? { regions } : {}),
      instanceProfile: core.getInput('instance-profile') || undefined,
      subnetIds: listInput('subnet-ids'),
      securityGroupIds: listInput('security-group-ids'),
      ami: core.getInput('ami') || undefined,
      ...(core.getInput('efa') ? { efa: core.getInput('efa') } : {}),
      ...(core.getInput('cluster-security-group') ? { clusterSecurityGroupId: core.getInput('cluster-security-group') } : {}),
      ssmTimeoutSec: numberInput('ssm-timeout', 600),
      ...diskNetworkInputs((n) => core.getInput(n)),
      ...(core.getInput('keep-on-failure') ? { keepOnFailure: core.getInput('keep-on-failure') } : {})
    }
    if (mode === 'cleanup') {
      const backend = (await createBackend('aws', { aws: awsOptions })) as unknown as {
        cleanupExpired(o: { dryRun?: boolean; log?: (l: string) => void }): Promise<{ terminated: string[]; deletedSecrets: string[] }>
        close(): void
      }
      const res = await backend.cleanupExpired({ dryRun: booleanInput('dry-run', false), log: (l) => core.info(l) }).finally(() => backend.close())
      core.setOutput('terminated', JSON.stringify(res.terminated))
      core.info(`terminated ${res.terminated.length} expired instance(s); deleted ${res.deletedSecrets.length} stale secret env parameter(s)`)
      return
    }
    if (mode === 'check') return await actionCheck(awsOptions, storeFromInputs(region))
    if (!['run', 'start', 'attach', 'reconcile'].includes(mode)) throw new UserError(`input \`mode\` is ${JSON.stringify(mode)}`, 'use `run`, `start`, `attach`, `reconcile`, `check` or `cleanup`')

    const loc = storeFromInputs(region)
    failing.store = loc
    if (backendName === 'aws' && loc.kind !== 's3') throw new UserError('the aws backend needs an S3 store', 'set the `bucket` input (or `store: s3://bucket/prefix`)')
    const store = new RunStore(openStore(loc, { credentials }))
    const created = await createBackend(backendName, { detached: mode === 'start', aws: awsOptions })
    const backend = backendName === 'aws' ? deferReleaseOnCancel(created, signal, (l) => core.info(l)) : created
    const repoDir = resolvePath(process.env.GITHUB_WORKSPACE ?? process.cwd(), core.getInput('working-directory') || '.')
    const jobUrl = process.env.GITHUB_RUN_ID ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}` : undefined
    const sink = githubEventSink()
    const groupSection = groupSectionFor({
      store, environ: process.env, repoDir,
      baseline: core.getInput('baseline') || 'auto',
      lowerIsBetter: core.getInput('lower-is-better'),
      higherIsBetter: core.getInput('higher-is-better'),
      maxCommits: staleLimit(core.getInput('baseline-max-commits'), 'input `baseline-max-commits`'),
      maxDays: staleLimit(core.getInput('baseline-max-days'), 'input `baseline-max-days`'),
      untrustedRuns: booleanInput('untrusted-deps', false)
    })
    const commenter = new PrCommenter({
      mode: parseCommentMode(core.getInput('comment'), 'input `comment`'),
      choose: (pr) => commentThreadFromEnv(process.env, pr, { githubToken: core.getInput('github-token') }),
      jobUrl,
      urls: (r) => store.artifactLinks(r),
      warn: (m) => sink({ type: 'warning', message: m }),
      debug: (m) => sink({ type: 'info', message: m }),
      groupSection
    })
    const group = runGroupFrom(process.env, { name: core.getInput('group'), size: core.getInput('group-size'), member: core.getInput('group-member') })
    const redactor = new SecretRedactor()
    const emit = (ev: RunEvent) => {
      sink(ev)
      commenter.onEvent(ev)
    }
    const done = () => {
      sink.end()
      backend.close?.()
    }
    if (mode === 'reconcile') return await actionReconcile({ store, loc, repoDir, signal, emit, awsOptions }).finally(done)
    const attached = mode === 'attach' ? await actionAttach({ store, loc, repoDir, signal, emit, awsOptions }).finally(done) : undefined
    if (mode === 'attach' && !attached) return void (await commenter.settled())
    const record = attached ?? await runWorkflow({
      repoDir,
      workflow: core.getInput('workflow', { required: true }),
      args: parseArgsInput(core.getInput('args')),
      env: parseEnvInput(core.getInput('env')),
      environ: process.env,
      includeUntracked: booleanInput('include-untracked', false),
      protectedBranches: parseBranchList(core.getInput('protected-branches')),
      untrustedDeps: booleanInput('untrusted-deps', false),
      maskSecret: (v) => {
        core.setSecret(v)
        redactor.add(v)
      },
      backend,
      store,
      storeLocation: loc,
      tag: core.getInput('tag') || undefined,
      forceTag: booleanInput('force-tag', false),
      signal,
      emit,
      cancelGraceMs: 6000,
      ciUrl: jobUrl,
      group,
      detach: mode === 'start',
      detachedState: { placement: placementOf(awsOptions) },
      // a started run's machine outlives this job: the post step must not release it
      onMachine: mode === 'start' ? undefined : (_rec, m) => {
        machines.push(m)
        saveMachines(machines)
        saveAttemptRef(attemptRef(loc, _rec, m))
      }
    }).finally(() => {
      sink.end()
      backend.close?.()
    })

    if (mode === 'start' && !isTerminal(record.status)) {
      await commenter.settled()
      return publishStarted(record, loc, store.artifactUrl(record.repoId, record.run))
    }
    const manifest = (await store.readManifest(record.repoId, record.run)) ?? []
    let workflowArtifactUrl: string | undefined
    const artifactName = core.getInput('artifact-name') || `dstack-${record.run}`
    if (wantWorkflowArtifact(core.getInput('upload-artifact'), loc, process.env) && manifest.length) {
      workflowArtifactUrl = await uploadWorkflowArtifact(store, record.repoId, record.run, artifactName)
    }
    const urls = store.artifactLinks(record)
    const report = await prepareRunReport({
      store, environ: process.env, record, manifest, redactor, links: urls, jobUrl, workflowArtifactUrl,
      baseline: core.getInput('baseline') || 'auto',
      untrustedRuns: booleanInput('untrusted-deps', false),
      lowerIsBetter: core.getInput('lower-is-better'),
      higherIsBetter: core.getInput('higher-is-better'),
      artifactsNote: manifest.length ? artifactsNote({ loc, environ: process.env, storeUrl: describeStore(loc), workflowArtifactUrl, workflowArtifactName: artifactName }) : undefined,
      warn: (m) => core.warning(m)
    })
    // from here on, what leaves the machine is the redacted record and manifest (report/redact.ts)
    const shown = report.record
    const comment = await commenter.finish(shown, report.manifest, (max) => report.render('github', max))
    setOutputs(report.redact(runOutputs(shown, report.manifest, { ...urls, workflowArtifactUrl, metrics: metricsOutput(report.data.metrics) })))
    if (comment?.url) core.setOutput('comment-url', comment.url)
    await publishAttestInputs(store, record, redactor)
    await writeSummary(await report.render('github', SUMMARY_MAX_CHARS))
    if (record.group) await writeSummary(await groupSection(record).render().catch((e: Error) => (core.warning(`could not read the group of run ${record.run}: ${e.message}`), '')))
    if (record.status === 'failed') annotateFailure(shown, core.getInput('working-directory') || '')
    if (record.status !== 'succeeded') core.setFailed(`run ${record.run} ${record.status}: ${shown.reason ?? ''}`)
  } catch (e) {
    if (e instanceof WorkflowErrors) {
      annotateProblems(e.problems, core.getInput('working-directory') || '')
      core.setFailed(`${e.problems.length} problem(s) in the workflow files`)
    } else {
      // one line naming the value and the fix; the stack only in the step's debug log
      const u = explainError(e, failing)
      core.setFailed(u.hint ? `${u.message} (${u.hint})` : u.message)
      if (!(e instanceof UserError)) core.debug((e as Error).stack ?? String(e))
    }
  } finally {
    // runWorkflow released every machine it started; an empty list tells the post step there is nothing to do
    // …except after a cancellation: then the post step waits for the runner to save, and releases them
    if (machines.length && !signal.aborted) saveMachines([])
  }
}

/** the run store from the inputs: `store-region` when the bucket lives elsewhere than the machines (`region`) */
export function storeFromInputs(region?: string): StoreLocation {
  region = core.getInput('store-region') || region
  const endpoint = core.getInput('endpoint') || undefined
  const spec = core.getInput('store')
  if (spec) return parseStoreSpec(spec, { region, endpoint })
  const bucket = core.getInput('bucket')
  if (bucket) return parseStoreSpec(`s3://${bucket}/${core.getInput('prefix') || ''}`, { region, endpoint })
  return defaultStoreLocation(process.env)
}

function listInput(name: string): string[] | undefined {
  const v = core.getInput(name).split(/[\s,]+/).filter(Boolean)
  return v.length ? v : undefined
}

function numberInput(name: string, dflt: number): number {
  const raw = core.getInput(name)
  if (!raw) return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`input \`${name}\` is ${JSON.stringify(raw)}`, 'expected a positive number of seconds')
  return n
}

async function uploadWorkflowArtifact(store: RunStore, repoId: string, run: string, name: string): Promise<string | undefined> {
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP ?? tmpdir(), 'dstack-artifacts-'))
  try {
    const files = await store.downloadArtifacts(repoId, run, dir)
    const { DefaultArtifactClient } = await import('@actions/artifact')
    const res = await new DefaultArtifactClient().uploadArtifact(name, files.map((f) => join(dir, f.path)), dir)
    if (res.id === undefined) return undefined
    return `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}/artifacts/${res.id}`
  } catch (e) {
    core.warning(`uploading the workflow artifact failed: ${(e as Error).message}`)
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** the provenance statement as `actions/attest` inputs (outputs provenance-predicate, provenance-subjects) */
async function publishAttestInputs(store: RunStore, record: Parameters<typeof writeAttestInputs>[1], redactor: SecretRedactor): Promise<void> {
  try {
    const files = await writeAttestInputs(store, record, process.env.RUNNER_TEMP ?? tmpdir(), redactor)
    if (!files) return
    core.setOutput('provenance-predicate', files.predicatePath)
    core.setOutput('provenance-subjects', files.subjectsPath)
  } catch (e) {
    core.warning(`provenance: ${(e as Error).message}`)
  }
}
