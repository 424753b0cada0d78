/** Small read-side helpers of the CLI verbs: run references, live status, log following, tables. */
import type { RunStore } from '../store/index.js'
import { LogFollower } from '../orchestrate/index.js'
import { DamagedRecordError } from '../store/records.js'
import { localRunnerLiveness } from '../backends/local/liveness.js'
import { UserError, isTerminal, trustOf, type AttemptRecord, type RunRecord, type RunStatus } from '../model/index.js'
import { isMultiNode, nodeCount } from '../report/node-results.js'
import { clusterStatusFromNodes } from './cli-node-status.js'
import { terminalSafe } from '../report/plain-text.js'

/** `RUN` or `:TAG` → the run record */
export async function resolveRunRef(store: RunStore, repoId: string, ref: string): Promise<RunRecord> {
  let run = ref
  if (ref.startsWith(':')) {
    // for reading, a tag of either namespace (the trusted one first)
    const tag = await store.findTag(repoId, ref.slice(1), { untrusted: true })
    if (!tag) throw new UserError(`no tag \`${ref.slice(1)}\` in ${repoId}`, 'list them with `dstack-run tags list`')
    run = tag.run
  }
  const rec = await store.getRun(repoId, run)
  if (!rec) throw new UserError(`no run \`${run}\` in ${repoId}`, 'list them with `dstack-run ps`')
  return rec
}

/** minutes past max_duration after which an unfinished attempt counts as lost (the runner's self-destruct adds 10) */
const LOST_AFTER_MAX_DURATION_SEC = 15 * 60

/**
 * A detached run's record is not updated by a watcher: its last attempt's status.json is the truth.
 * A run that is neither finished there nor still going is `lost` (its watcher and runner died):
 * on this host, a local run whose runner pid is gone; on any backend, an attempt older than its
 * max_duration plus a margin, which its own limits would have ended. A multi-node run: what its
 * nodes wrote, by dstack's rule (cli-node-status.ts); its attempt has no status.json of its own.
 */
export async function refreshedStatus(store: RunStore, r: RunRecord, now = Date.now()): Promise<RunStatus | 'lost'> {
  if (isTerminal(r.status) || !r.attempts.length) return r.status
  const last = r.attempts[r.attempts.length - 1]!
  if (isMultiNode(r)) {
    const cluster = await clusterStatusFromNodes(store, r, last)
    if (cluster) return cluster
    return overdue(r, last, now) ? 'lost' : r.status
  }
  const st = await store.readStatus(r.repoId, r.run, last.n)
  if (st?.status) return st.status
  if (localRunnerLiveness(last.machine) === 'gone') {
    // the runner may have written its result between the two reads
    return (await store.readStatus(r.repoId, r.run, last.n))?.status ?? 'lost'
  }
  return overdue(r, last, now) ? 'lost' : r.status
}

/** an attempt older than its max_duration plus a margin, which its own limits would have ended */
function overdue(r: RunRecord, last: AttemptRecord, now: number): boolean {
  const maxSec = r.spec?.maxDurationSec
  return typeof maxSec === 'number' && now - Date.parse(last.startedAt) > (maxSec + LOST_AFTER_MAX_DURATION_SEC) * 1000
}

export interface PsRow extends Omit<Partial<RunRecord>, 'status' | 'backend'> {
  run: string
  workflow: string
  submittedAt: string
  /** a run status, `lost` when it can no longer finish, or `damaged` when its run.json cannot be read */
  status: RunStatus | 'lost' | 'damaged'
  backend: string
  tags: string[]
  /** what is wrong with this row's files, one line naming the file */
  problem?: string
}

/** `ps`'s NODES column: the run's node count (empty for a damaged run.json) */
export function psNodes(r: PsRow): string {
  return r.spec ? String(nodeCount({ spec: r.spec })) : ''
}

/** `ps`: `trusted: push on main`, `untrusted: pull_request #7 from x`; empty for a damaged row */
export function psTrust(r: PsRow): string {
  if (r.status === 'damaged') return ''
  const t = trustOf(r)
  return `${t.trusted ? 'trusted' : 'untrusted'}: ${t.trigger}`
}

/** `ps`: every readable run (the latest 20 unless all), then one row per damaged run.json */
export async function psRows(store: RunStore, repoId: string, all: boolean): Promise<PsRow[]> {
  const { runs, damaged } = await store.scanRuns(repoId)
  const shown = all ? runs : runs.slice(0, 20)
  const rows: PsRow[] = await Promise.all(
    shown.map(async (r): Promise<PsRow> => {
      const row: PsRow = { ...r }
      try {
        row.status = await refreshedStatus(store, r)
      } catch (e) {
        if (!(e instanceof DamagedRecordError)) throw e
        row.problem = e.message
      }
      return row
    })
  )
  for (const d of damaged) rows.push({ run: d.run, workflow: '?', submittedAt: '', status: 'damaged', backend: '', tags: [], problem: d.error.message })
  return rows
}

export async function followLogs(
  store: RunStore,
  rec: RunRecord,
  attempt: number,
  follow: boolean,
  io: { out: { write(s: string): boolean }; signal: AbortSignal }
): Promise<void> {
  // one listing per poll (after the last chunk seen), whatever the length of the log
  const follower = new LogFollower(store, rec.repoId, rec.run, attempt, (text) => void io.out.write(text))
  const machine = rec.attempts.find((a) => a.n === attempt)?.machine
  let statusSeen: string | undefined
  while (follow && !io.signal.aborted) {
    await follower.poll()
    const tag = follower.statusTag
    if (tag !== undefined && tag !== statusSeen) {
      statusSeen = tag
      if ((await store.readStatus(rec.repoId, rec.run, attempt))?.status) break
    }
    // a runner that is gone (its machine died with it) writes nothing more: the run is lost
    if (localRunnerLiveness(machine) === 'gone') break
    await new Promise((r) => setTimeout(r, 1000))
  }
  await follower.drain()
}

/** a file name on one table line: one with control characters is shown as a JSON string ("a\tb") */
export function displayPath(p: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(p) || p.startsWith('"') ? JSON.stringify(p) : p
}

export function printTable(out: { write(s: string): boolean }, header: string[], rows: string[][]): void {
  // cells hold store- and job-controlled names: nothing in them may steer the terminal
  const all = [header, ...rows.map((r) => r.map((c) => terminalSafe(c ?? '').replace(/[\t\n]/g, ' ')))]
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
