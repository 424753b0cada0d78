/**
 * `dstack-run cleanup`: on AWS, terminate the instances tagged by this tool whose
 * dstack:expires-at has passed and delete stale secret parameters (a scheduled job); with `--work`,
 * remove this machine's work folders of the local runs that ended (a failed run keeps its folder
 * to look into: `<work root>/<run>/<attempt>`, DESIGN.md "What the job prints").
 */
import { Command, Option } from 'commander'
import { lstatSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createBackend } from '../backends/index.js'
import { defaultWorkRoot } from '../orchestrate/runner-plan.js'
import { plural, isTerminal } from '../model/index.js'
import { refreshedStatus } from './cli-views.js'
import type { ErrorContext } from './cli-errors.js'
import type { CliIo, VerbDeps } from './cli-shared.js'

interface CleanupOpts {
  awsRegion?: string
  region?: string
  dryRun?: boolean
  work?: boolean
  repo?: string
  store?: string
  storeRegion?: string
  endpoint?: string
}

/** folder size in bytes (symbolic links count as themselves, never followed) */
function folderBytes(path: string): number {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.size
  let n = 0
  for (const e of readdirSync(path)) n += folderBytes(join(path, e))
  return n
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}

/**
 * The work folders of this repository's runs that ended, by the store's record of each run: a
 * folder whose name is not a run of this repository in the store, or whose run may still be going,
 * stays.
 */
async function cleanWorkFolders(o: CleanupOpts, d: Pick<VerbDeps, 'ctx'> & { io: CliIo }): Promise<void> {
  const c = await d.ctx(o)
  const repoId = await c.repoId()
  const root = d.io.environ.DSTACK_WORK_ROOT || defaultWorkRoot(repoId, false)
  let names: string[]
  try {
    names = readdirSync(root).filter((n) => !n.startsWith('.'))
  } catch {
    names = []
  }
  let removed = 0
  let bytes = 0
  const kept: string[] = []
  for (const name of names) {
    const path = join(root, name)
    if (!lstatSync(path).isDirectory()) continue
    const rec = await c.store.getRun(repoId, name).catch(() => undefined)
    const status = rec ? await refreshedStatus(c.store, rec) : undefined
    if (!rec || status === undefined || (status !== 'lost' && !isTerminal(status))) {
      kept.push(`${name} (${rec ? status : 'not a run of this repository in this store'})`)
      continue
    }
    const size = folderBytes(path)
    if (!o.dryRun) rmSync(path, { recursive: true, force: true })
    d.io.err.write(`${o.dryRun ? 'would remove' : 'removed'} ${path} (run ${status}, ${megabytes(size)})\n`)
    removed++
    bytes += size
  }
  if (kept.length) d.io.err.write(`kept ${plural(kept.length, 'work folder')}: ${kept.join(', ')}\n`)
  d.io.err.write(`${o.dryRun ? 'would remove' : 'removed'} ${plural(removed, 'work folder')} of ended runs in ${root} (${megabytes(bytes)})\n`)
}

export function registerCleanupCommand(
  program: Command,
  d: { io: CliIo; warn: (m: string) => void; failing: ErrorContext; ctx: VerbDeps['ctx'] }
): void {
  program
    .command('cleanup')
    .description('aws: terminate instances tagged by this tool whose dstack:expires-at has passed (for a scheduled job); --work: remove the work folders local runs left on this machine')
    .option('--aws-region <region>', 'aws: the region of the instances (default AWS_REGION)')
    .addOption(new Option('--region <region>', 'deprecated: --aws-region').hideHelp())
    .option('--work', 'instead: remove this repository\'s work folders of local runs that ended (a failed run keeps its folder to look into)')
    .option('-C, --repo <dir>', '--work: the repository folder', '.')
    .option('--store <store>', '--work: the run store that says which runs ended (default $DSTACK_STORE or ~/.dstack/store)')
    .option('--store-region <region>', '--work: AWS region of the S3 store\'s bucket')
    .option('--endpoint <url>', '--work: S3-compatible endpoint URL for the store')
    .option('--dry-run', 'only list them')
    .action(async (o: CleanupOpts) => {
      if (o.work) return cleanWorkFolders(o, d)
      if (o.region !== undefined) d.warn('--region is deprecated: use --aws-region (the region of the instances)')
      const region = o.awsRegion ?? o.region ?? d.io.environ.AWS_REGION ?? d.io.environ.AWS_DEFAULT_REGION
      d.failing.awsUse = `cleanup${region ? ` in ${region}` : ''}`
      const backend = (await createBackend('aws', { aws: { region } })) as unknown as {
        cleanupExpired(opts: { dryRun?: boolean; log?: (l: string) => void }): Promise<{ terminated: string[]; deletedSecrets: string[] }>
        close(): void
      }
      const res = await backend.cleanupExpired({ dryRun: Boolean(o.dryRun), log: (l) => void d.io.err.write(l + '\n') }).finally(() => backend.close())
      d.io.err.write(`${o.dryRun ? 'would terminate' : 'terminated'} ${plural(res.terminated.length, 'expired instance')}${res.terminated.length ? ': ' + res.terminated.join(', ') : ''}\n`)
      d.io.err.write(`${o.dryRun ? 'would delete' : 'deleted'} ${plural(res.deletedSecrets.length, 'stale secret env parameter')}\n`)
    })
}
