/** `dstack-run check --backend aws [workflow]`: the AWS preflight, one row per check with its fix. */
import { firstRegion } from './region-list.js'
import { Command, Option } from 'commander'
import { parseStoreSpec } from '../store/index.js'
import { formatRows } from '../backends/aws/check-rows.js'
import { checkFailed, runAwsCheck } from './check.js'
import { awsRegionOption, type CliIo } from './cli-shared.js'
import type { ErrorContext } from './cli-errors.js'
import { repoFolder } from './cli-repo-folder.js'
import { addDiskNetworkOptions, diskNetworkFlags } from './disk-network-inputs.js'

export function registerCheckCommand(program: Command, io: CliIo, setExitCode: (code: number) => void, failing: ErrorContext = {}): void {
  const cmd = program
    .command('check')
    .description('aws: check credentials, quotas, instance profile, store, subnets and security groups before a first run; launches nothing')
    .argument('[workflow]', 'also check this workflow\'s candidates against the vCPU quotas')
    .addOption(new Option('-b, --backend <backend>', 'the backend to check').choices(['aws']).default('aws'))
    .option('-C, --repo <dir>', 'the repository folder', '.')
    .option('--store <store>', 's3://bucket/prefix: check that it is writable')
    .option('--aws-region <region>', 'AWS region of the machines (default AWS_REGION)')
    .option('--store-region <region>', 'AWS region of the store\'s bucket (default: --aws-region)')
    .addOption(new Option('--region <region>').hideHelp())
    .option('--endpoint <url>', 'S3-compatible endpoint URL for the store')
    .option('--instance-profile <name>', 'instance profile to check')
    .option('--subnet-ids <ids>', 'comma-separated subnets to check')
    .option('--security-group-ids <ids>', 'comma-separated security groups to check')
    .option('--ami <ami>', 'AMI id or SSM parameter name')
    .option('--cluster-security-group <id>', 'multi-node: the security group the nodes would share, to check')
    .option('--json', 'JSON output')
  addDiskNetworkOptions(cmd, 'network')
    .action(async (workflow: string | undefined, o: Record<string, string | boolean | undefined>) => {
      const list = (v: unknown) => String(v ?? '').split(/[\s,]+/).filter(Boolean)
      const region = awsRegionOption(o, 'check') ?? io.environ.AWS_REGION ?? io.environ.AWS_DEFAULT_REGION
      const repoDir = repoFolder(io.cwd, o.repo as string | undefined)
      const store = o.store ? parseStoreSpec(o.store as string, { region: (o.storeRegion as string | undefined) ?? firstRegion(region), endpoint: o.endpoint as string | undefined }) : undefined
      Object.assign(failing, { store, awsUse: 'check' })
      const rows = await runAwsCheck({
        aws: { region, instanceProfile: o.instanceProfile, subnetIds: list(o.subnetIds), securityGroupIds: list(o.securityGroupIds), ami: o.ami, ...(o.clusterSecurityGroup ? { clusterSecurityGroupId: o.clusterSecurityGroup as string } : {}), ...diskNetworkFlags(o), env: io.environ },
        store,
        repoDir,
        workflow,
        log: (l) => void io.err.write(l + '\n')
      })
      if (o.json) io.out.write(JSON.stringify(rows, null, 2) + '\n')
      else io.out.write(formatRows(rows) + '\n')
      const failed = rows.filter((r) => r.status === 'fail').length
      io.err.write(failed ? `${failed} check(s) failed: fix them before the first run\n` : 'ready: no check failed\n')
      if (checkFailed(rows)) setExitCode(1)
    })
}
