/**
 * Pure: `${{ run.args }}` and `${{ run.name }}` in a command become references to variables the job
 * script sets from shell-quoted values, never the values' text. Which reference depends on where the
 * expression stands in the shell text, so a small shell lexer finds each one's context:
 *
 * | context                                  | `${{ run.args }}` becomes          | meaning                         |
 * |------------------------------------------|------------------------------------|---------------------------------|
 * | unquoted word (also in `$(…)`, `` `…` ``) | `"${DSTACK_ARGS[@]}"`              | one word per argument (bash)    |
 * | inside `"…"`, `${…}`, unquoted heredoc   | `${DSTACK_ARGS_TEXT}`              | the arguments joined by spaces  |
 * | inside `'…'` / `$'…'`                    | `'"${DSTACK_ARGS_TEXT}"'`          | the same text; the quote closes |
 * |                                          |                                    | and reopens around it           |
 * | quoted heredoc (`<<'EOF'`)               | the joined text itself             | refused when a line of it would |
 * |                                          |                                    | end the heredoc                 |
 * | arithmetic `$((…))`, `((…))`             | refused                            | bash evaluates `a[$(…)]` there  |
 * | comment                                  | left as written                    |                                 |
 *
 * `${{ run.name }}` follows the same rules with `${DSTACK_RUN_NAME}` (the name is validated to
 * letters, digits, `.`, `_`, `-`, and in a quoted heredoc it is written as is).
 */
import { UserError } from '../model/errors.js'
import { nodeAddressRank, parseNodeAddress } from '../model/node-address.js'

export type ShellContext = 'word' | 'double' | 'single' | 'ansi' | 'param' | 'arith' | 'heredoc' | 'quoted-heredoc' | 'comment'

export interface Placeholder {
  /** offset of `${{` in the command */
  index: number
  length: number
  /** `run.args`, `run.name`, or a node address `groups[i].nodes[j].IP_ADDRESS` */
  expr: string
  context: ShellContext
  /** quoted heredocs: the delimiter word and whether leading tabs are stripped (`<<-`) */
  heredoc?: { delimiter: string; stripTabs: boolean }
}

const PLACEHOLDER = /^\$\{\{\s*(run\.args|run\.name|groups\[\d{1,4}\]\.nodes\[\d{1,4}\]\.IP_ADDRESS)\s*\}\}/

type Frame =
  | { k: 'word'; close: '' | ')' | '`'; depth: number }
  | { k: 'double' }
  | { k: 'single' }
  | { k: 'ansi' }
  | { k: 'param' }
  | { k: 'arith'; depth: number }

interface PendingHeredoc {
  delimiter: string
  quoted: boolean
  stripTabs: boolean
}

const WORD_END = /[\s;&|<>()]/

