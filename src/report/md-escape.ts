/**
 * Pure: every user-, job-, CI- or store-controlled string that goes into the job summary or the
 * PR / MR comment passes through one of these, chosen for the exact place it lands. GitHub and
 * GitLab render GitHub Flavored Markdown: a stray `|` adds a table cell, a backtick closes a code
 * span, `](` makes a link, `<` starts raw HTML, and a bare `https://…`, `www.…` or `a@b.c` becomes
 * a link on its own (GFM autolinks). None of that may come from a value.
 */

import { visibleName } from './plain-text.js'

/** the hosts a link may point at: the store's S3 / presigned hosts, the GitHub server, the GitLab instance */
export interface LinkPolicy {
  /** lower-case host names (with `:port` when not the default); `*.example.com` matches sub-domains */
  hosts: string[]
}

export const NO_LINKS: LinkPolicy = { hosts: [] }

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u2028\u2029]/g
/** things GFM turns into links without any brackets: URLs with a scheme, www. hosts, e-mail addresses */
const AUTOLINKABLE = /(?:\b[a-z][a-z0-9+.-]{1,31}:\/\/|\bwww\.|\bmailto:|\bxmpp:)\S*|[\w.+-]*@[\w-][\w./-]*/gi

/** this tool's comment markers are HTML comments: no value may ever hold one, even in code */
function unforgeable(s: string): string {
  return s.replace(/<!--/g, '<!\u200b--')
}

/** one line, no control characters, no bidi or zero-width characters (plain-text.ts) */
function oneLine(s: string): string {
  return unforgeable(visibleName(String(s).replace(/\r\n?|\n/g, ' ').replace(CONTROL, '')))
}

/** the longest run of `ch` in `s` */
function longestRun(s: string, ch: string): number {
  let best = 0
  let cur = 0
  for (const c of s) {
    cur = c === ch ? cur + 1 : 0
    if (cur > best) best = cur
  }
  return best
}

/**
 * Inline code: a fence of backticks longer than any run inside, padded with spaces when the text
 * starts or ends with a backtick or a space (CommonMark strips one space each side). In a table
 * cell a `|` ends the cell even inside a code span, so `inTable` escapes it (GFM removes the `\`).
 */
export function codeSpan(value: string, opts: { inTable?: boolean } = {}): string {
  let s = oneLine(value)
  if (s === '') return '` `'
  if (opts.inTable) s = s.replace(/\|/g, '\\|')
  const fence = '`'.repeat(longestRun(s, '`') + 1)
  const pad = /^[` ]|[` ]$/.test(s) ? ' ' : ''
  return `${fence}${pad}${s}${pad}${fence}`
}

/** a code span for a table cell */
export function cellCode(value: string): string {
  return codeSpan(value, { inTable: true })
}

/** markdown punctuation that can start or end an inline construct */
function escapeInline(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]()#!|~$^{}])/g, '\\$1')
}

/**
 * Plain text for a paragraph, a heading or a quote: one line, markdown punctuation escaped, HTML
 * neutralised, and anything GFM would autolink (or GitHub would turn into an @mention) shown as
 * code instead. `inTable` also keeps `|` inside those code spans from ending the cell.
 */
export function escapeText(value: string, opts: { inTable?: boolean } = {}): string {
  // `quoted` parts (as in the runner's reasons) become real code spans of their own
  const parts = oneLine(value).split(/`([^`]+)`/)
  const out = parts.map((p, i) => (i % 2 ? codeSpan(p, opts) : plainText(p, opts))).join('')
  // a line that starts like a block (list, heading, quote, thematic break) stays a paragraph
  return out.replace(/^(\s*)([-+=]|\d+[.)])/, '$1\\$2')
}

function plainText(s: string, opts: { inTable?: boolean }): string {
  let out = ''
  let last = 0
  for (const m of s.matchAll(AUTOLINKABLE)) {
    out += escapeInline(s.slice(last, m.index))
    out += codeSpan(m[0], opts)
    last = m.index! + m[0].length
  }
  out += escapeInline(s.slice(last))
  return out

}

/** text inside a table cell (escapeText already escapes `|`) */
export function escapeCell(value: string): string {
  return escapeText(value, { inTable: true })
}

/** text of a link: like escapeText, without ever producing a nested link */
export function linkText(value: string): string {
  return escapeText(value)
}

function hostAllowed(host: string, policy: LinkPolicy): boolean {
  const h = host.toLowerCase()
  return policy.hosts.some((p) => {
    const q = p.toLowerCase()
    return q.startsWith('*.') ? h.endsWith(q.slice(1)) && h.length > q.length - 1 : h === q
  })
}

/**
 * The URL when it may be linked: http(s) only, a host the policy allows, no credentials, no
 * whitespace or control characters. Characters that could end the link destination early are
 * percent-encoded. Undefined otherwise (the caller shows plain text).
 */
export function safeUrl(url: string | undefined, policy: LinkPolicy): string | undefined {
  if (typeof url !== 'string' || url === '' || /[\s\u0000-\u001f\u007f]/.test(url)) return undefined
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined
  if (u.username || u.password) return undefined
  if (!hostAllowed(u.host, policy)) return undefined
  return u.href.replace(/[()<>"'`\\[\]|]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'))
}

/** `[text](url)` when the URL is allowed; otherwise the text alone (and the URL, when given, as code) */
export function link(text: string, url: string | undefined, policy: LinkPolicy, opts: { inTable?: boolean; showUrl?: boolean } = {}): string {
  const safe = safeUrl(url, policy)
  const t = opts.inTable ? escapeCell(text) : linkText(text)
  if (safe) return `[${t}](${safe})`
  if (opts.showUrl && url) return `${t} (${opts.inTable ? cellCode(url) : codeSpan(url)})`
  return t
}

/** the allow-list for a set of base URLs (their hosts) */
export function policyFor(urls: (string | undefined)[], extraHosts: string[] = []): LinkPolicy {
  const hosts = new Set(extraHosts.map((h) => h.toLowerCase()))
  for (const u of urls) {
    if (!u) continue
    try {
      const p = new URL(u)
      if (p.protocol === 'https:' || p.protocol === 'http:') hosts.add(p.host.toLowerCase())
    } catch {
      /* not a URL: not a host */
    }
  }
  return { hosts: [...hosts] }
}

/**
 * A fenced code block holding `text` verbatim: the fence is longer than any backtick run in the
 * text, so no line of it can close the block; control characters (except tab) are removed.
 */
export function fencedBlock(text: string, info = ''): string {
  const body = unforgeable(String(text).replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(/\n+$/, ''))
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1))
  const lang = info.replace(/[^A-Za-z0-9_-]/g, '')
  return `${fence}${lang}\n${body}\n${fence}`
}
