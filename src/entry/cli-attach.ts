/**
 * `dstack-run attach RUN|:TAG` (or `--latest WORKFLOW`) and `dstack-run reconcile`
 * (docs/long-runs.md). `attach` follows a detached run from any process and, when it ends, publishes
 * what `run` publishes (comment, --json, --dotenv, exit code); when its `--timeout` comes first it
 * leaves the run as it is, says how to attach again and exits 0. `reconcile` (a scheduled job) looks
 * once at every detached run of the repository that is still active: an attempt that ended is
 * closed, retried (detached, within the run's retry policy) or finished, a vanished machine is lost.
 */
import { hostname } from 'node:os'
import { Option, type Command } from 'commander'
import { attachRun, type AttachResult } from '../orchestrate/attach-run.js'
import { readDetachedState } from '../orchestrate/detached-state.js'
import { createBackend, type BackendName } from '../backends/index.js'
import { TerminalReporter } from '../ci/terminal.js'
import { SecretRedactor } from '../ci/redact.js'
import { CommandFence } from '../ci/log-fences.js'
import { UserError, describeStore, isTerminal, type Backend, type RunRecord, type StoreLocation } from '../model/index.js'
import { parseDuration } from '../workflows/index.js'
import type { RunStore } from '../store/index.js'
import { awsSession } from './aws-session.js'
import { resolveRunRef } from './cli-views.js'
import { printRunLogs } from './cli-node-logs.js'
import { followExitCode } from './cli-exit.js'
import { cliCommenter } from './cli-commenter.js'
import { publishRunEnd } from './cli-run-end.js'
import type { CliIo, StoreOpts, VerbDeps } from './cli-shared.js'

type AttachOpts = StoreOpts & { latest?: string; timeout?: string; node?: string; json?: boolean; dotenv?: string; comment?: string; roleToAssume?: string; [k: string]: unknown }

export interface AttachVerbDeps {
  io: CliIo
  withStore: VerbDeps['withStore']
  ctx: (o: StoreOpts, credentials?: Awaited<ReturnType<typeof awsSession>>) => Promise<{ repoDir: string; loc: StoreLocation; store: RunStore; repoId: () => Promise<string> }>
  json: (v: unknown) => void
  setExit: (code: number) => void
}

/** the newest run of a workflow in this repository */
export async function latestRun(store: RunStore, repoId: string, workflow: string): Promise<RunRecord> {
  const runs = (await store.listRuns(repoId)).filter((r) => r.workflow === workflow)
  const latest = runs.sort((a, b) => Date.parse(b.submittedAt) - Date.parse(a.submittedAt))[0]
  if (!latest) throw new UserError(`no run of workflow \`${workflow}\` in ${repoId}`, 'start one with `dstack-run run WORKFLOW -d`')
  return latest
}

/** the backend a run's attempts ran on, with what its start recorded about where machines go */
async function backendFor(io: CliIo, store: RunStore, rec: RunRecord, credentials: Awaited<ReturnType<typeof awsSession>>): Promise<Backend> {
  const machine = rec.attempts[rec.attempts.length - 1]?.machine
  const placement = (await readDetachedState(store, rec).catch(() => undefined))?.placement ?? {}
  return createBackend(rec.backend as BackendName, { detached: true, environ: io.environ, aws: { ...placement, region: machine?.region ?? placement.region ?? io.environ.AWS_REGION ?? io.environ.AWS_DEFAULT_REGION, credentials } })
}

function attachHint(rec: RunRecord, loc: StoreLocation): string {
  return `dstack-run attach ${rec.run}${loc.kind === 'folder' ? '' : ` --store ${describeStore(loc)}`}`
}

