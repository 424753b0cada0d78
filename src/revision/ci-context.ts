/**
 * Pure parsing of the CI environment (GitHub Actions, GitLab CI, or neither) into the facts a
 * run revision needs. No git, no I/O except reading the GitHub event payload through `readFile`.
 */
import { readFileSync } from 'node:fs'
import type { CiEvent } from '../model/revision.js'
import { assertRepoId } from '../model/names.js'

export type CiPlatform = 'github' | 'gitlab' | 'local'

export interface CiContext {
  platform: CiPlatform
  /** GitHub event name, GitLab `CI_PIPELINE_SOURCE` as given (`web`, `api`, … kept), or `local` */
  event: CiEvent
  /** `host[:port]/owner/repo`; undefined on a laptop (derived from the git remote instead) */
  repoId?: string
  /** web URL of the project, e.g. `https://github.com/owner/repo` (never holds credentials) */
  repoUrl?: string
  /** the commit CI says it checked out (GitHub pull_request: the merge commit) */
  sha?: string
  /** full ref, e.g. `refs/heads/main`, `refs/pull/7/merge`, `refs/merge-requests/3/head` */
  ref?: string
  /** branch name (for pull / merge requests: the source branch) */
  branch?: string
  headSha?: string
  baseSha?: string
  /** pull request number / merge request IID */
  pr?: number
  /** the repository's default branch (GitHub: the event payload's `repository.default_branch`; GitLab: `CI_DEFAULT_BRANCH`) */
  defaultBranch?: string
  /** what could not be read (e.g. an unreadable event payload); never fatal */
  warnings: string[]
}

type Environ = Record<string, string | undefined>

const SHA_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** `undefined` for unset and empty values, trimmed otherwise */
function value(environ: Environ, name: string): string | undefined {
  const v = environ[name]?.trim()
  return v ? v : undefined
}

function commitSha(name: string, v: unknown, warnings: string[]): string | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const s = String(v).trim().toLowerCase()
  if (SHA_RE.test(s)) return s
  warnings.push(`ignored ${name}=${JSON.stringify(String(v).slice(0, 80))}: not a commit sha`)
  return undefined
}

function positiveInt(name: string, v: unknown, warnings: string[]): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : /^[0-9]+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN
  if (Number.isSafeInteger(n) && n > 0) return n
  warnings.push(`ignored ${name}=${JSON.stringify(String(v).slice(0, 80))}: not a positive integer`)
  return undefined
}

function branchOfRef(ref: string | undefined): string | undefined {
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined
}

/** `https://github.example.com:8443/` → `{ host: 'github.example.com:8443', origin: 'https://github.example.com:8443' }` */
function parseServerUrl(url: string | undefined, fallbackHost: string): { host: string; origin: string } {
  if (url) {
    try {
      const u = new URL(url)
      if (u.host) return { host: u.host.toLowerCase(), origin: `${u.protocol}//${u.host.toLowerCase()}` }
    } catch {
      // fall through to the default
    }
  }
  return { host: fallbackHost, origin: `https://${fallbackHost}` }
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k]
  return o
}

interface PullRequestPayload {
  number?: unknown
  head?: { sha?: unknown; ref?: unknown }
  base?: { sha?: unknown; ref?: unknown }
}

function readGithubPayload(
  path: string | undefined,
  readFile: (p: string) => string,
  warnings: string[]
): { pull_request?: PullRequestPayload; repository?: { default_branch?: unknown } } | undefined {
  if (!path) return undefined
  try {
    const parsed: unknown = JSON.parse(readFile(path))
    return parsed && typeof parsed === 'object' ? (parsed as { pull_request?: PullRequestPayload; repository?: { default_branch?: unknown } }) : undefined
  } catch (e) {
    warnings.push(`could not read the GitHub event payload ${path}: ${(e as Error).message}`)
    return undefined
  }
}

