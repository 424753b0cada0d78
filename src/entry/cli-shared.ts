/** What the CLI's verb files get from cli.ts: the store options and the output helpers. */
import type { Command } from 'commander'
import type { RunStore } from '../store/index.js'
import type { StoreLocation } from '../model/index.js'

/** what the CLI reads and writes: its environment, folder, output streams and cancellation */
export interface CliIo {
  environ: Record<string, string | undefined>
  cwd: string
  out: { write(s: string): boolean; isTTY?: boolean }
  err: { write(s: string): boolean; isTTY?: boolean }
  /** aborted on SIGINT/SIGTERM */
  signal: AbortSignal
}

export interface StoreOpts {
  repo?: string
  store?: string
  region?: string
  endpoint?: string
}

export interface VerbDeps {
  /** adds -C/--repo, --store, --region, --endpoint */
  withStore: (c: Command) => Command
  ctx: (o: StoreOpts) => Promise<{ repoDir: string; loc: StoreLocation; store: RunStore; repoId: () => Promise<string> }>
  io: { environ: Record<string, string | undefined>; out: { write(s: string): boolean }; err: { write(s: string): boolean } }
  json: (v: unknown) => void
}

/** the options that pick a baseline and the direction of each metric (`metrics`, `report`) */
export function withBaselineOptions(cmd: Command, baselineHelp: string): Command {
  return cmd
    .option('--baseline <ref>', baselineHelp, 'auto')
    .option('--lower-is-better <names>', 'metric names or globs where lower is better (comma-separated)')
    .option('--higher-is-better <names>', 'metric names or globs where higher is better (comma-separated)')
}