export function registerAttachCommands(program: Command, d: AttachVerbDeps): void {
  const { io } = d
  d.withStore(program.command('attach'))
    .description('follow a detached run (`run -d`) from here until it ends, then publish what `run` publishes and exit with its status: 0 only when it succeeded; an interrupted attempt is retried from here (docs/long-runs.md)')
    .argument('[run]', 'run name, or :TAG')
    .option('--latest <workflow>', 'the newest run of this workflow instead of a name')
    .option('--timeout <duration>', 'stop watching after this long (`30m`, `5h`, seconds), leaving the run as it is; exit 0 and say how to attach again')
    .option('--json', 'print the run record and outputs as one JSON document on stdout (job logs go to stderr)')
    .option('--dotenv <file>', 'write the outputs as DSTACK_* variables to this file (GitLab artifacts:reports:dotenv)')
    .option('--comment <mode>', 'keep the PR / MR comment up to date: auto, true, false', 'auto')
    .option('--node <rank>', 'multi-node runs: only this node\'s log (0 = the master)')
    .option('--role-to-assume <arn>', 'assume this role with the CI job\'s OIDC token (default $DSTACK_ROLE_TO_ASSUME)')
    .addOption(new Option('--baseline <ref>', 'compare the metrics with a tag, a run name, `auto` or `none`').default('auto'))
    .action(async (runRef: string | undefined, o: AttachOpts) => {
      if (!runRef && !o.latest) throw new UserError('attach needs a run', 'give a run name, :TAG, or --latest WORKFLOW')
      const timeoutMs = o.timeout !== undefined ? parseDuration(o.timeout) * 1000 : undefined
      const credentials = await awsSession({ roleArn: o.roleToAssume ?? io.environ.DSTACK_ROLE_TO_ASSUME, source: o.roleToAssume ? '--role-to-assume' : 'DSTACK_ROLE_TO_ASSUME', environ: io.environ, region: o.storeRegion ?? io.environ.AWS_REGION, log: (l) => void io.err.write(`${l}\n`) })
      const c = await d.ctx(o, credentials)
      const repoId = await c.repoId()
      const rec = runRef ? await resolveRunRef(c.store, repoId, runRef) : await latestRun(c.store, repoId, o.latest!)
      if (rec.spec.nodes > 1 || o.node !== undefined) return followLogs(d, c.store, rec, o.node)
      const backend = await backendFor(io, c.store, rec, credentials)
      const commenter = cliCommenter(io, c.store, c.repoDir, o)
      const reporter = new TerminalReporter({ out: o.json ? io.err : io.out, err: io.err, github: io.environ.GITHUB_ACTIONS === 'true' })
      const redactor = new SecretRedactor()
      reporter.start()
      let res: AttachResult
      try {
        io.err.write(`attaching to ${rec.run} (${rec.workflow}, ${rec.status})${timeoutMs !== undefined ? ` for at most ${o.timeout}` : ''}\n`)
        res = await attachRun({
          store: c.store, storeLocation: c.loc, backend, record: rec, environ: io.environ, signal: io.signal, timeoutMs,
          attacher: io.environ.CI_JOB_URL ?? `${hostname()} pid ${process.pid}`,
          emit: (ev) => {
            reporter.event(ev)
            commenter.onEvent(ev)
          }
        })
      } finally {
        reporter.stop()
        backend.close?.()
      }
      if (!res.ended) {
        await commenter.settled()
        io.err.write(`run ${res.record.run} is still ${res.record.status}: it goes on without this process; attach again with: ${attachHint(res.record, c.loc)}\n`)
        if (o.json) d.json({ record: redactor.value(res.record), outputs: { run: res.record.run, status: res.record.status } })
        return
      }
      d.setExit(await publishRunEnd({ io, o, loc: c.loc, store: c.store, record: res.record, commenter, redactor, json: d.json }))
    })

  d.withStore(program.command('reconcile'))
    .description('for a scheduled job: look once at every detached run of this repository that is still active; close, retry (within its retry policy) or finish what ended, mark lost what vanished')
    .option('--json', 'print one line per run as a JSON list on stdout')
    .option('--role-to-assume <arn>', 'assume this role with the CI job\'s OIDC token (default $DSTACK_ROLE_TO_ASSUME)')
    .action(async (o: AttachOpts) => {
      const credentials = await awsSession({ roleArn: o.roleToAssume ?? io.environ.DSTACK_ROLE_TO_ASSUME, source: o.roleToAssume ? '--role-to-assume' : 'DSTACK_ROLE_TO_ASSUME', environ: io.environ, region: o.storeRegion ?? io.environ.AWS_REGION, log: (l) => void io.err.write(`${l}\n`) })
      const c = await d.ctx(o, credentials)
      const repoId = await c.repoId()
      const rows: { run: string; status: string; ended: boolean }[] = []
      for (const rec of await c.store.listRuns(repoId)) {
        if (isTerminal(rec.status) || rec.spec.nodes > 1 || !(await c.store.store.exists(`${repoId}/runs/${rec.run}/detached.json`))) continue
        const backend = await backendFor(io, c.store, rec, credentials)
        try {
          const res = await attachRun({ store: c.store, storeLocation: c.loc, backend, record: rec, environ: io.environ, signal: io.signal, timeoutMs: 0, attacher: io.environ.CI_JOB_URL ?? `reconcile ${hostname()} pid ${process.pid}`, emit: (ev) => { if (ev.type === 'warning') io.err.write(`warning: ${ev.message}\n`) } })
          rows.push({ run: rec.run, status: res.record.status, ended: res.ended })
          io.err.write(`${rec.run}: ${res.record.status}${res.record.attempts.length > rec.attempts.length ? ` (attempt ${res.record.attempts.length} started)` : ''}\n`)
        } finally {
          backend.close?.()
        }
      }
      if (!rows.length) io.err.write(`no detached run of ${repoId} is active\n`)
      if (o.json) d.json(rows)
    })
}

/** a multi-node run, or one node: its log, as `logs -f` follows it (the stop rule needs the process that started it) */
async function followLogs(d: AttachVerbDeps, store: RunStore, rec: RunRecord, node: string | undefined): Promise<void> {
  const { io } = d
  const n = rec.attempts.length
  const fence = io.environ.GITHUB_ACTIONS === 'true' ? new CommandFence((s) => void io.out.write(s)) : undefined
  await printRunLogs(store, rec, n, node, true, fence ? { ...io, out: { write: (s: string) => (fence.output(s), true) } } : io)
  fence?.resume()
  if (io.signal.aborted) return
  const end = await followExitCode(store, rec, n)
  io.err.write(`run ${rec.run} ${end.status}${end.reason && end.status !== 'succeeded' ? `: ${end.reason}` : ''}\n`)
  d.setExit(end.code)
}
