/**
 * Pure: the job's report as a CommonMark / GFM parser reads it (marked's lexer), checked against an
 * allow-list after sanitising (job-report.ts): no raw HTML, no reference definitions, links and
 * images only to allowed targets, and every block closed — a paragraph written after the report is
 * still a paragraph of its own, so an unclosed block cannot swallow what follows it (the next
 * section of a shared comment). A report that fails is shown as plain text instead.
 */
import { Lexer, type Token, type Tokens } from 'marked'

export interface ReportCheckOptions {
  /** may this URL be a link / an image's source? */
  allowed: (url: string, kind: 'link' | 'image') => boolean
}

const SENTINEL = 'dstack-report-end-sentinel'

/** what is wrong with `md` (empty: nothing) */
export function reportProblems(md: string, o: ReportCheckOptions): string[] {
  const problems = new Set<string>()
  const tokens = Lexer.lex(`${md}\n\n${SENTINEL}\n`, { gfm: true })
  if (Object.keys(tokens.links).length) problems.add('a reference definition')
  const walk = (list: Token[] | undefined) => {
    for (const t of list ?? []) {
      if (t.type === 'html') problems.add('raw HTML')
      else if (t.type === 'def') problems.add('a reference definition')
      else if (t.type === 'link' && !o.allowed((t as Tokens.Link).href, 'link')) problems.add(`a link to ${(t as Tokens.Link).href.slice(0, 80)}`)
      else if (t.type === 'image' && !o.allowed((t as Tokens.Image).href, 'image')) problems.add(`an image from ${(t as Tokens.Image).href.slice(0, 80)}`)
      const x = t as unknown as { tokens?: Token[]; items?: { tokens: Token[] }[]; header?: { tokens: Token[] }[]; rows?: { tokens: Token[] }[][] }
      walk(x.tokens)
      for (const item of x.items ?? []) walk(item.tokens)
      for (const cell of x.header ?? []) walk(cell.tokens)
      for (const row of x.rows ?? []) for (const cell of row) walk(cell.tokens)
    }
  }
  walk(tokens)
  const last = [...tokens].reverse().find((t) => t.type !== 'space')
  if (!last || last.type !== 'paragraph' || (last as Tokens.Paragraph).text.trim() !== SENTINEL) problems.add('a block that is never closed')
  return [...problems]
}
