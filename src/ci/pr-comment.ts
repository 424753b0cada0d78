/**
 * The PR / MR comment while a run goes on: written when the run starts (with a link to the job's
 * log) and updated when it ends (status, attempts, cost, artifacts). A comment that cannot be
 * written is a warning, never a failed run.
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { UserError } from '../model/errors.js'
import type { RunEvent } from '../orchestrate/events.js'
import { runMarkdown } from '../report/markdown.js'
import { SECTION_MAX_CHARS } from '../report/comment.js'
import { policyFor } from '../report/md-escape.js'
import { upsertSection, type CommentThread, type SectionSource, type UpsertResult } from './comment-thread.js'
import { githubPullRequestThread } from './github-thread.js'
import { gitlabMergeRequestThread } from './gitlab-thread.js'

/** `auto`: comment on pull / merge requests when a token is at hand; `always` warns when it cannot */
export type CommentMode = 'auto' | 'always' | 'never'

export function parseCommentMode(value: string | undefined, field: string): CommentMode {
  const v = (value ?? '').trim().toLowerCase()
  if (v === '' || v === 'auto') return 'auto'
  if (v === 'true' || v === 'always' || v === 'yes') return 'always'
  if (v === 'false' || v === 'never' || v === 'no') return 'never'
  throw new UserError(`${field} is ${JSON.stringify(value)}`, 'use `auto` (on pull / merge requests), `true` or `false`')
}

export type ThreadChoice = { thread: CommentThread; why?: undefined } | { thread?: undefined; why: string }

/** Which PR / MR to comment on, from the CI environment; `why` says why there is none. */
export function commentThreadFromEnv(environ: Record<string, string | undefined>, pr: number | undefined, opts: { githubToken?: string } = {}): ThreadChoice {
  if (environ.GITHUB_ACTIONS === 'true') {
    if (!pr) return { why: 'this is not a pull request run' }
    const token = opts.githubToken || environ.GITHUB_TOKEN
    if (!token) return { why: 'no GitHub token (input `github-token`)' }
    if (!environ.GITHUB_REPOSITORY) return { why: 'GITHUB_REPOSITORY is not set' }
    return { thread: githubPullRequestThread({ token, repository: environ.GITHUB_REPOSITORY, pullRequest: pr, baseUrl: environ.GITHUB_API_URL }) }
  }
  if (environ.GITLAB_CI === 'true') {
    const iid = Number(environ.CI_MERGE_REQUEST_IID)
    if (!Number.isInteger(iid) || iid <= 0) return { why: 'this is not a merge request pipeline' }
    const token = environ.DSTACK_GITLAB_TOKEN
    if (!token) return { why: 'DSTACK_GITLAB_TOKEN is not set (a project access token with the `api` scope; CI_JOB_TOKEN cannot write notes)' }
    if (!environ.CI_API_V4_URL || !environ.CI_PROJECT_ID) return { why: 'CI_API_V4_URL or CI_PROJECT_ID is not set' }
    return {
      thread: gitlabMergeRequestThread({
        token,
        apiUrl: environ.CI_API_V4_URL,
        projectId: environ.CI_PROJECT_ID,
        mergeRequestIid: iid,
        projectUrl: environ.CI_MERGE_REQUEST_PROJECT_URL ?? environ.CI_PROJECT_URL
      })
    }
  }
  return { why: 'not running in GitHub Actions or GitLab CI' }
}

export interface CommenterContext {
  mode: CommentMode
  /** the thread of the run's PR / MR (commentThreadFromEnv), chosen once the revision is known */
  choose(pr: number | undefined): ThreadChoice
  /** link to this job's log */
  jobUrl?: string
  urls(record: RunRecord): { artifactUrl: (path: string) => string; artifactsUrl: string }
  warn(message: string): void
  /**
   * a run of a group (RunRecord.group): its workflow's section is the group's, rendered from the
   * store on each write (ci/group-section.ts) instead of this run's own
   */
  groupSection?(record: RunRecord): SectionSource | undefined
  /** why no comment was written, when that is expected (mode `auto`) */
  debug?(message: string): void
}

export class PrCommenter {
  private pending: Promise<UpsertResult | undefined> | undefined
  private startedFor: string | undefined
  private choice: ThreadChoice | undefined

  constructor(private readonly ctx: CommenterContext) {}

  /** pass every run event through: the first `running` writes the "running" section */
  readonly onEvent = (ev: RunEvent): void => {
    if (ev.type !== 'status' || ev.status !== 'running' || this.startedFor === ev.record.run) return
    this.startedFor = ev.record.run
    this.pending = this.write(structuredClone(ev.record), [])
  }

  /** the "running" section's write, once done (a detached start returns after it) */
  async settled(): Promise<UpsertResult | undefined> {
    return this.pending
  }

  /**
   * The final section; resolves to where the comment is (undefined when none was written).
   * `render` makes the full section (metrics, report, log tail: ci/run-section.ts) for this platform.
   */
  async finish(record: RunRecord, manifest: ManifestEntry[], render?: (maxChars: number) => Promise<string>): Promise<UpsertResult | undefined> {
    await this.pending
    return this.write(record, manifest, render)
  }

  /** the platform of the thread this run comments on, once chosen (for rendering its section) */
  platform(record: RunRecord): 'github' | 'gitlab' | undefined {
    const t = this.thread(record)
    return t ? (t.where.startsWith('merge request') ? 'gitlab' : 'github') : undefined
  }

  private thread(record: RunRecord): CommentThread | undefined {
    if (this.ctx.mode === 'never') return undefined
    if (!this.choice) {
      this.choice = this.ctx.choose(record.revision.pr)
      if (this.choice.why) {
        if (this.ctx.mode === 'always') this.ctx.warn(`no PR / MR comment: ${this.choice.why}`)
        else this.ctx.debug?.(`no PR / MR comment: ${this.choice.why}`)
      }
    }
    return this.choice.thread
  }

  private async write(record: RunRecord, manifest: ManifestEntry[], render?: (maxChars: number) => Promise<string>): Promise<UpsertResult | undefined> {
    const thread = this.thread(record)
    if (!thread) return undefined
    const group = record.group ? this.ctx.groupSection?.(record) : undefined
    if (group) {
      try {
        return await upsertSection(thread, record.workflow, group)
      } catch (e) {
        this.ctx.warn(`could not write the comment on ${thread.where}: ${(e as Error).message}${permissionHint(e)}`)
        return undefined
      }
    }
    const urls = this.ctx.urls(record)
    const markdown = render ? await render(SECTION_MAX_CHARS) : runMarkdown(record, manifest, {
      ...urls,
      jobUrl: this.ctx.jobUrl,
      policy: policyFor([urls.artifactsUrl, this.ctx.jobUrl]),
      maxChars: SECTION_MAX_CHARS
    })
    try {
      return await upsertSection(thread, record.workflow, markdown)
    } catch (e) {
      this.ctx.warn(`could not write the comment on ${thread.where}: ${(e as Error).message}${permissionHint(e)}`)
      return undefined
    }
  }
}

function permissionHint(e: unknown): string {
  const status = (e as { status?: number }).status
  if (status === 403 || status === 404) {
    return ' (give the job `permissions: pull-requests: write`; pull requests from forks get a read-only token, so their runs report in the job summary only)'
  }
  return ''
}
