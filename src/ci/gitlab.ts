/**
 * GitLab CI adapter: step outputs as an `artifacts:reports:dotenv` file. GitLab's rules: keys
 * `[A-Za-z0-9_]`, one line per variable, no empty or multi-line values, no spaces, at most 5 KB.
 * A value that breaks them is left out (and named), never mangled; the full data is in run.json.
 */
export const DOTENV_LIMIT_BYTES = 5 * 1024

export interface DotenvResult {
  text: string
  /** outputs left out, with why */
  skipped: { name: string; why: string }[]
}

/** `run-name` → `DSTACK_RUN_NAME` */
export function dotenvKey(output: string): string {
  return 'DSTACK_' + output.toUpperCase().replace(/[^A-Z0-9]+/g, '_')
}

/** outputs in the order given; the large JSON list of artifacts goes last so it is the first to drop */
export function dotenvOutputs(outputs: Record<string, string>, limit = DOTENV_LIMIT_BYTES): DotenvResult {
  const skipped: DotenvResult['skipped'] = []
  const lines: string[] = []
  let size = 0
  const names = Object.keys(outputs).sort((a, b) => Number(a === 'artifacts') - Number(b === 'artifacts'))
  for (const name of names) {
    const value = outputs[name]!
    if (value === '') continue
    if (/[\r\n]/.test(value)) {
      skipped.push({ name, why: 'multi-line value' })
      continue
    }
    if (/\s/.test(value)) {
      skipped.push({ name, why: 'value contains spaces' })
      continue
    }
    const line = `${dotenvKey(name)}=${value}`
    if (size + Buffer.byteLength(line) + 1 > limit) {
      skipped.push({ name, why: `the dotenv report would exceed ${limit} bytes` })
      continue
    }
    lines.push(line)
    size += Buffer.byteLength(line) + 1
  }
  return { text: lines.join('\n') + (lines.length ? '\n' : ''), skipped }
}
