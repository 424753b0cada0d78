/**
 * Pure: every text the runner redacts from the job's log and the CI masks: each resolved secret env
 * value, each raw CI value it was built from (`Bearer ${{ secrets.TOK }}` → also the token itself),
 * and each line of a multi-line one. Short values are included: a secret of 1–3 characters then
 * turns every occurrence of those characters in the log into `***` (README "Secrets").
 */
import type { RunSpec } from '../model/index.js'

const EXPR_RE = /\$\{\{\s*(?:secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g
const BARE_RE = /^\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/

export function secretTexts(spec: Pick<RunSpec, 'secretEnv'>, resolved: Record<string, string>, environ: Record<string, string | undefined>): string[] {
  const texts = new Set<string>()
  const add = (v: string | undefined) => {
    if (!v) return
    texts.add(v)
    for (const line of v.split(/\r?\n/)) if (line.trim() !== '') texts.add(line)
  }
  for (const [name, template] of Object.entries(spec.secretEnv)) {
    add(resolved[name])
    for (const m of template.matchAll(EXPR_RE)) add(environ[m[1]!])
    const bare = BARE_RE.exec(template)
    if (bare) add(environ[bare[1]!])
  }
  // longest first, so `Bearer xyz` is replaced whole before `xyz`
  return [...texts].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
}

/** the variable that hands the texts to the runner (newline-separated); never reaches the job */
export const REDACT_ENV = 'DSTACK_REDACT'

export function redactEnv(texts: string[]): Record<string, string> {
  const lines = texts.filter((t) => !t.includes('\n') && !t.includes('\r'))
  return lines.length ? { [REDACT_ENV]: lines.join('\n') } : {}
}
