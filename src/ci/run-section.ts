/**
 * The run's section for one place (GitHub summary or PR comment, GitLab MR note, the terminal):
 * reads what the section needs from the store once, decides which links can work there, makes the
 * report's images reachable (GitLab: uploaded to the project; GitHub: presigned store links with
 * a stated expiry, or a link to the workflow artifact), and renders it (report/section.ts).
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import { keys } from '../store/index.js'
import { loadReportData, REPORT_PATH, type ReportData, type ReportDataOptions } from '../orchestrate/report-data.js'
import { runSection, type SectionExtras } from '../report/section.js'
import { relativeTargets, normaliseTarget } from '../report/job-report.js'
import { codeSpan, link, policyFor } from '../report/md-escape.js'
import type { DirectionConfig } from '../report/metrics.js'

export type Platform = 'github' | 'gitlab' | 'terminal'

/** S3 presigned URLs with SigV4 last at most 7 days (shorter when the credentials are temporary) */
export const PRESIGN_SECONDS = 7 * 24 * 3600
const IMAGE_MAX_BYTES = 10 * 1024 * 1024
const IMAGE_EXT = /\.(png|jpe?g|gif|svg|webp)$/i

export interface ArtifactLinks {
  artifactUrl: (path: string) => string
  artifactsUrl: string
}

export interface SectionSource {
  platform: Platform
  store: RunStore
  environ: Record<string, string | undefined>
  links: ArtifactLinks
  /** the CI job's page (its log) */
  jobUrl?: string
  directions?: DirectionConfig
  /** where the artifacts are when they are not linked one by one (escaped markdown) */
  artifactsNote?: string
  /** the workflow artifact holding this run's artifacts (GitHub, folder store) */
  workflowArtifactUrl?: string
  /** GitLab: uploads a file to the project, returns its absolute URL */
  gitlabUpload?: (name: string, bytes: Buffer) => Promise<string>
  now?: () => Date
  warn?: (message: string) => void
}

/** the data every place shares: loaded once per run end */
export async function loadSectionData(store: RunStore, r: RunRecord, manifest: ManifestEntry[], o: ReportDataOptions): Promise<ReportData> {
  return loadReportData(store, r, manifest, o)
}

function sourceUrl(r: RunRecord, environ: Record<string, string | undefined>, platform: Platform): ((file: string, line: number) => string | undefined) | undefined {
  const sha = r.revision.headSha ?? r.revision.sha
  const enc = (f: string) => f.split('/').map(encodeURIComponent).join('/')
  if (platform === 'github' && environ.GITHUB_SERVER_URL && environ.GITHUB_REPOSITORY) {
    return (file, line) => `${environ.GITHUB_SERVER_URL}/${environ.GITHUB_REPOSITORY}/blob/${sha}/${enc(file)}#L${line}`
  }
  if (platform === 'gitlab' && environ.CI_PROJECT_URL) return (file, line) => `${environ.CI_PROJECT_URL}/-/blob/${sha}/${enc(file)}#L${line}`
  return undefined
}

export async function renderRunSectionFor(r: RunRecord, manifest: ManifestEntry[], data: ReportData, src: SectionSource, maxChars: number): Promise<string> {
  const env = src.environ
  const extraHosts: string[] = []
  const resolved = new Map<string, { image?: string; link?: string }>()
  const inManifest = new Set(manifest.map((e) => e.path))
  let imageNote: string | undefined
  let missingImageNote: string | undefined
  if (data.report) {
    for (const { target } of relativeTargets(data.report)) {
      const path = normaliseTarget(target)
      if (!path || !inManifest.has(path) || resolved.has(path)) continue
      const entry = manifest.find((e) => e.path === path)!
      const key = keys.artifacts(r.repoId, r.run, path)
      const isImage = IMAGE_EXT.test(path)
      try {
        if (src.platform === 'gitlab' && src.gitlabUpload && isImage && entry.size <= IMAGE_MAX_BYTES) {
          const bytes = await src.store.store.get(key)
          if (bytes) {
            const url = await src.gitlabUpload(path.split('/').pop()!, bytes)
            extraHosts.push(new URL(url).host)
            resolved.set(path, { image: url, link: url })
            continue
          }
        }
        if (src.platform !== 'gitlab' && src.store.store.presignGet) {
          const url = await src.store.store.presignGet(key, PRESIGN_SECONDS)
          extraHosts.push(new URL(url).host)
          resolved.set(path, { image: isImage ? url : undefined, link: url })
          const until = new Date((src.now?.() ?? new Date()).getTime() + PRESIGN_SECONDS * 1000).toISOString().slice(0, 10)
          imageNote = `*Images and files in this report are presigned links into the run store, valid until ${until} at the latest (sooner when the store was reached with temporary credentials); afterwards use \`dstack-run artifacts download ${r.run}\`.*`
          continue
        }
      } catch (e) {
        src.warn?.(`could not link the report's ${path}: ${(e as Error).message}`)
      }
      if (src.workflowArtifactUrl) resolved.set(path, { link: src.workflowArtifactUrl })
    }
    if (!src.workflowArtifactUrl && !src.store.store.presignGet && src.platform !== 'gitlab') missingImageNote = `it is an artifact of run ${r.run}`
    if (src.platform === 'gitlab' && !src.gitlabUpload) missingImageNote = 'uploading images needs DSTACK_GITLAB_TOKEN'
  }
  const policy = policyFor([src.links.artifactsUrl, src.jobUrl, src.workflowArtifactUrl, env.GITHUB_SERVER_URL, env.CI_SERVER_URL, env.CI_PROJECT_URL], extraHosts)
  const reportLink = link(REPORT_PATH, src.links.artifactUrl(REPORT_PATH), policy)
  const reportWholeAt =
    `The whole report is the artifact ${reportLink === REPORT_PATH ? codeSpan(REPORT_PATH) : reportLink} of run ${codeSpan(r.run)}` +
    `${src.workflowArtifactUrl ? ` (also in the ${link('workflow artifact', src.workflowArtifactUrl, policy)})` : ''}: ${codeSpan(`dstack-run artifacts download ${r.run}`)}.`
  const extras: SectionExtras = {
    metrics: data.metrics,
    baseline: data.baseline,
    directions: src.directions,
    report: data.report,
    reportWholeAt,
    resolveReportTarget: (target, kind) => {
      const hit = resolved.get(target)
      if (kind === 'image') return hit?.image
      return hit?.link ?? (inManifest.has(target) ? src.links.artifactUrl(target) : undefined)
    },
    missingImageNote,
    reportNote: imageNote,
    logText: data.logText,
    logNode: data.logRank,
    sourceUrl: sourceUrl(r, env, src.platform),
    artifactsNote: src.artifactsNote,
    ...(data.scratch ? { scratch: data.scratch } : {})
  }
  return runSection(r, manifest, { ...src.links, jobUrl: src.jobUrl, policy, maxChars, extras })
}
