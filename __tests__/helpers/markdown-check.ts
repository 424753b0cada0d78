/**
 * Renders markdown as GitHub / GitLab would (GFM, by `marked`) and lists what a hostile value could
 * have broken: tables whose rows do not have the header's cell count, table-like lines that fell
 * out of their table, links and images to anything but the allowed http(s) hosts, and HTML
 * elements markdown itself does not make (raw HTML that got through). Mermaid blocks are parsed
 * by Mermaid's own parser.
 */
import { marked, type Token, type Tokens } from 'marked'

interface Dom {
  window: { document: Document }
}
type JsdomCtor = new (html: string) => Dom
let JSDOM: JsdomCtor | undefined
/** jsdom has no bundled types here: loaded by name */
async function jsdom(): Promise<JsdomCtor> {
  const name: string = 'jsdom'
  JSDOM ??= ((await import(name)) as { JSDOM: JsdomCtor }).JSDOM
  return JSDOM
}

const MARKDOWN_ELEMENTS = new Set(['P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'A', 'IMG', 'EM', 'STRONG', 'DEL', 'HR', 'BR', 'INPUT'])

/** cells of a GFM table row: split on `|` not escaped by a backslash (GFM splits inside code spans too) */
export function rowCells(line: string): number {
  let t = line.trim()
  if (t.startsWith('|')) t = t.slice(1)
  if (t.endsWith('|') && !t.endsWith('\\|')) t = t.slice(0, -1)
  let n = 1
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\\') i++
    else if (t[i] === '|') n++
  }
  return n
}

function walk(tokens: Token[], f: (t: Token) => void): void {
  for (const t of tokens) {
    f(t)
    const kids = (t as { tokens?: Token[] }).tokens
    if (kids) walk(kids, f)
    if (t.type === 'list') for (const item of (t as Tokens.List).items) walk(item.tokens, f)
    if (t.type === 'table') {
      const tt = t as Tokens.Table
      for (const h of tt.header) walk(h.tokens, f)
      for (const r of tt.rows) for (const c of r) walk(c.tokens, f)
    }
  }
}

export interface CheckResult {
  problems: string[]
  tables: number
  links: string[]
  images: string[]
  mermaid: string[]
  html: string
}

export async function checkMarkdown(md: string, allowedHosts: string[]): Promise<CheckResult> {
  const problems: string[] = []
  const tokens = marked.lexer(md, { gfm: true })
  let tables = 0
  const mermaid: string[] = []
  const tableLines = new Set<string>()
  walk(tokens, (t) => {
    if (t.type === 'table') {
      tables++
      const lines = t.raw.replace(/\n+$/, '').split('\n')
      const want = rowCells(lines[0]!)
      for (const l of lines) {
        tableLines.add(l)
        if (rowCells(l) !== want) problems.push(`table row has ${rowCells(l)} cells, header ${want}: ${l}`)
      }
    }
    if (t.type === 'code' && (t as Tokens.Code).lang === 'mermaid') mermaid.push((t as Tokens.Code).text)
    // this tool's own comment markers are the only HTML allowed
    const ours = /^(<!-- dstack-run-action(:(section|end) [A-Za-z0-9._-]+)? -->\s*)+$/
    if (t.type === 'html' && !ours.test(t.raw.trim())) problems.push(`raw HTML ${JSON.stringify(t.raw.trim().slice(0, 60))}`)
  })
  // a line that looks like a table row outside any table or code block: a table broke apart
  let inFence: string | undefined
  for (const l of md.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(l)
    if (inFence) {
      if (f && f[1]![0] === inFence[0] && f[1]!.length >= inFence.length && l.trim() === f[1]) inFence = undefined
      continue
    }
    if (f) {
      inFence = f[1]
      continue
    }
    if (/^\|.*\|\s*$/.test(l) && !tableLines.has(l)) problems.push(`table-like line outside a table: ${l}`)
  }
  const html = marked.parse(md, { gfm: true, async: false }) as string
  const doc = new (await jsdom())(`<body>${html}</body>`).window.document
  const links: string[] = []
  const images: string[] = []
  const allowed = (u: string | null) => {
    if (!u) return false
    try {
      const p = new URL(u)
      return (p.protocol === 'https:' || p.protocol === 'http:') && allowedHosts.includes(p.host)
    } catch {
      return false
    }
  }
  for (const el of doc.body.querySelectorAll('*')) {
    if (!MARKDOWN_ELEMENTS.has(el.tagName)) problems.push(`raw HTML element <${el.tagName.toLowerCase()}>`)
    if (el.tagName === 'A') {
      const href = el.getAttribute('href')
      links.push(href ?? '')
      if (!allowed(href)) problems.push(`link to ${JSON.stringify(href)}`)
    }
    if (el.tagName === 'IMG') {
      const src = el.getAttribute('src')
      images.push(src ?? '')
      if (!allowed(src)) problems.push(`image from ${JSON.stringify(src)}`)
    }
    for (const a of el.getAttributeNames()) if (/^on/i.test(a)) problems.push(`event handler attribute ${a}`)
  }
  return { problems, tables, links, images, mermaid, html }
}

let mermaidParse: ((text: string) => Promise<unknown>)[] | undefined

/**
 * Mermaid's own parsers (they need a DOM: jsdom): the current one (GitHub renders with Mermaid 11)
 * and 10.7.0, the version GitLab bundles (the `mermaid-10` alias in devDependencies). A chart must
 * parse with both; the error names the version that refused it.
 */
export async function parseMermaid(text: string): Promise<void> {
  if (!mermaidParse) {
    const dom = new (await jsdom())('')
    const g = globalThis as unknown as { window?: unknown; document?: unknown }
    g.window ??= dom.window
    g.document ??= dom.window.document
    const { default: current } = await import('mermaid')
    const { default: gitlab } = (await import('mermaid-10' as string)) as { default: { parse(t: string): Promise<unknown> } }
    mermaidParse = [(t) => current.parse(t), (t) => gitlab.parse(t).catch((e: Error) => { throw new Error(`Mermaid 10.7 (GitLab's) refused the chart: ${e.message}`) })]
  }
  for (const parse of mermaidParse) await parse(text)
}

/**
 * Removes the DOM globals parseMermaid installed: call it from afterAll. Jest's teardown of
 * globals otherwise walks the jsdom window and recurses without end.
 */
export function releaseDom(): void {
  const g = globalThis as unknown as { window?: { close?: () => void }; document?: unknown }
  g.window?.close?.()
  delete g.window
  delete g.document
}
