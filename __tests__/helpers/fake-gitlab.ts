/**
 * GitLab's merge request notes API (REST v4) on loopback, in memory: GET (paginated with
 * x-next-page, as GitLab does), POST, PUT, DELETE of `/projects/:id/merge_requests/:iid/notes`,
 * and the project uploads API (`POST /projects/:id/uploads`, multipart `file`, answered like GitLab).
 * Requests without the right PRIVATE-TOKEN get 401, like GitLab.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeNote {
  id: number
  body: string
  system: boolean
}

export interface FakeUpload {
  project: string
  name: string
  bytes: Buffer
  url: string
}

export interface FakeGitlab {
  apiUrl: string
  notes: Map<string, FakeNote[]>
  uploads: FakeUpload[]
  requests: string[]
  close(): Promise<void>
}

export async function startFakeGitlab(opts: { token: string; perPageMax?: number }): Promise<FakeGitlab> {
  const notes = new Map<string, FakeNote[]>()
  const requests: string[] = []
  const uploads: FakeUpload[] = []
  let nextId = 500
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const u = new URL(req.url ?? '/', 'http://x')
    requests.push(`${req.method} ${u.pathname}${u.search}`)
    const send = (status: number, data?: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(data === undefined ? undefined : JSON.stringify(data))
    if (req.headers['private-token'] !== opts.token) return send(401, { message: '401 Unauthorized' })
    const up = /^\/api\/v4\/projects\/([^/]+)\/uploads$/.exec(u.pathname)
    if (up && req.method === 'POST') {
      // multipart/form-data with one part named `file`
      const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '')
      const raw = Buffer.concat(chunks)
      const head = raw.toString('latin1')
      const name = /name="file"; filename="([^"]*)"/.exec(head)?.[1]
      if (!boundary || !name) return send(400, { error: 'file is missing' })
      const start = head.indexOf('\r\n\r\n', head.indexOf('name="file"')) + 4
      const end = head.indexOf(`\r\n--${boundary[1] ?? boundary[2]}`, start)
      const secret = (uploads.length + 1).toString(16).padStart(32, '0')
      const url = `/uploads/${secret}/${name}`
      uploads.push({ project: decodeURIComponent(up[1]!), name, bytes: raw.subarray(start, end), url })
      return send(201, { id: uploads.length, alt: name.replace(/\.[^.]*$/, ''), url, full_path: `/-/project/${up[1]}${url}`, markdown: `![${name}](${url})` })
    }
    const m = /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(u.pathname)
    if (!m) return send(404, { error: '404 Not Found' })
    const key = `${decodeURIComponent(m[1]!)}!${m[2]}`
    const list = notes.get(key) ?? []
    notes.set(key, list)
    const body = chunks.length && !up ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { body?: string }) : {}
    if (req.method !== 'GET' && req.method !== 'DELETE' && typeof body.body !== 'string') return send(400, { message: 'body is missing' })
    const noteId = m[3] ? Number(m[3]) : undefined
    const note = noteId === undefined ? undefined : list.find((n) => n.id === noteId)
    if (noteId !== undefined && !note) return send(404, { message: '404 Not found' })
    switch (req.method) {
      case 'GET': {
        const perPage = Math.min(Number(u.searchParams.get('per_page') ?? 20), opts.perPageMax ?? 100)
        const page = Number(u.searchParams.get('page') ?? 1)
        const sorted = u.searchParams.get('sort') === 'asc' ? list : [...list].reverse()
        const more = page * perPage < sorted.length
        return send(200, sorted.slice((page - 1) * perPage, page * perPage), { 'x-next-page': more ? String(page + 1) : '', 'x-page': String(page) })
      }
      case 'POST': {
        const n = { id: nextId++, body: body.body!, system: false }
        list.push(n)
        return send(201, n)
      }
      case 'PUT':
        note!.body = body.body!
        return send(200, note)
      case 'DELETE':
        notes.set(key, list.filter((n) => n !== note))
        return send(204)
      default:
        return send(405, { message: 'method not allowed' })
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { apiUrl: `http://127.0.0.1:${port}/api/v4`, notes, uploads, requests, close: () => new Promise((r) => server.close(() => r())) }
}
