/** What the CLI's verb files get from cli.ts: the store options and the output helpers. */
import type { Command } from 'commander'
import type { RunStore } from '../store/index.js'
import { UserError, type StoreLocation } from '../model/index.js'

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
  storeRegion?: string
  /** deprecated spelling of storeRegion on the verbs where it can only mean the store's region */
  region?: string
  endpoint?: string
}

/**
 * `--store-region`: the region of the store's bucket. `--region` is its deprecated spelling on the
 * verbs that only read the store (it said so there), with a warning.
 */
export function storeRegion(o: StoreOpts, warn: (m: string) => void): string | undefined {
  if (o.region === undefined) return o.storeRegion
  if (o.storeRegion !== undefined && o.storeRegion !== o.region) throw new UserError(`--region ${o.region} and --store-region ${o.storeRegion} disagree`, 'give only --store-region (--region is its old name)')
  warn('--region is deprecated: use --store-region (the region of the store\'s bucket)')
  return o.region
}

/**
 * `--aws-region` of `run` and `check`, where the machines' region and the store's may differ:
 * `--region` meant one in `run` and the other in `check`, so there it is refused with the two names.
 */
export function awsRegionOption(o: { region?: unknown; awsRegion?: unknown }, verb: string): string | undefined {
  if (o.region !== undefined) {
    throw new UserError(`--region is ambiguous in \`dstack-run ${verb}\``, 'use --aws-region for the region of the EC2 machines, and --store-region for the region of the S3 store\'s bucket')
  }
  return typeof o.awsRegion === 'string' ? o.awsRegion : undefined
}

export interface VerbDeps {
  /** adds -C/--repo, --store, --store-region, --endpoint */
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
