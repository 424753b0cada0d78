/**
 * Pure: the job's own report (the markdown it wrote to `$DSTACK_REPORT`) made safe to embed in the
 * summary and the PR / MR comment. It stays markdown (headings, lists, tables, code, emphasis), but:
 *
 * - raw HTML is shown as text (`<` becomes `&lt;` outside code);
 * - a link or image is kept only when its target is http(s) on an allowed host, or a relative path
 *   the caller resolves (an artifact of the run); every other `[text](target)` loses its target;
 * - reference definitions (`[id]: url`) are not honoured; bare URLs of other hosts, e-mail
 *   addresses and `@mentions` are shown as code;
 * - an unclosed code fence is closed, and the comment markers of this tool cannot be forged.
 */
import { codeSpan, fencedBlock, safeUrl, type LinkPolicy } from './md-escape.js'
import { reportProblems } from './report-check.js'

/** characters of a report that are sanitised and shown at most (half of what a summary holds; the whole report stays in the artifact) */
export const REPORT_SHOWN_MAX = 512 * 1024

export interface JobReportOptions {
  policy: LinkPolicy
  /** a relative target (`plots/loss.png`) → an allowed URL, or undefined to drop it */
  resolve?: (target: string, kind: 'image' | 'link') => string | undefined
  /** why an image that cannot be shown is missing, e.g. "images are not uploaded on this platform" */
  missingImageNote?: string
}

