/**
 * The end of `dstack-run run`: artifacts exported for the GitLab job when the store is a folder,
 * the full section in the MR note (metrics, baseline, the job's report, the log tail), and the
 * outputs (with `metrics`) for --json and --dotenv.
 */
import { resolve as resolvePath } from 'node:path'
import type { ManifestEntry, RunRecord, StoreLocation } from '../model/index.js'
import { describeStore } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import type { PrCommenter } from '../ci/pr-comment.js'
import type { UpsertResult } from '../ci/comment-thread.js'
import type { SecretRedactor } from '../ci/redact.js'
import { prepareRunReport } from '../ci/run-report.js'
import { untrustedDepsAllowed } from '../orchestrate/prepare.js'
import { artifactsNote, gitlabJobArtifactLinks } from '../ci/artifact-place.js'
import type { ArtifactLinks } from '../ci/run-section.js'
import { runOutputs } from '../report/index.js'
import { metricsOutput } from '../report/metrics.js'
import { nodeSummaryLines } from './cli-node-summary.js'

export interface CliRunEnd {
  io: { environ: Record<string, string | undefined>; cwd: string; err: { write(s: string): boolean } }
  o: Record<string, unknown>
  loc: StoreLocation
  store: RunStore
  record: RunRecord
  manifest: ManifestEntry[]
  commenter: PrCommenter
  redactor: SecretRedactor
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export async function finishCliRun(a: CliRunEnd): Promise<{ outputs: Record<string, string>; comment?: UpsertResult }> {
  const env = a.io.environ
  const warn = (m: string) => void a.io.err.write(`warning: ${m}\n`)
  let links: ArtifactLinks = a.store.artifactLinks(a.record)
  let exported: ArtifactLinks | undefined
  const dir = str(a.o.exportArtifacts)
  if (dir && a.loc.kind === 'folder' && a.manifest.length) {
    try {
      const target = resolvePath(a.io.cwd, dir)
      await a.store.downloadArtifacts(a.record.repoId, a.record.run, target)
      a.io.err.write(`exported ${a.manifest.length} artifact files to ${target}\n`)
      exported = gitlabJobArtifactLinks(env, dir)
      if (exported) links = exported
    } catch (e) {
      warn(`could not export the artifacts to ${dir}: ${(e as Error).message}`)
    }
  }
  const report = await prepareRunReport({
    store: a.store,
    environ: env,
    record: a.record,
    manifest: a.manifest,
    baseline: str(a.o.baseline) ?? 'auto',
    untrustedRuns: untrustedDepsAllowed({ environ: env, untrustedDeps: a.o.untrustedDeps ? true : undefined }),
    lowerIsBetter: str(a.o.lowerIsBetter),
    higherIsBetter: str(a.o.higherIsBetter),
    redactor: a.redactor,
    links,
    jobUrl: env.CI_JOB_URL,
    artifactsNote: a.manifest.length ? artifactsNote({ loc: a.loc, environ: env, storeUrl: describeStore(a.loc), gitlabExported: exported }) : undefined,
    warn
  })
  const platform = a.commenter.platform(a.record)
  // what leaves the machine (comment, outputs, dotenv, --json) is the redacted record and manifest
  const comment = await a.commenter.finish(report.record, report.manifest, platform ? (max) => report.render(platform, max) : undefined)
  const outputs = report.redact(runOutputs(report.record, report.manifest, { ...links, metrics: metricsOutput(report.data.metrics) }))
  for (const line of nodeSummaryLines(a.record)) a.io.err.write(`${line}\n`)
  return { outputs, comment }
}
