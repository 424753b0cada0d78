/**
 * GitLab CI adapter: step outputs as an `artifacts:reports:dotenv` file. GitLab's parser
 * (Ci::ParseDotenvArtifactService) reads each line as `^(.*?)=(.*)$` and strips both sides: there is
 * no quoting (quotes stay part of the value), so a value is written as it is. Inner spaces are kept
 * (`DSTACK_REASON=all commands exited with 0`); a value with a line break or leading/trailing
 * whitespace cannot be carried. Keys are `[A-Za-z0-9_]`, the file must stay under 5 KB, and older or
 * self-managed instances accept at most 20 variables. A value that breaks a rule is left out (and
 * named, for the job log), never mangled; the full data is in run.json.
 */
export const DOTENV_LIMIT_BYTES = 5 * 1024
/** the lowest `dotenv_variables` plan limit GitLab ships (self-managed default before 16.2, old gitlab.com plans) */
export const DOTENV_MAX_VARIABLES = 20

export interface DotenvResult {
  text: string
  /** outputs left out, with why */
  skipped: { name: string; why: string }[]
}

/** `run-name` → `DSTACK_RUN_NAME` */
export function dotenvKey(output: string): string {
  return 'DSTACK_' + output.toUpperCase().replace(/[^A-Z0-9]+/g, '_')
}

/** why GitLab cannot carry this value unchanged, or undefined when it can */
export function dotenvProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'multi-line value'
  if (value !== value.trim()) return 'leading or trailing whitespace (GitLab strips it)'
  return undefined
}

/**
 * the large JSON lists go last, in this order, so they are the first to drop: the per-node results
 * of a multi-node run (the run's own status, reason and exit code name the failing node) before the artifacts
 */
const LAST = ['artifacts', 'node-statuses']

/** outputs in the order given, then the large lists (LAST) */
export function dotenvOutputs(outputs: Record<string, string>, limit = DOTENV_LIMIT_BYTES, maxVariables = DOTENV_MAX_VARIABLES): DotenvResult {
  const skipped: DotenvResult['skipped'] = []
  const lines: string[] = []
  let size = 0
  const names = Object.keys(outputs).sort((a, b) => LAST.indexOf(a) - LAST.indexOf(b))
  for (const name of names) {
    const value = outputs[name]!
    if (value === '') continue
    const problem = dotenvProblem(value)
    if (problem) {
      skipped.push({ name, why: problem })
      continue
    }
    const line = `${dotenvKey(name)}=${value}`
    // GitLab wants the file strictly smaller than the limit
    if (size + Buffer.byteLength(line) + 1 >= limit) {
      skipped.push({ name, why: `the dotenv report would reach GitLab's ${limit}-byte limit` })
      continue
    }
    if (lines.length >= maxVariables) {
      skipped.push({ name, why: `GitLab accepts at most ${maxVariables} dotenv variables on some instances` })
      continue
    }
    lines.push(line)
    size += Buffer.byteLength(line) + 1
  }
  return { text: lines.join('\n') + (lines.length ? '\n' : ''), skipped }
}
