/**
 * The action's `args` input → the run's arguments (`${{ run.args }}`). One argument per line when
 * the input has several lines (no quoting needed); a single line is split on whitespace, with
 * '…' and "…" grouping. Values stay literal: the runner shell-quotes each one.
 */
import { UserError } from '../model/index.js'

export function parseArgsInput(text: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length > 1) return lines.map((l) => l.trim())
  if (lines.length === 0) return []
  return splitWords(lines[0]!)
}

export function splitWords(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let has = false
  let quote: '"' | "'" | undefined
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined
      else cur += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      has = true
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur)
      cur = ''
      has = false
    } else {
      cur += ch
    }
  }
  if (quote) throw new UserError(`input \`args\`: unclosed ${quote} in ${JSON.stringify(line)}`, 'close the quote, or put one argument per line')
  if (has || cur) out.push(cur)
  return out
}
