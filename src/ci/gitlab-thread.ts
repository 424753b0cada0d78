/**
 * A merge request's notes through GitLab's REST API v4. CI_JOB_TOKEN cannot write notes, so this
 * needs a project or group access token with the `api` scope (DSTACK_GITLAB_TOKEN).
 */
import type { CommentThread, ThreadComment } from './comment-thread.js'

export interface GitlabThreadOptions {
  token: string
  /** CI_API_V4_URL, e.g. https://gitlab.com/api/v4 */
  apiUrl: string
  /** CI_PROJECT_ID (or the url-encoded path) */
  projectId: string
  mergeRequestIid: number
  /** CI_MERGE_REQUEST_PROJECT_URL or CI_PROJECT_URL, for note links */
  projectUrl?: string
  fetch?: typeof fetch
}

interface Note {
  id: number
  body: string
  system?: boolean
}

export function gitlabMergeRequestThread(o: GitlabThreadOptions): CommentThread {
  const doFetch = o.fetch ?? fetch
  const base = `${o.apiUrl.replace(/\/+$/, '')}/projects/${encodeURIComponent(o.projectId)}/merge_requests/${o.mergeRequestIid}/notes`
  const where = `merge request !${o.mergeRequestIid} of project ${o.projectId}`
  const url = (id: number) => (o.projectUrl ? `${o.projectUrl}/-/merge_requests/${o.mergeRequestIid}#note_${id}` : undefined)
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await doFetch(`${base}${path}`, {
      method,
      headers: { 'PRIVATE-TOKEN': o.token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (!res.ok) {
      const text = (await res.text()).slice(0, 300)
      const hint = res.status === 401 || res.status === 403 ? ' (DSTACK_GITLAB_TOKEN needs the `api` scope and at least the Reporter role on the project)' : ''
      throw new Error(`GitLab ${method} ${path || '/'} on ${where}: HTTP ${res.status} ${text}${hint}`)
    }
    return res
  }
  const toComment = (n: Note): ThreadComment => ({ id: String(n.id), body: n.body, url: url(n.id) })
  return {
    where,
    list: async () => {
      const out: ThreadComment[] = []
      for (let page = '1'; page; ) {
        const res = await call('GET', `?sort=asc&order_by=created_at&per_page=100&page=${page}`)
        for (const n of (await res.json()) as Note[]) if (!n.system) out.push(toComment(n))
        page = res.headers.get('x-next-page') ?? ''
      }
      return out
    },
    create: async (body) => toComment((await (await call('POST', '', { body })).json()) as Note),
    update: async (id, body) => void (await call('PUT', `/${encodeURIComponent(id)}`, { body })),
    remove: async (id) => void (await call('DELETE', `/${encodeURIComponent(id)}`))
  }
}
