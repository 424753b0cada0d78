/**
 * A GitHub REST server on loopback that holds issue comments in memory and checks every request,
 * and every response it gives, against GitHub's own OpenAPI description (@octokit/openapi's
 * api.github.com.json, put in .tools/ by scripts/install-prereqs.sh): the path and method must
 * exist, path and query parameters must match their schemas, the JSON body must validate against
 * the operation's request body schema, and each response against the documented one.
 * A request that breaks the contract is answered 599 and recorded in `violations`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFileSync, existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { Ajv, type ValidateFunction } from 'ajv'

export const OPENAPI_FILE = '.tools/github-openapi/23.0.2/api.github.com.json'

interface Operation {
  operationId: string
  parameters?: { $ref?: string; name?: string; in?: string; required?: boolean; schema?: unknown }[]
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> }
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>
}
type Spec = { paths: Record<string, Record<string, Operation>>; components: { parameters: Record<string, { name: string; in: string; required?: boolean; schema: unknown }> } }

export interface FakeComment {
  id: number
  body: string
  createdAt: number
}

export interface FakeGithub {
  url: string
  /** comments per issue number */
  comments: Map<number, FakeComment[]>
  /** `METHOD path` of each request, in order */
  requests: string[]
  violations: string[]
  /** the next request to this operation gets this HTTP status instead (then the override is cleared) */
  failNext(operationId: string, status: number): void
  close(): Promise<void>
}

let cachedSpec: Spec | undefined
function loadSpec(): Spec {
  if (!existsSync(OPENAPI_FILE)) throw new Error(`${OPENAPI_FILE} is missing: run scripts/install-prereqs.sh`)
  cachedSpec ??= JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Spec
  return cachedSpec
}

function makeAjv(spec: Spec): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false })
  ajv.addSchema(withNullable(spec) as object, 'gh')
  return ajv
}

/** OpenAPI 3.0 `nullable: true` → JSON Schema `type: [T, 'null']`, also beside `$ref`/`allOf` (a copy) */
function withNullable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withNullable)
  if (!v || typeof v !== 'object') return v
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withNullable(x)])) as Record<string, unknown>
  if (o.nullable === true) {
    delete o.nullable
    if (typeof o.type === 'string') o.type = [o.type, 'null']
    else if (!o.type && (o.$ref || o.allOf || o.oneOf || o.anyOf)) return { anyOf: [o, { type: 'null' }] }
  }
  return o
}

const pointer = (...parts: string[]) => 'gh#/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

