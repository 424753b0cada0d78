/**
 * `dstack-run`: the CLI (dist/cli.js). The same run lifecycle as the action, on a laptop or a
 * self-hosted machine; `--backend local` is the default so it works with no cloud account.
 */
import { firstRegion } from './region-list.js'
import { Command, Option, CommanderError } from 'commander'
import { resolve as resolvePath } from 'node:path'
import { detectRepoId, captureRevision, parseBranchList } from '../revision/index.js'
import { openStore, parseStoreSpec, defaultStoreLocation, RunStore } from '../store/index.js'
import { runWorkflow } from '../orchestrate/index.js'
import { createBackend, parseBackendName } from '../backends/index.js'
import { runGroupFrom } from '../ci/run-group-env.js'
import { TerminalReporter } from '../ci/terminal.js'
import { CommandFence } from '../ci/log-fences.js'
import { UserError, WorkflowErrors, formatProblem, isTerminal, describeStore, type RunRecord, type StoreLocation } from '../model/index.js'
import { parseEnvAssignments } from './env-input.js'
import { parseArgsInput } from './args-input.js'
import { recordMachine, readMachines, clearMachines } from './machine-state.js'
import { attemptRef, cancelWaitSec, saveThenReleaseAll, type LeftMachine } from './runner-save.js'
import { existsSync } from 'node:fs'
import { SecretRedactor } from '../ci/redact.js'
import { refreshedStatus, resolveRunRef, printTable, psRows, psNodes, psTrust, displayPath, attemptNumber } from './cli-views.js'
import { printRunLogs } from './cli-node-logs.js'
import { registerMetricsCommand } from './cli-metrics.js'
import { registerCacheCommand } from './cli-cache.js'
import { registerReportCommand } from './cli-report.js'
import { registerValidate } from './cli-validate.js'
import { registerCheckCommand } from './cli-check.js'
import { addExamples } from './cli-help.js'
import { packageVersion } from './package-version.js'
import { plural } from '../model/index.js'
import { awsSession } from './aws-session.js'
import type { RenewingCredentials } from '../backends/aws/renewing-credentials.js'
import { storeRegion, awsRegionOption, type CliIo, type StoreOpts } from './cli-shared.js'
import { explainError, type ErrorContext } from './cli-errors.js'
import { repoFolder } from './cli-repo-folder.js'
import { splitAtDoubleDash, workflowArgs } from './cli-run-args.js'
import { followExitCode } from './cli-exit.js'
import { registerCleanupCommand } from './cli-cleanup.js'
import { publishRunEnd, publishStarted } from './cli-run-end.js'
import { cliCommenter } from './cli-commenter.js'
import { registerAttachCommands } from './cli-attach.js'
import { addDiskNetworkOptions, diskNetworkFlags } from './disk-network-inputs.js'

export type { CliIo } from './cli-shared.js'

