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
    const value = template.replace(EXPR_RE, (whole, expr: string) => {
      const variable = envReference(expr)
      if (variable === undefined) return whole
      const v = environ[variable]
      if (v === undefined || v === '') {
        complete = false
        if (!missing.includes(variable)) missing.push(variable)
        return ''
      }
      return v
    })
    if (complete) values[name] = value
  }
  return { values, missing }
}