export async function startFakeGithub(opts: { owner: string; repo: string }): Promise<FakeGithub> {
  const spec = loadSpec()
  const ajv = makeAjv(spec)
  const validators = new Map<string, ValidateFunction>()
  const validator = (ref: string): ValidateFunction => {
    let v = validators.get(ref)
    if (!v) {
      v = ajv.getSchema(ref)
      if (!v) throw new Error(`no schema at ${ref}`)
      validators.set(ref, v)
    }
    return v
  }
  // path templates → matchers; names like `enterprise-team` are not valid group names, so positions
  const routes = Object.keys(spec.paths).map((template) => ({
    template,
    names: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
    re: new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)') + '$')
  }))

  const comments = new Map<number, FakeComment[]>()
  const requests: string[] = []
  const violations: string[] = []
  const failures = new Map<string, number>()
  let nextId = 1000

  const server: Server = createServer((req, res) => void handle(req, res))
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const u = new URL(req.url ?? '/', 'http://x')
    const method = (req.method ?? 'GET').toLowerCase()
    requests.push(`${method.toUpperCase()} ${u.pathname}`)
    const bad = (why: string) => {
      violations.push(`${method.toUpperCase()} ${u.pathname}: ${why}`)
      res.writeHead(599, { 'content-type': 'application/json' }).end(JSON.stringify({ message: why }))
    }
    const route = routes.find((r) => r.re.test(u.pathname) && spec.paths[r.template]![method])
    if (!route) return bad('no such path and method in the OpenAPI description')
    const op = spec.paths[route.template]![method]!
    const match = route.re.exec(u.pathname)!
    const params: Record<string, string> = Object.fromEntries(route.names.map((n, i) => [n, match[i + 1]!]))

    // parameters: path values and query values against their schemas; unknown query keys refused
    const declared = (op.parameters ?? []).map((p) => (p.$ref ? spec.components.parameters[p.$ref.split('/').pop()!]! : p)) as { name: string; in: string; required?: boolean; schema: unknown }[]
    for (const p of declared) {
      const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? (u.searchParams.get(p.name) ?? undefined) : undefined
      if (value === undefined) {
        if (p.required && (p.in === 'path' || p.in === 'query')) return bad(`missing ${p.in} parameter ${p.name}`)
        continue
      }
      const schema = p.schema as { type?: string }
      const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : decodeURIComponent(value)
      if (!ajv.validate(p.schema as object, typed)) return bad(`${p.in} parameter ${p.name}=${value}: ${ajv.errorsText()}`)
    }
    for (const key of u.searchParams.keys()) if (!declared.some((p) => p.in === 'query' && p.name === key)) return bad(`unknown query parameter ${key}`)

    // request body
    let body: Record<string, unknown> = {}
    if (op.requestBody) {
      if (!raw) {
        if (op.requestBody.required) return bad('request body required')
      } else {
        try {
          body = JSON.parse(raw) as Record<string, unknown>
        } catch {
          return bad('request body is not JSON')
        }
        const v = validator(pointer('paths', route.template, method, 'requestBody', 'content', 'application/json', 'schema'))
        if (!v(body)) return bad(`request body: ${ajv.errorsText(v.errors)}`)
      }
    } else if (raw) return bad('this operation takes no request body')

    const reply = (status: number, data?: unknown, headers: Record<string, string> = {}) => {
      const documented = op.responses[String(status)]
      if (!documented) return bad(`the fake answered ${status}, which the description does not list`)
      const schema = documented.content?.['application/json']?.schema
      if (schema && data !== undefined) {
        const v = validator(pointer('paths', route.template, method, 'responses', String(status), 'content', 'application/json', 'schema'))
        if (!v(data)) return bad(`the fake's own ${status} response breaks the description: ${ajv.errorsText(v.errors)}`)
      }
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(data === undefined ? undefined : JSON.stringify(data))
    }
    const forced = failures.get(op.operationId)
    if (forced) {
      failures.delete(op.operationId)
      return reply(forced, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' })
    }
    if (params.owner !== opts.owner || params.repo !== opts.repo) return reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })

    const base = `http://${req.headers.host}`
    const view = (issue: number, c: FakeComment) => commentJson(base, opts.owner, opts.repo, issue, c)
    const findComment = (id: number): [number, FakeComment] | undefined => {
      for (const [issue, list] of comments) {
        const c = list.find((x) => x.id === id)
        if (c) return [issue, c]
      }
      return undefined
    }
    switch (op.operationId) {
      case 'issues/list-comments': {
        const issue = Number(params.issue_number)
        const all = comments.get(issue) ?? []
        const perPage = Number(u.searchParams.get('per_page') ?? 30)
        const page = Number(u.searchParams.get('page') ?? 1)
        const slice = all.slice((page - 1) * perPage, page * perPage)
        const headers: Record<string, string> = {}
        if (page * perPage < all.length) headers.link = `<${base}${u.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`
        return reply(200, slice.map((c) => view(issue, c)), headers)
      }
      case 'issues/create-comment': {
        const issue = Number(params.issue_number)
        const c = { id: nextId++, body: String(body.body), createdAt: Date.now() }
        comments.set(issue, [...(comments.get(issue) ?? []), c])
        return reply(201, view(issue, c))
      }
      case 'issues/update-comment': {
        const found = findComment(Number(params.comment_id))
        if (!found) return reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })
        found[1].body = String(body.body)
        return reply(200, view(found[0], found[1]))
      }
      case 'issues/delete-comment': {
        const found = findComment(Number(params.comment_id))
        if (found) comments.set(found[0], comments.get(found[0])!.filter((c) => c !== found[1]))
        return reply(204)
      }
      default:
        return bad(`the fake does not serve ${op.operationId}`)
    }
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    comments,
    requests,
    violations,
    failNext: (operationId, status) => void failures.set(operationId, status),
    close: () => new Promise((r) => server.close(() => r()))
  }
}

/** an issue comment as GitHub returns it (the fields the description requires) */
function commentJson(base: string, owner: string, repo: string, issue: number, c: FakeComment): Record<string, unknown> {
  const at = new Date(c.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return {
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${base}/repos/${owner}/${repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${owner}/${repo}/pull/${issue}#issuecomment-${c.id}`,
    issue_url: `${base}/repos/${owner}/${repo}/issues/${issue}`,
    body: c.body,
    user: {
      login: 'github-actions[bot]',
      id: 41898282,
      node_id: 'MDM6Qm90NDE4OTgyODI=',
      avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      gravatar_id: '',
      url: `${base}/users/github-actions%5Bbot%5D`,
      html_url: 'https://github.com/apps/github-actions',
      followers_url: `${base}/users/github-actions%5Bbot%5D/followers`,
      following_url: `${base}/users/github-actions%5Bbot%5D/following{/other_user}`,
      gists_url: `${base}/users/github-actions%5Bbot%5D/gists{/gist_id}`,
      starred_url: `${base}/users/github-actions%5Bbot%5D/starred{/owner}{/repo}`,
      subscriptions_url: `${base}/users/github-actions%5Bbot%5D/subscriptions`,
      organizations_url: `${base}/users/github-actions%5Bbot%5D/orgs`,
      repos_url: `${base}/users/github-actions%5Bbot%5D/repos`,
      events_url: `${base}/users/github-actions%5Bbot%5D/events{/privacy}`,
      received_events_url: `${base}/users/github-actions%5Bbot%5D/received_events`,
      type: 'Bot',
      site_admin: false
    },
    created_at: at,
    updated_at: at,
    author_association: 'NONE'
  }
}