/** every `${{ run.args }}` / `${{ run.name }}` in `command`, with its shell context */
export function findPlaceholders(command: string): Placeholder[] {
  const found: Placeholder[] = []
  const stack: Frame[] = [{ k: 'word', close: '', depth: 0 }]
  const pending: PendingHeredoc[] = []
  const s = command
  let i = 0
  const top = (): Frame => stack[stack.length - 1]!
  const at = (t: string): boolean => s.startsWith(t, i)
  const wordStart = (): boolean => i === 0 || /[\s;&|()`]/.test(s[i - 1]!)

  const placeholder = (context: ShellContext, heredoc?: Placeholder['heredoc']): boolean => {
    if (!at('${{')) return false
    const m = PLACEHOLDER.exec(s.slice(i))
    if (!m) return false
    found.push({ index: i, length: m[0].length, expr: m[1]!, context, ...(heredoc ? { heredoc } : {}) })
    i += m[0].length
    return true
  }

  // heredoc bodies start after the newline at i; returns the offset after the last body
  const bodies = (): void => {
    while (pending.length > 0) {
      const h = pending.shift()!
      for (;;) {
        if (i >= s.length) return
        const nl = s.indexOf('\n', i)
        const end = nl < 0 ? s.length : nl
        const line = s.slice(i, end)
        const cmp = h.stripTabs ? line.replace(/^\t+/, '') : line
        if (cmp === h.delimiter) {
          i = end + 1
          break
        }
        while (i < end) {
          if (placeholder(h.quoted ? 'quoted-heredoc' : 'heredoc', h.quoted ? { delimiter: h.delimiter, stripTabs: h.stripTabs } : undefined)) continue
          i++
        }
        i = end + 1
      }
    }
  }

  const readHeredocWord = (): void => {
    const strip = s[i] === '-'
    if (strip) i++
    while (s[i] === ' ' || s[i] === '\t') i++
    let word = ''
    let quoted = false
    while (i < s.length && !WORD_END.test(s[i]!)) {
      const c = s[i]!
      if (c === '\\') {
        quoted = true
        word += s[i + 1] ?? ''
        i += 2
      } else if (c === "'" || c === '"') {
        quoted = true
        const close = s.indexOf(c, i + 1)
        const stop = close < 0 ? s.length : close
        word += s.slice(i + 1, stop)
        i = stop + 1
      } else {
        word += c
        i++
      }
    }
    if (word !== '') pending.push({ delimiter: word, quoted, stripTabs: strip })
  }

  while (i < s.length) {
    const f = top()
    const c = s[i]!
    if (f.k === 'single') {
      if (placeholder('single')) continue
      if (c === "'") stack.pop()
      i++
      continue
    }
    if (f.k === 'ansi') {
      if (placeholder('ansi')) continue
      if (c === '\\') i += 2
      else {
        if (c === "'") stack.pop()
        i++
      }
      continue
    }
    const ctx: ShellContext = f.k === 'word' ? 'word' : f.k
    if (placeholder(ctx)) continue
    if (c === '\\') {
      i += 2
      continue
    }
    // expansions open in every context but single quotes
    if (at('$((')) {
      stack.push({ k: 'arith', depth: 0 })
      i += 3
      continue
    }
    if (at('$(')) {
      stack.push({ k: 'word', close: ')', depth: 0 })
      i += 2
      continue
    }
    if (at('${')) {
      stack.push({ k: 'param' })
      i += 2
      continue
    }
    if (c === '`') {
      if (f.k === 'word' && f.close === '`') stack.pop()
      else stack.push({ k: 'word', close: '`', depth: 0 })
      i++
      continue
    }
    if (f.k === 'double') {
      if (c === '"') stack.pop()
      i++
      continue
    }
    if (f.k === 'param') {
      if (c === '}') stack.pop()
      else if (c === '"') stack.push({ k: 'double' })
      else if (c === "'") stack.push({ k: 'single' })
      i++
      continue
    }
    if (f.k === 'arith') {
      if (c === '(') f.depth++
      else if (c === ')') {
        if (f.depth > 0) f.depth--
        else {
          stack.pop()
          i += s[i + 1] === ')' ? 2 : 1
          continue
        }
      }
      i++
      continue
    }
    // word context
    if (c === "'") stack.push({ k: 'single' })
    else if (at("$'")) {
      stack.push({ k: 'ansi' })
      i += 2
      continue
    } else if (c === '"') stack.push({ k: 'double' })
    else if (at('((') && wordStart()) {
      stack.push({ k: 'arith', depth: 0 })
      i += 2
      continue
    } else if (c === '(') f.depth++
    else if (c === ')' && f.close === ')') {
      if (f.depth > 0) f.depth--
      else stack.pop()
    } else if (c === '#' && wordStart()) {
      const nl = s.indexOf('\n', i)
      const end = nl < 0 ? s.length : nl
      while (i < end) {
        if (placeholder('comment')) continue
        i++
      }
      continue
    } else if (at('<<<')) {
      i += 3
      continue
    } else if (at('<<')) {
      i += 2
      readHeredocWord()
      continue
    } else if (c === '\n' && pending.length > 0) {
      i++
      bodies()
      continue
    }
    i++
  }
  return found
}

export interface ArgsValues {
  args: string[]
  runName: string
  /** multi-node tasks with groups: each group's node count, in order (for node addresses) */
  groupSizes?: number[]
}

/** the job script's variable holding the address of the node of rank `rank` (set by nodeAddressPrelude) */
export function nodeAddressVar(rank: number): string {
  return `DSTACK_NODE_IP_${rank}`
}

function nodeAddressReference(p: Placeholder, v: ArgsValues): string {
  const ref = parseNodeAddress(`\${{ ${p.expr} }}`)
  const sizes = v.groupSizes
  if (!ref || !sizes || ref.group >= sizes.length || ref.node >= sizes[ref.group]!) {
    throw new UserError(`\`\${{ ${p.expr} }}\` names a node this task does not have`, 'count groups and nodes from 0, and use it only in the commands of a task with `groups`')
  }
  const text = `\${${nodeAddressVar(nodeAddressRank(sizes, ref))}}`
  switch (p.context) {
    case 'comment':
      return `\${{ ${p.expr} }}`
    case 'arith':
    case 'quoted-heredoc':
      throw new UserError(
        `\`\${{ ${p.expr} }}\` stands ${p.context === 'arith' ? 'inside a shell arithmetic expression' : 'in a quoted heredoc'}, where the address (known only once the nodes exist) cannot be put`,
        `assign it to a variable first: ip="\${{ ${p.expr} }}"`
      )
    default:
      return referenceIn(p.context, text)
  }
}

