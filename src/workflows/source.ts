/**
 * A parsed workflow file: its YAML document (with positions) and the problems found in it.
 * Every check reports through `FileContext.report`, so each problem carries file, line, column and
 * a field path like `workflows[1].resources.gpu`.
 */
import { parseDocument, LineCounter, isMap, isSeq, isPair, isScalar, type Document, type Node, type Tags, type ScalarTag } from 'yaml'
import type { WorkflowProblem } from '../model/index.js'

export type FieldPath = readonly (string | number)[]

export function formatPath(path: FieldPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

export interface Position {
  line: number
  column: number
}

export class FileContext {
  readonly problems: WorkflowProblem[] = []
  readonly warnings: WorkflowProblem[] = []

  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lineCounter: LineCounter
  ) {}

  /** position of the value at `path` (or of its key with `atKey`); falls back to the deepest node found */
  position(path: FieldPath, atKey = false): Position {
    const offset = this.offsetOf(path, atKey)
    const p = this.lineCounter.linePos(offset)
    return { line: p.line, column: p.col }
  }

  report(path: FieldPath, message: string, hint?: string, atKey = false): void {
    this.problems.push(this.make(path, message, hint, atKey))
  }

  warn(path: FieldPath, message: string, hint?: string, atKey = false): void {
    this.warnings.push(this.make(path, message, hint, atKey))
  }

  /** true when an unknown key nearby was probably meant to be `key` (so "missing key" would be noise) */
  misspelt(path: FieldPath, key: string): boolean {
    const p = formatPath(path)
    return this.problems.some((x) => x.path.startsWith(p ? p + '.' : '') && x.message.startsWith('unknown key') && !!x.hint?.includes(`\`${key}\``))
  }

  /** true when a problem was already reported at `path` or inside it (schema errors come first) */
  hasProblemAt(path: FieldPath): boolean {
    const p = formatPath(path)
    return this.problems.some((x) => x.path === p || x.path.startsWith(p + '.') || x.path.startsWith(p + '['))
  }

  /** forget the problems found at `path` or inside it (a workflow that turned out to be skipped) */
  dropProblemsAt(path: FieldPath): void {
    const p = formatPath(path)
    const keep = this.problems.filter((x) => !(x.path === p || x.path.startsWith(p + '.') || x.path.startsWith(p + '[')))
    this.problems.splice(0, this.problems.length, ...keep)
  }

  private make(path: FieldPath, message: string, hint: string | undefined, atKey: boolean): WorkflowProblem {
    const pos = this.position(path, atKey)
    const problem: WorkflowProblem = { file: this.file, line: pos.line, column: pos.column, path: formatPath(path), message }
    if (hint) problem.hint = hint
    return problem
  }

  private offsetOf(path: FieldPath, atKey: boolean): number {
    let node: unknown = this.doc.contents
    let offset = rangeStart(node) ?? 0
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!
      const last = i === path.length - 1
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && keyOf(it.key) === String(seg))
        if (!pair) return offset
        const keyStart = rangeStart(pair.key)
        if (last && atKey && keyStart !== undefined) return keyStart
        const valueStart = rangeStart(pair.value)
        node = pair.value
        offset = valueStart ?? keyStart ?? offset
        if (valueStart === undefined) return offset
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg]
        const start = rangeStart(item)
        if (start === undefined) return offset
        node = item
        offset = start
      } else {
        return offset
      }
    }
    return offset
  }
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value)
  return typeof key === 'string' ? key : undefined
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range
  return Array.isArray(r) ? r[0] : undefined
}

export interface ParsedYaml {
  ctx: FileContext
  /** the document as plain JS (undefined when it has syntax errors) */
  value: unknown
  ok: boolean
}

/**
 * The plain scalars PyYAML resolves (dstack reads every file with PyYAML's `safe_load`, a YAML 1.1
 * reader): `yes`/`no`/`on`/`off` are booleans (`y`/`n` stay strings), `0755` is octal, `1:30` is
 * sexagesimal (90), a float needs a dot and a signed exponent (`1e3` stays a string), `09` is a
 * string. Each regular expression is PyYAML's own (`yaml/resolver.py`, `Resolver.add_implicit_resolver`).
 */
const PYYAML_TESTS: Record<string, RegExp> = {
  'bool:true': /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/,
  'bool:false': /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  'int:': /^[-+]?(?:0|[1-9][0-9_]*)$/,
  'int:TIME': /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/,
  'float:': /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)$/,
  'float:EXP': /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*[eE][-+][0-9]+|\.[0-9_]+[eE][-+][0-9]+)$/
}

function pyYamlTags(tags: Tags): Tags {
  return tags.map((t) => {
    const tag = t as ScalarTag
    if (!tag.test) return t
    const kind = tag.tag.replace('tag:yaml.org,2002:', '')
    // `.inf` / `.nan` (yaml's floatNaN) match PyYAML already and keep their own test
    if (tag.test.test('.inf')) return t
    const key = kind === 'bool' ? `bool:${tag.test.test('true') ? 'true' : 'false'}` : `${kind}:${tag.format ?? ''}`
    const test = PYYAML_TESTS[key]
    return test ? { ...tag, test } : t
  })
}

/**
 * Parse YAML as dstack does (YAML 1.1 scalars, see PYYAML_TESTS; `<<` merge keys) keeping
 * positions; syntax errors become problems with their own line and column.
 */
export function parseYaml(file: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: true, merge: true, version: '1.1', customTags: pyYamlTags })
  const ctx = new FileContext(file, doc, lineCounter)
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0])
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
    ctx.problems.push({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax error: ${message}` })
  }
  if (doc.errors.length) return { ctx, value: undefined, ok: false }
  try {
    return { ctx, value: doc.toJS({ maxAliasCount: 1000 }), ok: true }
  } catch (e) {
    ctx.problems.push({ file, line: 1, column: 1, path: '', message: `YAML error: ${(e as Error).message}` })
    return { ctx, value: undefined, ok: false }
  }
}