export interface SanitizedReport {
  markdown: string
  /** links and images whose target was removed */
  removedLinks: number
  /** raw HTML tags shown as text */
  neutralisedHtml: number
  /** characters past REPORT_SHOWN_MAX that were not shown */
  cutChars?: number
  /** what the CommonMark check found after sanitising: the report is then shown as plain text */
  problems?: string[]
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/

/** relative targets of images and links in a report (for resolving them before sanitising) */
export function relativeTargets(markdown: string): { target: string; kind: 'image' | 'link' }[] {
  const out = new Map<string, 'image' | 'link'>()
  for (const m of markdown.matchAll(/(!?)\[[^\]\n]*\]\(\s*([^\s()<>]+)(?:\s+"[^"\n]*")?\s*\)/g)) {
    const target = m[2]!
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//') && !target.startsWith('#')) {
      if (out.get(target) !== 'image') out.set(target, m[1] ? 'image' : 'link')
    }
  }
  return [...out].map(([target, kind]) => ({ target, kind }))
}

/** `plots/./loss.png` → `plots/loss.png`; undefined when it leaves the folder or is not a plain path */
export function normaliseTarget(target: string): string | undefined {
  let t = target.split(/[?#]/)[0]!
  try {
    t = decodeURIComponent(t)
  } catch {
    return undefined
  }
  if (t.startsWith('/') || t.includes('\\')) return undefined
  const parts: string[] = []
  for (const p of t.split('/')) {
    if (p === '' || p === '.') continue
    if (p === '..') return undefined
    parts.push(p)
  }
  return parts.length ? parts.join('/') : undefined
}

export function sanitizeJobReport(input: string, o: JobReportOptions): SanitizedReport {
  let text = String(input)
  let cutChars: number | undefined
  if (text.length > REPORT_SHOWN_MAX) {
    const nl = text.lastIndexOf('\n', REPORT_SHOWN_MAX)
    const at = nl > 0 ? nl : REPORT_SHOWN_MAX
    cutChars = text.length - at
    text = text.slice(0, at)
  }
  const r = sanitizeLines(text, o)
  const problems = reportProblems(r.markdown, { allowed: (url, kind) => allowedTarget(url, kind, o) })
  const cut = cutChars ? { cutChars } : {}
  if (!problems.length) return { ...r, ...cut }
  // the sanitiser missed something the parser sees: plain text, never markdown
  const plain = text.replace(/\r\n?/g, '\n').replace(CONTROL, '')
  return { ...r, markdown: `${fencedBlock(plain, 'text')}\n\n_The report is shown as plain text: it held ${problems.join(', ')}._`, ...cut, problems }
}

/** a link or image target the sanitiser kept: an allowed http(s) URL (relative ones were resolved to one) */
function allowedTarget(url: string, _kind: 'link' | 'image', o: JobReportOptions): boolean {
  return safeUrl(url, o.policy) !== undefined
}

function sanitizeLines(input: string, o: JobReportOptions): SanitizedReport {
  const stats = { removedLinks: 0, neutralisedHtml: 0 }
  const lines = input.replace(/\r\n?/g, '\n').replace(CONTROL, '').split('\n')
  const out: string[] = []
  let fence: { ch: string; len: number } | undefined
  for (const line of lines) {
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence.ch === '`' ? '`' : '~'}{${fence.len},}\\s*$`)
      if (close.test(line)) fence = undefined
      out.push(unforgeable(line))
      continue
    }
    const f = FENCE_OPEN.exec(line)
    if (f && !(f[1]![0] === '`' && f[2]!.includes('`'))) {
      fence = { ch: f[1]![0]!, len: f[1]!.length }
      out.push(unforgeable(line))
      continue
    }
    out.push(sanitizeLine(line, o, stats))
  }
  if (fence) out.push(fence.ch.repeat(fence.len))
  return { markdown: out.join('\n').replace(/\n+$/, ''), ...stats }
}

/** the comment's section markers are HTML comments: text can never hold one */
function unforgeable(s: string): string {
  return s.replace(/<!--/g, '<!\u200b--')
}

/** one line outside fences: code spans verbatim, everything else sanitised */
function sanitizeLine(line: string, o: JobReportOptions, stats: { removedLinks: number; neutralisedHtml: number }): string {
  let result = ''
  let i = 0
  let text = ''
  const flush = () => {
    result += sanitizeText(text, o, stats)
    text = ''
  }
  while (i < line.length) {
    const c = line[i]!
    if (c === '\\' && i + 1 < line.length) {
      text += line.slice(i, i + 2)
      i += 2
      continue
    }
    if (c === '`') {
      let n = 0
      while (line[i + n] === '`') n++
      const fenceStr = '`'.repeat(n)
      let j = i + n
      let close = -1
      while (j < line.length) {
        const k = line.indexOf(fenceStr, j)
        if (k < 0) break
        if (line[k + n] !== '`' && line[k - 1] !== '`') {
          close = k
          break
        }
        j = k + 1
        while (line[j] === '`') j++
      }
      if (close >= 0) {
        flush()
        result += unforgeable(line.slice(i, close + n))
        i = close + n
        continue
      }
      text += fenceStr
      i += n
      continue
    }
    text += c
    i++
  }
  flush()
  return result
}

/** text between code spans: HTML, links, images, definitions, bare URLs and mentions */
function sanitizeText(text: string, o: JobReportOptions, stats: { removedLinks: number; neutralisedHtml: number }): string {
  if (text === '') return ''
  const tags = text.match(/<[a-z/!?]/gi)?.length ?? 0
  stats.neutralisedHtml += tags
  // raw HTML and <autolinks>: shown as text; `]:` never makes a reference definition
  // what this function generates (code spans, approved targets) is held out of later passes
  const held: string[] = []
  const hold = (piece: string) => `\u0000${held.push(piece) - 1}\u0000`
  let s = text.replace(/</g, '&lt;').replace(/\]:/g, '\\]:')
  // images: shown when the target resolves to an image URL, else a link to it, else a note
  s = s.replace(/!\[([^\]\n]*)\]\(\s*([^\s()<>]+)(?:\s+"[^"\n]*")?\s*\)/g, (all: string, alt: string, target: string) => {
    if (approve(target, 'image', o)) return all
    const label = alt.trim() || target
    if (approve(target, 'link', o)) return `[🖼️ ${label}](${target})`
    stats.removedLinks++
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//')
    return `🖼️ ${label} (${hold(codeSpan(target))}: image not shown${relative && o.missingImageNote ? `; ${o.missingImageNote}` : ''})`
  })
  const pieces: string[] = []
  let last = 0
  const images = imageCloses(s)
  // `](target "title")`: keep only approved targets, rewritten to the approved URL
  const DEST = /\]\(([^)\n]*)\)?/g
  for (const m of s.matchAll(DEST)) {
    const at = m.index!
    const isImage = images.has(at)
    pieces.push(bare(s.slice(last, at), o))
    const parsed = /^\s*([^\s()<>]+)(?:\s+"[^"\n]*")?\s*$/.exec(m[1] ?? '')
    const approved = m[0].endsWith(')') && parsed ? approve(parsed[1]!, isImage ? 'image' : 'link', o) : undefined
    if (approved) {
      pieces.push(`](${hold(approved)})`)
    } else {
      stats.removedLinks++
      const target = parsed?.[1] ?? (m[1] ?? '').trim()
      pieces.push(`\\]${target ? ` (${hold(codeSpan(target))}: ${isImage ? 'image' : 'link'} removed)` : ''}`)
    }
    last = at + m[0].length
  }
  pieces.push(bare(s.slice(last), o))
  // eslint-disable-next-line no-control-regex
  return pieces.join('').replace(/\u0000(\d+)\u0000/g, (_, i: string) => held[Number(i)]!)
}

