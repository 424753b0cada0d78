/**
 * A pull request's comments through GitHub's REST API (the issues endpoints, as GitHub models them).
 * Octokit loads on first use: most runs (laptop, push, schedule) never comment, and loading it
 * up front cost the CLI ~35 ms and ~19 MB at start-up (bench/run.mjs).
 */
import type { CommentThread, ThreadComment } from './comment-thread.js'

type Octokit = ReturnType<typeof import('@actions/github').getOctokit>

export interface GithubThreadOptions {
  token: string
  /** `owner/repo` (GITHUB_REPOSITORY) */
  repository: string
  pullRequest: number
  /** GITHUB_API_URL: GitHub Enterprise Server, or a test server */
  baseUrl?: string
}

export function githubPullRequestThread(o: GithubThreadOptions): CommentThread {
  const [owner, repo] = o.repository.split('/')
  if (!owner || !repo) throw new Error(`GITHUB_REPOSITORY is ${JSON.stringify(o.repository)}, expected owner/repo`)
  let client: Promise<Octokit> | undefined
  const octokit = () => (client ??= import('@actions/github').then((m) => m.getOctokit(o.token, o.baseUrl ? { baseUrl: o.baseUrl } : {})))
  const issue = { owner, repo, issue_number: o.pullRequest }
  const toComment = (c: { id: number; body?: string | null; html_url: string }): ThreadComment => ({ id: String(c.id), body: c.body ?? '', url: c.html_url })
  return {
    where: `pull request ${o.repository}#${o.pullRequest}`,
    list: async () => {
      const k = await octokit()
      return (await k.paginate(k.rest.issues.listComments, { ...issue, per_page: 100 })).map(toComment)
    },
    create: async (body) => toComment((await (await octokit()).rest.issues.createComment({ ...issue, body })).data),
    update: async (id, body) => void (await (await octokit()).rest.issues.updateComment({ owner, repo, comment_id: Number(id), body })),
    remove: async (id) => void (await (await octokit()).rest.issues.deleteComment({ owner, repo, comment_id: Number(id) }))
  }
}
