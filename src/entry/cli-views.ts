/** Small read-side helpers of the CLI verbs: run references, live status, log following, tables. */
import type { RunStore } from '../store/index.js'
import { UserError, isTerminal, type RunRecord, type RunStatus } from '../model/index.js'

/** `RUN` or `:TAG` → the run record */
export async function resolveRunRef(store: RunStore, repoId: string, ref: string): Promise<RunRecord> {
  let run = ref
  if (ref.startsWith(':')) {
    const tag = await store.getTag(repoId, ref.slice(1))
    if (!tag) throw new UserError(`no tag \`${ref.slice(1)}\` in ${repoId}`, 'list them with `dstack-run tags list`')
    run = tag.run
  }
  const rec = await store.getRun(repoId, run)
  if (!rec) throw new UserError(`no run \`${run}\` in ${repoId}`, 'list them with `dstack-run ps`')
  return rec
}

/** a detached run's record is not updated by a watcher: its last attempt's status.json is the truth */
export async function refreshedStatus(store: RunStore, r: RunRecord): Promise<RunStatus> {
  if (isTerminal(r.status) || !r.attempts.length) return r.status
  const st = await store.readStatus(r.repoId, r.run, r.attempts.length)
  return st?.status ?? r.status
}

export async function followLogs(
  store: RunStore,
  rec: RunRecord,
  attempt: number,
  follow: boolean,
  io: { out: { write(s: string): boolean }; signal: AbortSignal }
): Promise<void> {
  let next = 0
  for (;;) {
    const seqs = (await store.listLogChunks(rec.repoId, rec.run, attempt)).sort((a, b) => a - b)
    for (const s of seqs) {
      if (s < next) continue
      const chunk = await store.readLogChunk(rec.repoId, rec.run, attempt, s)
      if (chunk) io.out.write(chunk.toString('utf8'))
      next = s + 1
    }
    if (!follow || io.signal.aborted) return
    const st = await store.readStatus(rec.repoId, rec.run, attempt)
    if (st?.status) {
      follow = false // one more pass for the last chunk
      continue
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
}

export function printTable(out: { write(s: string): boolean }, header: string[], rows: string[][]): void {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  for (const r of all) out.write(r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ').trimEnd() + '\n')
}

/** `--attempt N` of a run: a whole number from 1 to its number of attempts (default: the last) */
export function attemptNumber(rec: RunRecord, given: string | undefined): number {
  const count = rec.attempts.length
  if (given === undefined) return Math.max(1, count)
  const n = Number(given)
  if (!Number.isInteger(n) || n < 1 || n > Math.max(1, count)) {
    throw new UserError(
      `--attempt ${given}: run ${rec.run} has ${count === 0 ? 'no attempts yet' : count === 1 ? '1 attempt' : `${count} attempts`}`,
      count > 1 ? `pass a number from 1 to ${count}, or leave --attempt out for the last one` : 'leave --attempt out'
    )
  }
  return n
}