/**
 * a variable's text (`${NAME}`) where a reference can stand: one word unquoted (`word`, default the
 * text double-quoted), as is inside double quotes, `${…}` and unquoted heredocs, and closing and
 * reopening single and `$'…'` quotes around it
 */
function referenceIn(context: 'word' | 'double' | 'param' | 'heredoc' | 'single' | 'ansi', text: string, word = `"${text}"`): string {
  switch (context) {
    case 'word':
      return word
    case 'double':
    case 'param':
    case 'heredoc':
      return text
    case 'single':
      return `'"${text}"'`
    case 'ansi':
      return `'"${text}"$'`
  }
}

/** the text `${{ run.args }}` stands for where a single string is meant: the args joined by spaces */
export function argsText(args: string[]): string {
  return args.join(' ')
}

function heredocRefusal(p: Placeholder, delimiter: string): UserError {
  return new UserError(
    `the run's ${p.expr === 'run.args' ? 'arguments' : 'name'} would put a line \`${delimiter}\` into the quoted heredoc where \`\${{ ${p.expr} }}\` stands: it would end the heredoc and run what follows as shell`,
    'pass other arguments, or use an unquoted heredoc (<<EOF), where the arguments are referenced as ${DSTACK_ARGS_TEXT}'
  )
}

function reference(p: Placeholder, v: ArgsValues): string {
  if (p.expr.startsWith('groups')) return nodeAddressReference(p, v)
  const isArgs = p.expr === 'run.args'
  const text = isArgs ? '${DSTACK_ARGS_TEXT}' : '${DSTACK_RUN_NAME}'
  switch (p.context) {
    case 'word':
    case 'double':
    case 'param':
    case 'heredoc':
    case 'single':
    case 'ansi':
      return referenceIn(p.context, text, isArgs ? '"${DSTACK_ARGS[@]}"' : undefined)
    case 'comment':
      return isArgs ? '${{ run.args }}' : '${{ run.name }}'
    case 'arith':
      throw new UserError(
        `\`\${{ ${p.expr} }}\` stands inside a shell arithmetic expression ($((…)) or ((…))), where bash would evaluate text such as a[$(command)] as code`,
        `assign it to a variable first and check that it is a number, e.g. n="\${{ ${p.expr} }}"; case $n in ''|*[!0-9]*) exit 1;; esac; echo $((n + 1))`
      )
    case 'quoted-heredoc':
      return isArgs ? argsText(v.args) : v.runName
  }
}

/**
 * The command with every \`\${{ run.args }}\` / \`\${{ run.name }}\` replaced by a reference for its shell
 * context (see the table above). The job script defines the variables (\`jobArgsPrelude\`).
 * In a quoted heredoc the text goes in as is, unless a line of the result would end the heredoc.
 */
export function interpolateCommand(command: string, v: ArgsValues): string {
  const list = findPlaceholders(command)
  const reps = list.map((p) => reference(p, v))
  let out = ''
  let last = 0
  list.forEach((p, k) => {
    out += command.slice(last, p.index) + reps[k]
    last = p.index + p.length
  })
  out += command.slice(last)
  // a source position → the same position in the output
  const toOut = (pos: number): number => list.reduce((n, p, k) => (p.index < pos ? n + reps[k]!.length - p.length : n), pos)
  // each quoted-heredoc line as it now reads (all its placeholders replaced) must not be the delimiter
  for (const p of list) {
    if (p.context !== 'quoted-heredoc') continue
    const h = p.heredoc!
    const start = command.lastIndexOf('\n', p.index - 1) + 1
    const nl = command.indexOf('\n', p.index)
    const end = nl < 0 ? command.length : nl
    for (const line of out.slice(toOut(start), toOut(end)).split('\n')) {
      if ((h.stripTabs ? line.replace(/^\t+/, '') : line) === h.delimiter) throw heredocRefusal(p, h.delimiter)
    }
  }
  return out
}

/**
 * The job script lines that set the args as data: positional parameters from shell-quoted words,
 * `DSTACK_ARGS_TEXT` (joined by spaces) and, under bash, the array `DSTACK_ARGS`.
 */
export function jobArgsPrelude(args: string[], quote: (s: string) => string): string[] {
  return [
    `set -- ${args.map(quote).join(' ')}`.trimEnd(),
    '# shellcheck disable=SC2034 # for the commands that reference it',
    `DSTACK_ARGS_TEXT=${quote(argsText(args))}`,
    `if [ -n "\${BASH_VERSION:-}" ]; then eval 'DSTACK_ARGS=("$@")'; fi`
  ]
}
