/**
 * The repository's markdown pages as a reader sees them on GitHub: rendered by a CommonMark / GFM
 * renderer (`marked`), then checked for what breaks a page silently: a fence that is never closed,
 * a code block that swallowed headings or the opening fence of the next block (a missing opening
 * fence turns the rest of the page inside out), and relative links or `#anchors` that lead nowhere.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { marked, type Token, type Tokens } from 'marked'

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), spaces to `-`, repeats numbered */
export function slugs(md: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  walk(marked.lexer(md, { gfm: true }), (t) => {
    if (t.type !== 'heading') return
    const text = plain((t as Tokens.Heading).tokens)
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  })
  return out
}

function plain(tokens: Token[]): string {
  return tokens.map((t) => ('tokens' in t && t.tokens ? plain(t.tokens) : 'text' in t ? (t as { text: string }).text : '')).join('')
}

export function walk(tokens: Token[], f: (t: Token) => void): void {
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

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/
/** languages whose blocks may hold markdown headings on purpose */
const MARKDOWN_LANGS = new Set(['markdown', 'md'])

/** where the renderer's code blocks disagree with what the author meant */
export function fenceProblems(md: string): string[] {
  const problems: string[] = []
  const lineOf = (raw: string) => md.slice(0, md.indexOf(raw)).split('\n').length
  walk(marked.lexer(md, { gfm: true }), (t) => {
    if (t.type !== 'code') return
    const code = t as Tokens.Code
    const open = FENCE.exec(code.raw.split('\n')[0] ?? '')
    if (!open) return // an indented code block
    const at = lineOf(code.raw)
    const lines = code.raw.replace(/\n+$/, '').split('\n')
    const last = lines[lines.length - 1]!.trim()
    const closed = lines.length > 1 && last.startsWith(open[1]!) && /^(`+|~+)$/.test(last) && last[0] === open[1]![0]
    if (!closed) problems.push(`line ${at}: the code block opened here is never closed (it runs to the end of the page)`)
    if (MARKDOWN_LANGS.has(code.lang ?? '')) return
    code.text.split('\n').forEach((l, i) => {
      const f = FENCE.exec(l)
      if (f && f[2]!.trim() !== '' && f[1]![0] === open[1]![0]) problems.push(`line ${at + 1 + i}: \`${l.trim()}\` is inside the code block opened at line ${at}: an opening fence is missing above it`)
      if (/^#{2,6} \S/.test(l)) problems.push(`line ${at + 1 + i}: heading \`${l.trim()}\` is swallowed by the code block opened at line ${at}`)
    })
  })
  return problems
}

/** relative links and images (and `#anchors`) of a page that lead nowhere, resolved from its folder */
export function linkProblems(file: string, root: string): string[] {
  const md = readFileSync(file, 'utf8')
  const problems: string[] = []
  const targets: string[] = []
  walk(marked.lexer(md, { gfm: true }), (t) => {
    if (t.type === 'link' || t.type === 'image') targets.push((t as Tokens.Link).href)
  })
  for (const href of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue // http(s), mailto: another check's business
    const [path, anchor] = href.split('#', 2) as [string, string | undefined]
    const target = path === '' ? file : resolve(dirname(file), decodeURI(path))
    if (!target.startsWith(root + '/') && target !== root) {
      problems.push(`${href}: leaves the repository`)
      continue
    }
    if (!existsSync(target)) {
      problems.push(`${href}: ${relative(root, target)} does not exist`)
      continue
    }
    if (anchor !== undefined && statSync(target).isFile() && target.endsWith('.md') && !slugs(readFileSync(target, 'utf8')).has(anchor)) {
      problems.push(`${href}: ${relative(root, target)} has no heading with the anchor #${anchor}`)
    }
  }
  return problems
}

/** every markdown page a user reads: tracked *.md files except test fixtures and golden outputs */
export function pages(files: string[]): string[] {
  return files.filter((f) => f.endsWith('.md') && !f.startsWith('__tests__/'))
}

export const pageText = (root: string, f: string) => readFileSync(join(root, f), 'utf8')
