/**
 * Keeps what a job prints from being read as CI commands.
 *
 * GitHub: the runner reads every line of a step's output for workflow commands: `::name …::data`
 * at the start of a line (after leading whitespace) and the legacy `##[name …]data` anywhere in a
 * line, both case-insensitive. After `::stop-commands::TOKEN` it ignores every command until a
 * line `::TOKEN::` (or `##[TOKEN]`). So job output is written inside such a block, with a fresh
 * random token per block; the block is closed only around our own commands (groups, annotations).
 *
 * GitLab: no commands, but collapsible sections: `section_start:<time>:<name>[opts]\r\e[0K`
 * (and `section_end:`) fold the log. The `\r\e[0K` suffix is required, so job output has it
 * rewritten to `\r\e[K`, which a terminal draws the same way (erase to the end of the line).
 */
import { randomBytes } from 'node:crypto'

export function randomStopToken(): string {
  return `dstack-${randomBytes(24).toString('hex')}`
}

/** job output inside `::stop-commands::` blocks; `resume()` before writing a command of our own */
export class CommandFence {
  private token: string | undefined

  constructor(
    private readonly write: (s: string) => void,
    private readonly newToken: () => string = randomStopToken
  ) {}

  get fenced(): boolean {
    return this.token !== undefined
  }

  /** job output; a trailing newline is added so a following command starts on its own line */
  output(text: string): void {
    if (text === '') return
    const lower = text.toLowerCase()
    // the job cannot know the token, but should it print it anyway, that block ends here and a new one starts
    if (this.token && lower.includes(this.token.toLowerCase())) this.resume()
    if (!this.token) {
      let token = this.newToken()
      while (lower.includes(token.toLowerCase())) token = this.newToken()
      this.token = token
      this.write(`::stop-commands::${token}\n`)
    }
    this.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** end the block (if any): the next line may be a command again */
  resume(): void {
    if (!this.token) return
    this.write(`::${this.token}::\n`)
    this.token = undefined
  }
}

/**
 * A message of ours that carries foreign text (a reason, a file name) as one plain log line:
 * line breaks become `⏎`, and `::` / `##[` cannot start a command.
 */
export function plainLogLine(text: string): string {
  return text
    .replace(/\r\n|[\r\n\u2028\u2029\u0085]/g, ' ⏎ ')
    .replace(/##\[/g, '##\u200b[')
    .replace(/^(\s*)::/, '$1:\u200b:')
}

const SECTION_SUFFIX = '\r\x1b[0K'

/** rewrites GitLab's section suffix `\r\e[0K` to `\r\e[K` in a stream of text chunks */
export class SectionMarkerFilter {
  private held = ''

  push(text: string): string {
    let s = (this.held + text).split(SECTION_SUFFIX).join('\r\x1b[K')
    this.held = ''
    // keep back a tail that may be the start of a suffix split across chunks
    for (let n = Math.min(SECTION_SUFFIX.length - 1, s.length); n > 0; n--) {
      if (SECTION_SUFFIX.startsWith(s.slice(-n))) {
        this.held = s.slice(-n)
        s = s.slice(0, -n)
        break
      }
    }
    return s
  }

  flush(): string {
    const s = this.held
    this.held = ''
    return s
  }
}