function githubContext(environ: Environ, readFile: (p: string) => string): CiContext {
  const warnings: string[] = []
  const event = value(environ, 'GITHUB_EVENT_NAME') ?? 'push'
  const server = parseServerUrl(value(environ, 'GITHUB_SERVER_URL'), 'github.com')
  const repository = value(environ, 'GITHUB_REPOSITORY')?.replace(/\.git$/, '')
  const ref = value(environ, 'GITHUB_REF')
  const ctx: CiContext = {
    platform: 'github',
    event,
    repoId: repository ? assertRepoId(`${server.host}/${repository}`) : undefined,
    repoUrl: repository ? `${server.origin}/${repository}` : undefined,
    sha: commitSha('GITHUB_SHA', value(environ, 'GITHUB_SHA'), warnings),
    ref,
    branch: value(environ, 'GITHUB_HEAD_REF') ?? branchOfRef(ref),
    warnings
  }
  const payload = readGithubPayload(value(environ, 'GITHUB_EVENT_PATH'), readFile, warnings)
  const defaultBranch = payload?.repository && typeof payload.repository === 'object' ? payload.repository.default_branch : undefined
  if (typeof defaultBranch === 'string' && defaultBranch.trim()) ctx.defaultBranch = defaultBranch.trim()
  const pull = payload?.pull_request
  if (pull && typeof pull === 'object') {
    ctx.pr = positiveInt('pull_request.number', pull.number, warnings)
    ctx.headSha = commitSha('pull_request.head.sha', pull.head?.sha, warnings)
    ctx.baseSha = commitSha('pull_request.base.sha', pull.base?.sha, warnings)
    if (!ctx.branch && typeof pull.head?.ref === 'string' && pull.head.ref) ctx.branch = pull.head.ref
  }
  // without a payload, `refs/pull/<n>/merge` still names the pull request
  const fromRef = /^refs\/pull\/([0-9]+)\/(?:merge|head)$/.exec(ref ?? '')
  if (ctx.pr === undefined && fromRef) ctx.pr = positiveInt('GITHUB_REF', fromRef[1], warnings)
  return dropUndefined(ctx)
}

function gitlabContext(environ: Environ): CiContext {
  const warnings: string[] = []
  const event = value(environ, 'CI_PIPELINE_SOURCE') ?? 'push'
  const projectUrl = value(environ, 'CI_PROJECT_URL')
  const fallbackHost = value(environ, 'CI_SERVER_HOST')?.toLowerCase() ?? 'gitlab.com'
  const fromProjectUrl = parseServerUrl(projectUrl, fallbackHost)
  const host = value(environ, 'CI_SERVER_FQDN')?.toLowerCase() ?? fromProjectUrl.host
  const path = value(environ, 'CI_PROJECT_PATH')
  const tag = value(environ, 'CI_COMMIT_TAG')
  const iid = positiveInt('CI_MERGE_REQUEST_IID', value(environ, 'CI_MERGE_REQUEST_IID'), warnings)
  const sha = commitSha('CI_COMMIT_SHA', value(environ, 'CI_COMMIT_SHA'), warnings)
  const branch =
    value(environ, 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME') ??
    value(environ, 'CI_COMMIT_BRANCH') ??
    (tag ? undefined : value(environ, 'CI_COMMIT_REF_NAME'))
  let ref: string | undefined
  if (iid !== undefined) ref = value(environ, 'CI_MERGE_REQUEST_REF_PATH') ?? `refs/merge-requests/${iid}/head`
  else if (tag) ref = `refs/tags/${tag}`
  else if (branch) ref = `refs/heads/${branch}`
  const ctx: CiContext = {
    platform: 'gitlab',
    event,
    repoId: path ? assertRepoId(`${host}/${path}`) : undefined,
    repoUrl: projectUrl ? projectUrl.replace(/\/+$/, '') : path ? `https://${host}/${path}` : undefined,
    sha,
    ref,
    branch,
    pr: iid,
    defaultBranch: value(environ, 'CI_DEFAULT_BRANCH'),
    warnings
  }
  if (iid !== undefined) {
    // CI_MERGE_REQUEST_SOURCE_BRANCH_SHA is only set in merged-results pipelines; in a plain
    // merge request pipeline the checked-out commit is the source branch head.
    ctx.headSha =
      commitSha('CI_MERGE_REQUEST_SOURCE_BRANCH_SHA', value(environ, 'CI_MERGE_REQUEST_SOURCE_BRANCH_SHA'), warnings) ?? sha
    ctx.baseSha = commitSha('CI_MERGE_REQUEST_DIFF_BASE_SHA', value(environ, 'CI_MERGE_REQUEST_DIFF_BASE_SHA'), warnings)
  }
  return dropUndefined(ctx)
}

/**
 * The CI context from environment variables: GitHub Actions when `GITHUB_ACTIONS=true`, GitLab CI
 * when `GITLAB_CI=true`, otherwise a laptop or self-hosted machine (`event: 'local'`).
 * `CI_REPOSITORY_URL` (which embeds a job token) is deliberately never read.
 */
export function ciContextFromEnv(
  environ: Record<string, string | undefined>,
  readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')
): CiContext {
  if (value(environ, 'GITHUB_ACTIONS') === 'true') return githubContext(environ, readFile)
  if (value(environ, 'GITLAB_CI') === 'true') return gitlabContext(environ)
  return { platform: 'local', event: 'local', warnings: [] }
}