export async function main(argv: string[], io: CliIo): Promise<number> {
  // `run WORKFLOW … -- ARGS`: what follows -- is the workflow's, and commander never sees it
  const { parsed, explicit: runExplicitArgs } = argv[0] === 'run' ? splitAtDoubleDash(argv) : { parsed: argv, explicit: [] }
  let exitCode = 0
  // what the command was using when it failed, to name it in the error (cli-errors.ts)
  const failing: ErrorContext = {}
  const program = new Command('dstack-run')
    .description('Run ML workflows defined as code (.dstack/workflows.yaml, *.dstack.yml) locally or on spot GPU EC2')
    .exitOverride()
    // commander's own errors are printed by the catch below: one line and a hint, not the whole help
    .configureOutput({ writeOut: (s) => void io.out.write(s), writeErr: (s) => void io.err.write(s), outputError: () => undefined })
    .version(packageVersion(), '-V, --version', 'print the version of dstack-run')

  const warn = (m: string) => void io.err.write(`warning: ${m}\n`)
  const withStore = (c: Command) =>
    c
      .option('-C, --repo <dir>', 'the repository folder', '.')
      .option('--store <store>', 'run store: a folder or s3://bucket/prefix (default $DSTACK_STORE or ~/.dstack/store)')
      .option('--store-region <region>', 'AWS region of the S3 store\'s bucket (default AWS_REGION)')
      .addOption(new Option('--region <region>', 'deprecated: --store-region').hideHelp())
      .option('--endpoint <url>', 'S3-compatible endpoint URL for the store')

  /** the store and the repository of a verb; only `run` may create a store that does not exist yet */
  const ctx = async (o: StoreOpts, credentials?: RenewingCredentials, opts: { creates?: boolean } = {}) => {
    const repoDir = repoFolder(io.cwd, o.repo)
    const spec = o.store ?? io.environ.DSTACK_STORE?.trim()
    const region = storeRegion(o, warn)
    const loc: StoreLocation = o.store ? parseStoreSpec(o.store, { region, endpoint: o.endpoint, cwd: io.cwd, home: io.environ.HOME || undefined }) : defaultStoreLocation(io.environ, { region, endpoint: o.endpoint })
    failing.store = loc
    if (loc.kind === 'folder' && spec && !opts.creates && !existsSync(loc.root)) {
      throw new UserError(`the store folder ${loc.root} does not exist`, `check --store${o.store ? '' : ' (DSTACK_STORE)'}: a \`dstack-run run\` creates it, and every other command reads the runs there`)
    }
    const store = new RunStore(openStore(loc, { credentials }))
    return { repoDir, loc, store, repoId: () => detectRepoId(repoDir, io.environ) }
  }
  let jsonPrinted = false
  const json = (v: unknown) => {
    jsonPrinted = true
    io.out.write(JSON.stringify(v, null, 2) + '\n')
  }

  registerValidate(program, io, (code) => (exitCode = code))

  program
    .command('revision')
    .description('print the revision and code snapshot a run from this checkout would use')
    .option('-C, --repo <dir>', 'the repository folder', '.')
    .option('--include-untracked', 'also include untracked files that git does not ignore')
    .option('--json', 'JSON output')
    .action(async (o: { repo: string; includeUntracked?: boolean; json?: boolean }) => {
      const c = await captureRevision(repoFolder(io.cwd, o.repo), io.environ, { includeUntracked: Boolean(o.includeUntracked) })
      const view = { revision: c.revision, snapshot: { sha256: c.snapshot.sha256, bytes: c.snapshot.tarGz.length }, patchBytes: c.patch.length, warnings: c.warnings }
      if (o.json) return void json(view)
      const r = c.revision
      io.out.write(`repo      ${r.repoId}\nevent     ${r.event}\ncommit    ${r.sha}${r.branch ? ` (${r.branch})` : ''}\n`)
      if (r.pr) io.out.write(`pr/mr     #${r.pr} head ${r.headSha ?? '?'} base ${r.baseSha ?? '?'}\n`)
      io.out.write(`changes   ${r.diffSha256 ? `${c.patch.length} bytes of patch (${r.diffSha256.slice(0, 12)})` : 'none'}\nsnapshot  ${c.snapshot.sha256} (${c.snapshot.tarGz.length} bytes)\n`)
      for (const w of c.warnings) io.err.write(`warning: ${w}\n`)
    })

  addDiskNetworkOptions(withStore(program.command('run')))
    .description('run a workflow and stream its logs; exit code 0 only when the run succeeded')
    .argument('<workflow>', 'workflow name')
    .argument('[args...]', 'arguments for ${{ run.args }}: anything after the workflow name that is not an option below, and everything after --')
    .allowUnknownOption()
    .addOption(new Option('-b, --backend <backend>', 'where to run').choices(['local', 'aws']).default('local'))
    .option('-t, --tag <tag>', 'tag the run when it succeeds')
    .option('--force-tag', 'move the tag if it already exists')
    .option('-e, --env <NAME=VALUE...>', 'set or override an environment variable of the job')
    .option('--args <text>', 'more arguments as one text: one per line, or one line split on whitespace (for CI inputs)')
    .option('--include-untracked', 'also send untracked files that git does not ignore')
    .option('--protected-branches <names>', 'branches (comma-separated) whose pushes, schedules and manual runs are trusted like the default branch\'s (docs/trust-model.md)')
    .option('--untrusted-deps', 'let deps, `--baseline auto` and tags use untrusted runs (default: only outside CI)')
    .option('-d, --detach', 'start the run and return once its job started; it goes on without this process (docs/long-runs.md): follow it with `attach`')
    .option('--json', 'print the run record and outputs as one JSON document on stdout (job logs go to stderr)')
    .option('--dotenv <file>', 'write the outputs as DSTACK_* variables to this file (GitLab artifacts:reports:dotenv)')
    .option('--state-file <file>', 'record live machines here, for `release --state-file` in an after_script')
    .option('--comment <mode>', 'in a GitHub PR / GitLab MR pipeline, keep one comment up to date with the run: auto (when a token is set: GITHUB_TOKEN, DSTACK_GITLAB_TOKEN), true, false', 'auto')
    .option('--aws-region <regions>', 'aws backend: region(s) to launch in, in order of preference (us-east-1,us-west-2: capacity and quota errors fall through to the next); default: the workflow\'s regions, else AWS_REGION')
    .option('--instance-profile <name>', 'aws backend: instance profile whose role has the SSM agent\'s permissions and access to the store (examples/iam)')
    .option('--subnet-ids <ids>', 'aws backend: comma-separated subnets (zones follow from them)')
    .option('--security-group-ids <ids>', 'aws backend: comma-separated security groups')
    .option('--ami <ami>', 'aws backend: AMI id or SSM parameter name of the AMI')
    .option('--efa <mode>', 'aws backend, multi-node: EFA interfaces on EFA-capable types: auto (one per node), all (every card; needs --subnet-ids), off (default $DSTACK_AWS_EFA, else auto)')
    .option('--cluster-security-group <id>', 'aws backend, multi-node: a security group that lets the nodes talk (default $DSTACK_AWS_CLUSTER_SECURITY_GROUP, else one made for the attempt)')
    .option('--baseline <ref>', 'compare the metrics with a tag, a run name, `auto` (latest succeeded run of the workflow on the MR target / this branch) or `none`', 'auto')
    .option('--lower-is-better <names>', 'metric names or globs where lower is better (comma-separated), added to loss, error, latency, …')
    .option('--higher-is-better <names>', 'metric names or globs where higher is better (comma-separated)')
    .option('--group <name>', 'a group of runs of this workflow at this commit, e.g. `seeds` for a CI matrix over seeds (a GitLab parallel job is one without it): the MR / PR comment shows the group against the baseline group')
    .option('--group-size <n>', 'how many runs the group has (GitLab parallel: CI_NODE_TOTAL)')
    .option('--group-member <value>', 'this run\'s place in the group, e.g. its seed (GitLab parallel:matrix: the job\'s matrix values)')
    .option('--baseline-max-commits <n>', 'call a baseline group stale when its commit is more than this many commits behind the base branch (default 50)')
    .option('--baseline-max-days <n>', 'call a baseline group stale when its runs are older than this many days (default 14)')
    .option('--export-artifacts <dir>', 'with a folder store in a GitLab CI job: copy the artifacts here (a job `artifacts:` path) and link them from the MR note')
    .option('--ssm-timeout <seconds>', 'aws backend: seconds to wait for an instance to come Online in SSM before trying the next candidate (default 600)')
    .option('--keep-on-failure <duration>', 'aws backend: keep a failed run\'s instance up this long (30m, 2h, seconds; never past max_duration) to step into it with `aws ssm start-session`; `cleanup` ends it once expired')
    .option('--role-to-assume <arn>', 'assume this role with the CI job\'s OIDC token and renew the session for as long as the run lasts (default $DSTACK_ROLE_TO_ASSUME)')
    .action(async (workflow: string, leftover: string[], o: StoreOpts & Record<string, string | boolean | string[] | undefined>, cmd: Command) => {
      const args = workflowArgs(workflow, leftover, runExplicitArgs, cmd.options.filter((x) => !x.hidden && x.long).map((x) => x.long!))
      const awsRegion = awsRegionOption(o, 'run')
      const backendName = parseBackendName(o.backend as string)
      if (backendName === 'aws') failing.awsUse = 'the aws backend'
      const credentials = await awsSession({ roleArn: (o.roleToAssume as string | undefined) ?? io.environ.DSTACK_ROLE_TO_ASSUME, source: o.roleToAssume ? '--role-to-assume' : 'DSTACK_ROLE_TO_ASSUME', environ: io.environ, region: firstRegion(awsRegion) ?? o.storeRegion ?? io.environ.AWS_REGION, log: (l) => void io.err.write(`${l}\n`) })
      const { repoDir, loc, store } = await ctx(o, credentials, { creates: true })
      if (backendName === 'aws' && loc.kind !== 's3') throw new UserError('the aws backend needs an S3 store', 'pass --store s3://bucket/prefix (the instance reads its code and writes logs and artifacts there)')
      const backend = await createBackend(backendName, {
        detached: Boolean(o.detach),
        environ: io.environ,
        aws: {
          region: awsRegion ?? io.environ.AWS_REGION ?? io.environ.AWS_DEFAULT_REGION,
          instanceProfile: o.instanceProfile,
          subnetIds: splitList(o.subnetIds as string | undefined),
          securityGroupIds: splitList(o.securityGroupIds as string | undefined),
          ami: o.ami,
          ...(o.efa ? { efa: o.efa as string } : {}),
          ...(o.clusterSecurityGroup ? { clusterSecurityGroupId: o.clusterSecurityGroup as string } : {}),
          ssmTimeoutSec: positiveSeconds(o.ssmTimeout as string | undefined, '--ssm-timeout'),
          ...diskNetworkFlags(o),
          ...(o.keepOnFailure ? { keepOnFailure: o.keepOnFailure as string } : {}),
          credentials
        }
      })
      const commenter = cliCommenter(io, store, repoDir, o)
      const group = runGroupFrom(io.environ, { name: o.group as string | undefined, size: o.groupSize as string | undefined, member: o.groupMember as string | undefined }, '--group')
      const reporter = new TerminalReporter({ out: o.json ? io.err : io.out, err: io.err, github: io.environ.GITHUB_ACTIONS === 'true' })
      const redactor = new SecretRedactor()
      reporter.start()
      let record: RunRecord
      try {
        record = await runWorkflow({
          repoDir,
          workflow,
          args: [...args, ...parseArgsInput((o.args as string | undefined) ?? '')],
          env: parseEnvAssignments((o.env as string[] | undefined) ?? [], '--env'),
          environ: io.environ,
          includeUntracked: Boolean(o.includeUntracked),
          protectedBranches: parseBranchList(o.protectedBranches as string | undefined),
          untrustedDeps: o.untrustedDeps ? true : undefined,
          maskSecret: (v) => redactor.add(v),
          backend,
          store,
          storeLocation: loc,
          tag: o.tag as string | undefined,
          forceTag: Boolean(o.forceTag),
          detach: Boolean(o.detach),
          detachedState: { placement: { region: awsRegion, instanceProfile: o.instanceProfile as string | undefined, subnetIds: splitList(o.subnetIds as string | undefined), securityGroupIds: splitList(o.securityGroupIds as string | undefined), ami: o.ami as string | undefined } },
          group,
          signal: io.signal,
          emit: (ev) => {
            reporter.event(ev)
            commenter.onEvent(ev)
          },
          onMachine: o.stateFile ? (r, m) => recordMachine(resolvePath(io.cwd, o.stateFile as string), m, attemptRef(loc, r, m)) : undefined
        })
      } finally {
        reporter.stop()
        backend.close?.()
      }
      if (o.detach && !isTerminal(record.status)) {
        await commenter.settled()
        publishStarted({ io, o, record, loc, json })
        return
      }
      exitCode = await publishRunEnd({ io, o, loc, store, record, commenter, redactor, json })
    })

  withStore(program.command('ps'))
    .description('list the runs of this repository (the latest 20 unless --all)')
    .option('-a, --all', 'all runs')
    .option('--json', 'JSON output')
    .action(async (o: StoreOpts & { all?: boolean; json?: boolean }) => {
      const c = await ctx(o)
      const repoId = await c.repoId()
      const rows = await psRows(c.store, repoId, Boolean(o.all))
      for (const r of rows) if (r.problem) io.err.write(`warning: ${r.problem}\n`)
      if (!rows.length) io.err.write(`no runs of ${repoId} in ${describeStore(c.loc)} yet: start one with \`dstack-run run WORKFLOW\`${o.store ? ` --store ${o.store}` : ''}\n`)
      if (o.json) return void json(rows)
      printTable(io.out, ['RUN', 'WORKFLOW', 'SUBMITTED', 'STATUS', 'BACKEND', 'NODES', 'TRUST', 'TAGS'], rows.map((r) => [r.run, r.workflow, r.submittedAt.replace('T', ' ').slice(0, 19), r.status, r.backend, psNodes(r), psTrust(r), r.tags.join(',')]))
    })

  type LogsOpts = StoreOpts & { follow?: boolean; attempt?: string; node?: string }
  /** `logs` and `attach`: print the log; when following, exit with the run's status as `run` does */
  const logs = async (runRef: string, o: LogsOpts) => {
    const c = await ctx(o)
    const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
    const n = attemptNumber(rec, o.attempt)
    // in a GitHub step the job's lines are fenced off from workflow commands, as in `run`
    const fence = io.environ.GITHUB_ACTIONS === 'true' ? new CommandFence((s) => void io.out.write(s)) : undefined
    await printRunLogs(c.store, rec, n, o.node, Boolean(o.follow), fence ? { ...io, out: { write: (s: string) => (fence.output(s), true) } } : io)
    fence?.resume()
    if (!o.follow || io.signal.aborted) return
    const end = await followExitCode(c.store, rec, n)
    io.err.write(`run ${rec.run} ${end.status}${end.reason && end.status !== 'succeeded' ? `: ${end.reason}` : ''}\n`)
    exitCode = end.code
  }
  withStore(program.command('logs'))
    .description('print the logs of a run (its last attempt unless --attempt; every node\'s, each line prefixed `[node <rank>] `, for a multi-node run); with -f, exit with the run\'s status')
    .argument('<run>', 'run name, or :TAG')
    .option('-f, --follow', 'keep printing until the run ends, then exit as `run` does: 0 only when it succeeded')
    .option('--attempt <n>', 'attempt number')
    .option('--node <rank>', 'multi-node runs: only this node\'s log (0 = the master), without the `[node <rank>] ` prefix')
    .action(logs)
  registerAttachCommands(program, { io, withStore, ctx, json, setExit: (c) => (exitCode = c) })

  withStore(program.command('stop'))
    .description('stop a run: the job gets SIGTERM and still saves its artifacts and logs')
    .argument('<run>', 'run name')
    .action(async (runRef: string, o: StoreOpts) => {
      const c = await ctx(o)
      const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
      const machine = rec.attempts[rec.attempts.length - 1]?.machine
      const now = await refreshedStatus(c.store, rec)
      if (now === 'lost' || isTerminal(now) || !machine) {
        io.err.write(`run ${rec.run} is not running: it ${now === 'lost' ? 'was lost (its runner is gone)' : isTerminal(now) ? now : `has no machine yet (${now})`}\n`)
        return
      }
      const backend = await createBackend(machine.backend, { aws: { region: machine.region } })
      try {
        await backend.releaseMachine(machine)
      } finally {
        backend.close?.()
      }
      io.err.write(`stopped ${rec.run} (${machine.id})\n`)
    })

  registerMetricsCommand(program, { withStore, ctx, io, json })
  registerReportCommand(program, { withStore, ctx, io, json })
  registerCacheCommand(program, { withStore, ctx, io, json })

  const artifacts = program.command('artifacts').description('list or download the artifacts of a run or a tag')
  withStore(artifacts.command('list'))
    .description('list the artifact files of a run: path, size, sha256 (--json adds their URLs)')
    .argument('<run>', 'run name, or :TAG')
    .option('--json', 'JSON output')
    .action(async (runRef: string, o: StoreOpts & { json?: boolean }) => {
      const c = await ctx(o)
      const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
      const manifest = (await c.store.readManifest(rec.repoId, rec.run)) ?? []
      if (o.json) return void json(manifest.map((e) => ({ ...e, url: c.store.artifactUrl(rec.repoId, rec.run, e.path) })))
      printTable(io.out, ['PATH', 'SIZE', 'SHA256'], manifest.map((e) => [displayPath(e.path), String(e.size), e.sha256]))
    })
  withStore(artifacts.command('download'))
    .description('download the artifact files of a run and check their sha256')
    .argument('<run>', 'run name, or :TAG')
    .option('-o, --output <dir>', 'where to put them', '.')
    .action(async (runRef: string, o: StoreOpts & { output: string }) => {
      const c = await ctx(o)
      const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
      const got = await c.store.downloadArtifacts(rec.repoId, rec.run, resolvePath(io.cwd, o.output))
      io.err.write(`downloaded ${plural(got.length, 'file')} of ${rec.run} to ${resolvePath(io.cwd, o.output)} (sha256 verified)\n`)
    })

  const tags = program.command('tags').description('tags name succeeded runs so other workflows, teams and repos can depend on them')
  withStore(tags.command('list'))
    .description('list the tags of this repository and the runs they point at')
    .option('--json', 'JSON output')
    .action(async (o: StoreOpts & { json?: boolean }) => {
      const c = await ctx(o)
      const { tags: list, damaged } = await c.store.scanTags(await c.repoId())
      for (const d of damaged) io.err.write(`warning: ${d.error.message}\n`)
      if (o.json) return void json(list)
      printTable(io.out, ['TAG', 'RUN', 'WORKFLOW', 'CREATED', 'NAMESPACE'], list.map((t) => [t.tag, t.run, t.workflow, t.created_at.replace('T', ' ').slice(0, 19), t.trusted === false ? 'untrusted' : 'trusted']))
    })
  withStore(tags.command('add'))
    .description('tag a succeeded run (a tag that exists is moved only with --force)')
    .argument('<tag>', 'tag name')
    .argument('<run>', 'run name')
    .option('--force', 'move the tag if it exists')
    .action(async (tag: string, run: string, o: StoreOpts & { force?: boolean }) => {
      const c = await ctx(o)
      const t = await c.store.addTag(await c.repoId(), tag, run, { force: Boolean(o.force) })
      io.err.write(`tagged ${t.run} as ${t.tag}${t.trusted === false ? ' among the untrusted runs\' tags (the run is untrusted: trusted runs never use this tag)' : ''}\n`)
    })
  withStore(tags.command('delete'))
    .description('delete a tag (the run and its artifacts stay)')
    .argument('<tag>', 'tag name')
    .action(async (tag: string, o: StoreOpts) => {
      const c = await ctx(o)
      await c.store.deleteTag(await c.repoId(), tag)
      io.err.write(`deleted tag ${tag}\n`)
    })

  program
    .command('release')
    .description('release the machines a killed `run --state-file` left behind (GitLab after_script)')
    .requiredOption('--state-file <file>', 'the file given to `run --state-file`')
    .action(async (o: { stateFile: string }) => {
      const file = resolvePath(io.cwd, o.stateFile)
      const machines = readMachines(file)
      if (!machines.length) return void io.err.write('no machine left to release\n')
      const credentials = await awsSession({ roleArn: io.environ.DSTACK_ROLE_TO_ASSUME, source: 'DSTACK_ROLE_TO_ASSUME', environ: io.environ, region: machines[0]?.region ?? io.environ.AWS_REGION, log: (l) => void io.err.write(`${l}\n`) })
      // a killed job's runners may still be saving: ask them to stop and wait for their status (bounded)
      const items: LeftMachine[] = await Promise.all(machines.map(async ({ attemptRef: ref, ...m }) => ({
        m,
        ref,
        backend: await createBackend(m.backend, { aws: { region: m.region, credentials } }),
        store: ref ? new RunStore(openStore(ref.store, { credentials })) : undefined
      })))
      const results = await saveThenReleaseAll(items, { timeoutSec: cancelWaitSec(io.environ), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: Date.now, log: (l) => void io.err.write(`${l}\n`) }).finally(() => {
        for (const it of items) it.backend.close?.()
      })
      const failed = results.filter((r) => r.error)
      for (const { m, error } of results) io.err.write(error ? `could not release ${m.id}: ${error.message}\n` : `released ${m.id}\n`)
      // the state file keeps only what is still left, for another try
      clearMachines(file)
      for (const { m } of failed) recordMachine(file, m, items.find((it) => it.m === m)?.ref)
      if (failed.length) throw new UserError(`${plural(failed.length, 'machine')} could not be released`, 'they terminate themselves at max_duration; `dstack-run cleanup` terminates them once expired')
    })

  registerCleanupCommand(program, { io, warn, failing, ctx })

  registerCheckCommand(program, io, (c) => (exitCode = c), failing)

  addExamples(program)
  // --json asked for this CLI (not among the workflow's arguments after --)
  const wantsJson = parsed.includes('--json')
  try {
    await program.parseAsync(parsed, { from: 'user' })
    return interrupted(io.signal) ?? exitCode
  } catch (e) {
    const code = interrupted(io.signal)
    if (e instanceof CommanderError) {
      if (e.exitCode === 0 || e.code === 'commander.help' || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return e.exitCode === 0 ? 0 : 2
      // one line (commander's message, its did-you-mean included) and where the options are listed
      const verb = verbOf(program, parsed)
      const message = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')
      const hint = `\`dstack-run ${verb ? verb + ' ' : ''}--help\` lists ${verb ? 'its arguments and options' : 'the commands'}${verb === 'run' ? '; arguments for the workflow go after the workflow name, or after --' : ''}`
      io.err.write(`error: ${message}\nhint: ${hint}\n`)
      if (wantsJson && !jsonPrinted) json({ error: message, hint })
      return 2
    }
    if (e instanceof WorkflowErrors) {
      for (const p of e.problems) io.err.write(formatProblem(p) + '\n')
      if (wantsJson && !jsonPrinted) json({ error: `${plural(e.problems.length, 'problem')} in the workflow files`, problems: e.problems.map(formatProblem) })
      return code ?? 1
    }
    const u = explainError(e, failing)
    io.err.write(`error: ${u.message}\n${u.hint ? `hint: ${u.hint}\n` : ''}`)
    if (io.environ.DSTACK_DEBUG === '1' && !(e instanceof UserError)) io.err.write(`${(e as Error).stack ?? String(e)}\n`)
    if (wantsJson && !jsonPrinted) json({ error: u.message, hint: u.hint ?? null })
    return code ?? 1
  }
}

/** the exit code of a command stopped by Ctrl+C (130) or SIGTERM (143), as shells report it */
function interrupted(signal: AbortSignal): number | undefined {
  if (!signal.aborted) return undefined
  return signal.reason === 'SIGTERM' ? 143 : 130
}

/** `run`, `artifacts list`: the verb the arguments name, for hints */
function verbOf(program: Command, argv: string[]): string | undefined {
  const names: string[] = []
  let c: Command = program
  for (const a of argv) {
    const sub = c.commands.find((x) => x.name() === a || x.aliases().includes(a))
    if (!sub) break
    names.push(sub.name())
    c = sub
  }
  return names.join(' ') || undefined
}

function splitList(v: string | undefined): string[] | undefined {
  const items = (v ?? '').split(/[\s,]+/).filter(Boolean)
  return items.length ? items : undefined
}

function positiveSeconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} ${v}: expected a whole number of seconds above 0`, `e.g. ${flag} 600`)
  return n
}
