/**
 * Where a run's artifacts can be reached from the summary and the comment. An S3 store links each
 * file. A folder store on a machine that disappears after the job (a GitHub-hosted runner, a GitLab
 * CI job) is useless to a reviewer, so by default the artifacts also become the CI's own artifacts
 * (GitHub: a workflow artifact; GitLab: files under the job's `artifacts:` paths) and the summary
 * links those; otherwise it says plainly where the files are.
 */
import type { StoreLocation } from '../model/index.js'
import { codeSpan, link, policyFor } from '../report/md-escape.js'
import type { ArtifactLinks } from './run-section.js'

/** the CI machine vanishes with the job: 'a GitHub-hosted runner', 'a GitLab CI job', or undefined */
export function ephemeralCi(environ: Record<string, string | undefined>): string | undefined {
  if (environ.GITHUB_ACTIONS === 'true' && environ.RUNNER_ENVIRONMENT === 'github-hosted') return 'a GitHub-hosted runner'
  if (environ.GITLAB_CI === 'true') return 'a GitLab CI job'
  return undefined
}

/** GitHub input `upload-artifact`: true / false, or empty = auto (a folder store on a GitHub-hosted runner) */
export function wantWorkflowArtifact(input: string, loc: StoreLocation, environ: Record<string, string | undefined>): boolean {
  const v = input.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  return loc.kind === 'folder' && ephemeralCi(environ) === 'a GitHub-hosted runner'
}

/** GitLab: links into the job's own artifacts, for files exported to `dir` (relative to the project) */
export function gitlabJobArtifactLinks(environ: Record<string, string | undefined>, dir: string): ArtifactLinks | undefined {
  const project = environ.CI_PROJECT_URL
  const job = environ.CI_JOB_ID
  if (!project || !job || !/^[0-9]+$/.test(job)) return undefined
  const d = dir.split('/').filter((p) => p && p !== '.').map(encodeURIComponent).join('/')
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/')
  return {
    artifactUrl: (p) => `${project}/-/jobs/${job}/artifacts/file/${d}/${enc(p)}`,
    artifactsUrl: `${project}/-/jobs/${job}/artifacts/browse/${d}/`
  }
}

/** a sentence for the summary when the artifacts are not linked one by one from a lasting place */
export function artifactsNote(o: {
  loc: StoreLocation
  environ: Record<string, string | undefined>
  storeUrl: string
  workflowArtifactUrl?: string
  workflowArtifactName?: string
  gitlabExported?: ArtifactLinks
}): string | undefined {
  if (o.loc.kind !== 'folder') return undefined
  const where = ephemeralCi(o.environ)
  if (o.workflowArtifactUrl) {
    const policy = policyFor([o.workflowArtifactUrl])
    return `📦 The artifacts are in the workflow artifact ${link(o.workflowArtifactName ?? 'of this job', o.workflowArtifactUrl, policy)}${where ? ` (the folder store on ${where} is gone when the job ends)` : ''}.`
  }
  if (o.gitlabExported) {
    const policy = policyFor([o.gitlabExported.artifactsUrl])
    return `📦 The artifacts are ${link("this job's artifacts", o.gitlabExported.artifactsUrl, policy)}, kept as long as the project keeps job artifacts.`
  }
  if (where) {
    return `⚠️ The artifacts were stored in the folder ${codeSpan(o.storeUrl)} on ${where}, which is gone when the job ends: they cannot be downloaded from here. Use an S3 store, or ${where === 'a GitLab CI job' ? 'the component input `export-artifacts`' : 'the input `upload-artifact: true`'}.`
  }
  return `The artifacts are in the folder store ${codeSpan(o.storeUrl)} on the machine that ran this job.`
}
