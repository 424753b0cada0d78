/** The real CLI entry (`main`) with its output captured, as a user would run `dstack-run …`. */
import { main } from '../../src/entry/cli.js'

export interface CliResult {
  code: number
  out: string
  err: string
}

export async function runCli(args: string[], opts: { cwd?: string; environ?: Record<string, string | undefined>; signal?: AbortSignal } = {}): Promise<CliResult> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ: opts.environ ?? process.env,
    cwd: opts.cwd ?? process.cwd(),
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: opts.signal ?? new AbortController().signal
  })
  return { code, out, err }
}
