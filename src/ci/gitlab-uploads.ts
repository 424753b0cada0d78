/**
 * GitLab's project uploads API (`POST /projects/:id/uploads`, multipart `file`): files that
 * markdown in the project's notes can show. The report's images are uploaded here so the merge
 * request note keeps showing them after the run store's links would have expired.
 */
export interface GitlabUploadOptions {
  token: string
  /** CI_API_V4_URL */
  apiUrl: string
  projectId: string
  /** CI_PROJECT_URL: the upload's `url` is relative to it */
  projectUrl: string
  fetch?: typeof fetch
}

export interface GitlabUpload {
  /** absolute URL of the file (`<project URL>/uploads/<secret>/<name>`) */
  url: string
}

export async function uploadToGitlab(o: GitlabUploadOptions, fileName: string, bytes: Buffer): Promise<GitlabUpload> {
  const doFetch = o.fetch ?? fetch
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), fileName)
  const where = `${o.apiUrl.replace(/\/+$/, '')}/projects/${encodeURIComponent(o.projectId)}/uploads`
  const res = await doFetch(where, { method: 'POST', headers: { 'PRIVATE-TOKEN': o.token }, body: form })
  if (!res.ok) throw new Error(`GitLab upload of ${fileName}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
  const body = (await res.json()) as { url?: unknown }
  if (typeof body.url !== 'string' || !body.url.startsWith('/uploads/')) throw new Error(`GitLab upload of ${fileName}: unexpected answer ${JSON.stringify(body).slice(0, 200)}`)
  return { url: `${o.projectUrl.replace(/\/+$/, '')}${body.url}` }
}
