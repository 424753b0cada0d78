/**
 * The exit code of the verbs that wait for a run (`run`, `logs -f`, `attach`): 0 only when the run
 * succeeded, the job's own exit code when it failed with one, else 1 (outcome.ts `exitCodeFor`).
 */
import type { RunStore } from '../store/index.js'
import { exitCodeFor } from '../orchestrate/index.js'
import { isTerminal, type RunRecord, type RunStatus } from '../model/index.js'
import { refreshedStatus } from './cli-views.js'

export function runExitCode(record: RunRecord): number {
  return record.exitCode ?? (record.status === 'succeeded' ? 0 : 1)
}

/**
 * After following attempt `n` of a run to its end: the run's status, its reason and the exit code.
 * A detached run's record may never be finished by a watcher: then the attempt's status.json decides.
 */
export async function followExitCode(store: RunStore, rec: RunRecord, n: number): Promise<{ status: RunStatus | 'lost'; reason?: string; code: number }> {
  const latest = (await store.getRun(rec.repoId, rec.run)) ?? rec
  if (isTerminal(latest.status)) return { status: latest.status, reason: latest.reason, code: runExitCode(latest) }
  const status = await refreshedStatus(store, latest)
  if (status === 'lost') return { status, reason: 'its runner is gone without a result', code: 1 }
  const written = await store.readStatus(rec.repoId, rec.run, n)
  if (!isTerminal(status)) return { status, reason: 'it had not ended when the log stopped', code: 1 }
  return { status, reason: written?.reason, code: exitCodeFor(status, written?.exitCode) }
}
