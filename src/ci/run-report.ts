/**
 * The end of a run, as every entry (action, CLI, GitLab) reports it: the section data is read once
 * (metrics, baseline, job report, redacted log tail), then rendered for each place it goes. A
 * failure to read or render the extras never fails the run: the plain section is shown instead,
 * with a warning.
 */
import { createHash } from 'node:crypto'
import type { ManifestEntry, RunRecord } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import type { ReportData } from '../orchestrate/report-data.js'
import { runMarkdown } from '../report/markdown.js'
import { policyFor } from '../report/md-escape.js'
import { parseNameList, type DirectionConfig } from '../report/metrics.js'
import { loadSectionData, renderRunSectionFor, type ArtifactLinks, type Platform } from './run-section.js'
import { uploadToGitlab } from './gitlab-uploads.js'
import { SecretRedactor } from './redact.js'

export interface RunReportOptions {
  store: RunStore
  environ: Record<string, string | undefined>
  record: RunRecord
  manifest: ManifestEntry[]
  /** input / flag `baseline`: a tag, a run name, `auto`, or empty for none */
  baseline?: string
  /** `baseline: auto` and tags may pick untrusted runs (input `untrusted-deps`) */
  untrustedRuns?: boolean
  /** inputs / flags `lower-is-better`, `higher-is-better`: names or globs, comma- or line-separated */
  lowerIsBetter?: string
  higherIsBetter?: string
  redactor?: SecretRedactor
  links: ArtifactLinks
  jobUrl?: string
  artifactsNote?: string
  workflowArtifactUrl?: string
  warn: (message: string) => void
  now?: () => Date
  fetch?: typeof fetch
}

export interface RunReport {
  /** what the section, the outputs and the dotenv show, every string redacted (report/redact.ts) */
  data: ReportData
  record: RunRecord
  manifest: ManifestEntry[]
  /** redacts whatever else leaves the machine (outputs) */
  redact: <T>(value: T) => T
  render(platform: Platform, maxChars: number): Promise<string>
}

export function directionsFrom(lower?: string, higher?: string): DirectionConfig {
  return { lowerIsBetter: parseNameList(lower), higherIsBetter: parseNameList(higher) }
}

export async function prepareRunReport(o: RunReportOptions): Promise<RunReport> {
  const env = o.environ
  const redactor = o.redactor ?? new SecretRedactor()
  // job-controlled text (report, metric names, artifact names, reasons) is redacted before it is
  // escaped for its place, so an escape cannot split a secret's text and hide it from the redaction
  const record = redactor.value(o.record)
  const manifest = redactor.value(o.manifest)
  let data: ReportData = {}
  try {
    data = await loadSectionData(o.store, o.record, o.manifest, {
      baseline: o.baseline,
      untrustedRuns: o.untrustedRuns,
      baseBranch: env.GITHUB_BASE_REF || env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME || undefined,
      redact: (t) => redactor.redact(t)
    })
    data = redactor.value(data)
  } catch (e) {
    o.warn(`could not read the metrics, report or log of run ${o.record.run} for the summary: ${(e as Error).message}`)
  }
  // each file is uploaded once, however many times the section is rendered
  const uploaded = new Map<string, Promise<string>>()
  const gitlabUpload =
    env.DSTACK_GITLAB_TOKEN && env.CI_API_V4_URL && env.CI_PROJECT_ID && env.CI_PROJECT_URL
      ? (name: string, bytes: Buffer) => {
          const key = `${name}\0${createHash('sha256').update(bytes).digest('hex')}`
          if (!uploaded.has(key)) {
            const opts = { token: env.DSTACK_GITLAB_TOKEN!, apiUrl: env.CI_API_V4_URL!, projectId: env.CI_PROJECT_ID!, projectUrl: env.CI_PROJECT_URL!, fetch: o.fetch }
            uploaded.set(key, uploadToGitlab(opts, name, bytes).then((u) => u.url))
          }
          return uploaded.get(key)!
        }
      : undefined
  return {
    data,
    record,
    manifest,
    redact: (v) => redactor.value(v),
    // the rendered text once more: links and notes built from the store and the CI pass here too
    render: async (platform, maxChars) => redactor.redact(await render(platform, maxChars))
  }

  async function render(platform: Platform, maxChars: number): Promise<string> {
      try {
        return await renderRunSectionFor(record, manifest, data, {
          platform,
          store: o.store,
          environ: env,
          links: o.links,
          jobUrl: o.jobUrl,
          directions: directionsFrom(o.lowerIsBetter, o.higherIsBetter),
          artifactsNote: o.artifactsNote,
          workflowArtifactUrl: o.workflowArtifactUrl,
          gitlabUpload: platform === 'gitlab' ? gitlabUpload : undefined,
          now: o.now,
          warn: o.warn
        }, maxChars)
      } catch (e) {
        o.warn(`could not render the full section of run ${o.record.run}: ${(e as Error).message}`)
        return runMarkdown(record, manifest, { ...o.links, jobUrl: o.jobUrl, maxChars, policy: policyFor([o.links.artifactsUrl, o.jobUrl]) })
      }
  }
}