/** the positions of every `]` that ends an image's alt text (`![`…`]`), in one pass */
function imageCloses(s: string): Set<number> {
  const open: number[] = []
  const out = new Set<number>()
  for (let k = 0; k < s.length; k++) {
    const c = s[k]
    if ((c !== '[' && c !== ']') || (k > 0 && s[k - 1] === '\\')) continue
    if (c === '[') open.push(k)
    else {
      const o = open.pop()
      if (o !== undefined && o > 0 && s[o - 1] === '!') out.add(k)
    }
  }
  return out
}

function approve(target: string, kind: 'image' | 'link', o: JobReportOptions): string | undefined {
  // entities and backslash escapes are decoded by the renderer after this check: refuse them
  if (/[&\\]/.test(target)) return undefined
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return safeUrl(target, o.policy)
  if (target.startsWith('#')) return undefined
  const rel = normaliseTarget(target)
  const url = rel === undefined ? undefined : o.resolve?.(rel, kind)
  return url === undefined ? undefined : safeUrl(url, o.policy)
}

/**
 * bare URLs, e-mails and @mentions outside links: allowed URLs stay, the rest become code. Word by
 * word (a regex searching for `x@y` inside one long word backtracks: quadratic), and a word that
 * holds a scheme, `www.`, `mailto:` or `@` is shown as code from the start of that part.
 */
function bare(s: string, o: JobReportOptions): string {
  return s.replace(WORD, (w) => {
    const m = LINKISH.exec(w)
    if (!m) return w
    const start = linkStart(w, m.index, m[0])
    const head = w.slice(0, start)
    const rest = w.slice(start)
    const keep = /^https?:\/\//i.test(rest) && safeUrl(rest.replace(/[.,;:!?*_~]+$/, ''), o.policy) && !/[&\\]/.test(rest)
    return head + (keep ? rest : codeSpan(rest))
  })
}
const WORD = /[^\s<>()]+/g
const LINKISH = /:\/\/|www\.|mailto:|xmpp:|@/i
/** where the link-like part of a word begins: the scheme's or the e-mail's first character */
function linkStart(w: string, at: number, marker: string): number {
  let k = at
  if (marker === '://') while (k > 0 && /[a-z0-9+.-]/i.test(w[k - 1]!)) k--
  else if (marker === '@') while (k > 0 && /[\w.+-]/.test(w[k - 1]!)) k--
  return k
}

/**
 * Shortens markdown to `max` characters at a line boundary (never inside a code fence it leaves
 * open: the fence is closed), and says what was cut.
 */
export function shortenMarkdown(md: string, max: number, whereWhole: string, what = 'report'): { markdown: string; cut: boolean } {
  if (md.length <= max) return { markdown: md, cut: false }
  const lines = md.split('\n')
  const kept: string[] = []
  let size = 0
  let fence: string | undefined
  const noteRoom = 300 + whereWhole.length
  for (const line of lines) {
    if (size + line.length + 1 + noteRoom + (fence ? fence.length + 1 : 0) > max) break
    kept.push(line)
    size += line.length + 1
    const f = FENCE_OPEN.exec(line)
    if (fence) {
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(line)) fence = undefined
    } else if (f && !(f[1]![0] === '`' && f[2]!.includes('`'))) fence = f[1]!
  }
  if (fence) kept.push(fence)
  const shownLines = kept.length - (fence ? 1 : 0)
  const note = `\n\n> ✂️ The ${what} was shortened: ${shownLines} of ${lines.length} lines (${size.toLocaleString('en-US')} of ${md.length.toLocaleString('en-US')} characters) are shown. ${whereWhole}`
  return { markdown: kept.join('\n') + note, cut: true }
}
