/**
 * What `run` and `attach` print and write once a run has ended: the comment's final section, the
 * outputs (--json, --dotenv), the one-line result and where the logs and artifacts are; and the
 * exit code, 0 only when the run succeeded.
 */
import { resolve as resolvePath } from 'node:path'
import { writeFileSync } from 'node:fs'
import { describeStore, plural, type RunRecord, type StoreLocation } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import type { PrCommenter } from '../ci/pr-comment.js'
import type { SecretRedactor } from '../ci/redact.js'
import { dotenvOutputs } from '../ci/gitlab.js'
import { typedOutputs } from '../report/index.js'
import { terminalSafe } from '../report/plain-text.js'
import { clearMachines } from './machine-state.js'
import { finishCliRun } from './cli-run-report.js'
import { runExitCode } from './cli-exit.js'
import type { CliIo } from './cli-shared.js'

export async function publishRunEnd(a: { io: CliIo; o: Record<string, unknown>; loc: StoreLocation; store: RunStore; record: RunRecord; commenter: PrCommenter; redactor: SecretRedactor; json: (v: unknown) => void }): Promise<number> {
  const { io, o, loc, store, record, redactor } = a
  const manifest = (await store.readManifest(record.repoId, record.run)) ?? []
  const { outputs, comment } = await finishCliRun({ io, o, loc, store, record, manifest, commenter: a.commenter, redactor })
  if (comment?.url) outputs['comment-url'] = comment.url
  if (o.json) a.json({ record: redactor.value(record), outputs: typedOutputs(outputs) })
  if (typeof o.stateFile === 'string') clearMachines(resolvePath(io.cwd, o.stateFile))
  if (typeof o.dotenv === 'string') {
    const d = dotenvOutputs(outputs)
    writeFileSync(resolvePath(io.cwd, o.dotenv), d.text)
    for (const s of d.skipped) io.err.write(`note: output ${s.name} left out of ${o.dotenv}: ${s.why}\n`)
  }
  io.err.write(`run ${record.run} ${record.status}${record.reason && record.status !== 'succeeded' ? `: ${terminalSafe(redactor.redact(record.reason))}` : ''}\n`)
  io.err.write(`logs: dstack-run logs ${record.run}${loc.kind === 'folder' ? '' : ` --store ${describeStore(loc)}`}\n`)
  io.err.write(`artifacts (${plural(manifest.length, 'file')}): ${store.artifactUrl(record.repoId, record.run)}\n`)
  return runExitCode(record)
}

/**
 * `run -d` (GitLab `mode: start`): the run goes on without this process. stdout is the run's name
 * (what a script captures: `name=$(dstack-run run train -d)`) or the --json document; --dotenv gets
 * the run's name and status; the --state-file forgets its machine (an after_script must not release it).
 */
export function publishStarted(a: { io: CliIo; o: Record<string, unknown>; record: RunRecord; loc: StoreLocation; json: (v: unknown) => void }): void {
  const { io, o, record } = a
  const outputs = { 'run-name': record.run, workflow: record.workflow, status: record.status }
  io.err.write(`run ${record.run} is ${record.status} in the background: it goes on without this process; follow it with: dstack-run attach ${record.run}${a.loc.kind === 'folder' ? '' : ` --store ${describeStore(a.loc)}`}\n`)
  if (typeof o.stateFile === 'string') clearMachines(resolvePath(io.cwd, o.stateFile))
  if (typeof o.dotenv === 'string') writeFileSync(resolvePath(io.cwd, o.dotenv), dotenvOutputs(outputs).text)
  if (o.json) a.json({ record, outputs })
  else io.out.write(`${record.run}\n`)
}
