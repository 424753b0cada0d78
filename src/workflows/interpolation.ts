/**
 * `${{ … }}` expressions. Commands and setup may use `${{ run.args }}` and `${{ run.name }}`
 * (left in place for the runner renderer, which quotes them). Env values may use
 * `${{ secrets.NAME }}` and `${{ env.NAME }}`: such entries become secretEnv templates, resolved only
 * at launch from the CI environment (in GitHub the user maps secrets into the step's env).
 */
import type { RunSpec } from '../model/index.js'

const EXPR_RE = /\$\{\{\s*(.*?)\s*\}\}/g
export const RUN_CONTEXT = ['run.args', 'run.name'] as const
const ENV_REF_RE = /^(secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)$/
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface Expression {
  text: string
  expr: string
}

export function expressionsIn(s: string): Expression[] {
  return [...s.matchAll(EXPR_RE)].map((m) => ({ text: m[0], expr: m[1]! }))
}

/** expressions in a command that the runner cannot render */
export function unsupportedCommandExpressions(command: string): Expression[] {
  // node addresses (`groups[i].nodes[j].IP_ADDRESS`) are checked against the task's groups (task-format.ts)
  return expressionsIn(command).filter((e) => !(RUN_CONTEXT as readonly string[]).includes(e.expr) && !/^groups\b/.test(e.expr))
}

/** the variable an env-value expression reads (`secrets.HF_TOKEN` → `HF_TOKEN`), or undefined */
export function envReference(expr: string): string | undefined {
  return ENV_REF_RE.exec(expr)?.[2]
}

/** a bare env name taken from the environment at launch */
export function envTemplate(name: string): string {
  return `\${{ env.${name} }}`
}

/** a reference name dstack accepts (`VariablesInterpolator.validate_name`): `ns.name`, one dot, identifier characters */
export function validReferenceName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/.test(name)
}

export interface Scanned {
  /** the text with `$$` read as `$` and each reference replaced by `replace(name)` */
  text: string
  /** references `replace` had no value for (dstack: "missing vars") */
  missing: string[]
  /** a problem dstack refuses the whole string for (no closing `}}`, an illegal name) */
  error?: string
}

/**
 * dstack's `VariablesInterpolator.interpolate` (`utils/interpolator.py`), as a scanner: `$$` is an
 * escaped `$`; `${{ name }}` is a reference (`replace` returns its text, or undefined when it is
 * missing); a reference with no closing `}}` or a name that is not `ns.name` is refused — except
 * in the namespaces `deferred` lets through untouched (dstack's `skip`, e.g. `secrets`, `groups`).
 */
export function scanReferences(s: string, replace: (name: string) => string | undefined, deferred: (name: string) => boolean = () => false): Scanned {
  const tokens: string[] = []
  const missing: string[] = []
  let start = 0
  while (start < s.length) {
    const dollar = s.indexOf('$', start)
    if (dollar === -1 || dollar === s.length - 1) {
      tokens.push(s.slice(start))
      break
    }
    if (s[dollar + 1] === '$') {
      tokens.push(s.slice(start, dollar + 1))
      start = dollar + 2
      continue
    }
    const opening = s.indexOf('${{', start)
    if (opening === -1) {
      tokens.push(s.slice(start))
      break
    }
    tokens.push(s.slice(start, opening))
    const closing = s.indexOf('}}', opening)
    if (closing === -1) return { text: s, missing, error: `No pattern closing: ${s.slice(opening)}` }
    const name = s.slice(opening + 3, closing).trim()
    if (deferred(name)) tokens.push(s.slice(opening, closing + 2))
    else if (!validReferenceName(name)) return { text: s, missing, error: `Illegal reference name: ${name}` }
    else {
      const value = replace(name)
      if (value === undefined) missing.push(name)
      else tokens.push(value)
    }
    start = closing + 2
  }
  return { text: tokens.join(''), missing }
}

/** the namespace of a reference (`groups[0].nodes[1].IP_ADDRESS` → `groups`), as dstack's `namespace_root` */
export function namespaceRoot(name: string): string {
  return name.split('.')[0]!.split('[')[0]!
}

/**
 * Resolve the spec's secretEnv templates against `environ`: `secrets.X` and `env.X` both read
 * `environ[X]`. A variable that is unset or empty (GitHub expands a missing secret to '') is listed in
 * `missing` (each name once, in order) and the entries that need it get no value.
 */
export function resolveSecretEnv(
  spec: Pick<RunSpec, 'secretEnv'>,
  environ: Record<string, string | undefined>
): { values: Record<string, string>; missing: string[] } {
  const values: Record<string, string> = {}
  const missing: string[] = []
  for (const [name, template] of Object.entries(spec.secretEnv)) {
    let complete = true
    // read as dstack's interpolator reads an env value: `$$` is `$`, references are replaced
    const scanned = scanReferences(template, (expr) => {
      const variable = envReference(expr)
      if (variable === undefined) return `\${{ ${expr} }}`
      const v = environ[variable]
      if (v === undefined || v === '') {
        complete = false
        if (!missing.includes(variable)) missing.push(variable)
        return ''
      }
      return v
    }, (expr) => !validReferenceName(expr))
    if (complete) values[name] = scanned.text
  }
  return { values, missing }
}
