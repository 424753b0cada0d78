/**
 * Python's `shlex.split` (POSIX mode) and `shlex.join`, which dstack applies to `entrypoint` and to
 * `${{ run.args }}` (`jobs/configurators/base.py::_commands`, `_interpolate_commands`). Pure.
 */
import { UserError } from '../model/errors.js'

/** words of `s` as `shlex.split(s)` gives them: whitespace separates, `'…'` is literal, `"…"` and `\` escape */
export function shlexSplit(s: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      i++
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1)
      if (end < 0) throw new UserError(`\`entrypoint\` has no closing quotation: ${s}`, 'close the quote, as Python\'s shlex.split (which dstack uses) requires')
      word += s.slice(i + 1, end)
      inWord = true
      i = end + 1
    } else if (c === '"') {
      i++
      for (;;) {
        if (i >= s.length) throw new UserError(`\`entrypoint\` has no closing quotation: ${s}`, 'close the quote, as Python\'s shlex.split (which dstack uses) requires')
        const d = s[i]!
        if (d === '"') break
        if (d === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1]!)) {
          word += s[i + 1]
          i += 2
        } else {
          word += d
          i++
        }
      }
      inWord = true
      i++
    } else if (c === '\\') {
      if (i + 1 >= s.length) throw new UserError(`\`entrypoint\` ends with an escape: ${s}`, 'drop the trailing backslash')
      word += s[i + 1]
      inWord = true
      i += 2
    } else {
      word += c
      inWord = true
      i++
    }
  }
  if (inWord) words.push(word)
  return words
}

/** `shlex.quote`: safe words as they are, others in single quotes */
export function shlexQuote(s: string): string {
  if (s === '') return "''"
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`
}

/** `shlex.join`: the text dstack puts where `${{ run.args }}` stands */
export function shlexJoin(words: string[]): string {
  return words.map(shlexQuote).join(' ')
}
