/**
 * The root volume and public address settings of the aws backend (issue 25), as each entry reads
 * them: the action's inputs `disk-type`, `disk-iops`, `disk-throughput`, `public-ip`; the CLI's
 * `--disk-type`, `--disk-iops`, `--disk-throughput`, `--public-ip <bool>` / `--no-public-ip` (the
 * GitLab component passes its inputs as those flags). The backend checks the values
 * (backends/aws/disk-options.ts, options.ts) before anything is launched.
 */
import type { Command } from 'commander'

export interface DiskNetworkOptions {
  diskType?: string
  diskIops?: string
  diskThroughput?: string
  publicIp?: string | boolean
}

/** from the action's inputs (empty ones left out: the backend's defaults apply) */
export function diskNetworkInputs(getInput: (name: string) => string): DiskNetworkOptions {
  const v = (name: string) => getInput(name).trim() || undefined
  const out: DiskNetworkOptions = {}
  const type = v('disk-type')
  const iops = v('disk-iops')
  const throughput = v('disk-throughput')
  const publicIp = v('public-ip')
  if (type) out.diskType = type
  if (iops) out.diskIops = iops
  if (throughput) out.diskThroughput = throughput
  if (publicIp) out.publicIp = publicIp
  return out
}

/** the CLI flags, on `run` (all) and `check` (`network` only: the address decides what the preflight checks) */
export function addDiskNetworkOptions(cmd: Command, which: 'all' | 'network' = 'all'): Command {
  if (which === 'all') {
    cmd
      .option('--disk-type <type>', 'aws backend: the root EBS volume\'s type: gp3 (default), gp2, io1, io2')
      .option('--disk-iops <n>', 'aws backend: provisioned IOPS of the root volume (gp3: 3000–16000; io1 / io2: required)')
      .option('--disk-throughput <MiB/s>', 'aws backend: throughput of a gp3 root volume (125–1000)')
  }
  return cmd
    .option('--public-ip <bool>', 'aws backend: false launches without a public IPv4 address (needs --subnet-ids that reach SSM and S3 through VPC endpoints or NAT)')
    .option('--no-public-ip', 'aws backend: the same as --public-ip false')
}

/** from the parsed CLI options */
export function diskNetworkFlags(o: Record<string, unknown>): DiskNetworkOptions {
  const out: DiskNetworkOptions = {}
  if (typeof o.diskType === 'string') out.diskType = o.diskType
  if (typeof o.diskIops === 'string') out.diskIops = o.diskIops
  if (typeof o.diskThroughput === 'string') out.diskThroughput = o.diskThroughput
  if (o.publicIp === false || typeof o.publicIp === 'string') out.publicIp = o.publicIp
  return out
}
