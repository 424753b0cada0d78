/**
 * The nodes of a multi-node attempt as the CLI reads them back: their ranks, their machines, and
 * the run's status from what each node's runner wrote (`…/attempts/<n>/nodes/<rank>/status.json`),
 * for `ps` and `stop` when the run's record was not (yet) updated by its watcher.
 */
import type { RunStore } from '../store/index.js'
import { localRunnerLiveness } from '../backends/local/liveness.js'
import type { AttemptRecord, MachineInfo, RunRecord, RunStatus } from '../model/index.js'
import { nodeCount } from '../report/node-results.js'

/** the ranks of attempt `n`: the nodes it recorded, else 0 … nodes − 1 from the spec */
export function attemptRanks(rec: RunRecord, n: number): number[] {
  const recorded = rec.attempts.find((a) => a.n === n)?.nodes?.map((x) => x.rank)
  if (recorded?.length) return [...new Set(recorded)].sort((a, b) => a - b)
  return Array.from({ length: nodeCount(rec) }, (_, r) => r)
}

/** a node's machine: from its node record, else the attempt's machine when it is that node's (the master's while the run goes on) */
export function nodeMachine(rec: RunRecord, n: number, rank: number): MachineInfo | undefined {
  const a = rec.attempts.find((x) => x.n === n)
  const own = a?.nodes?.find((x) => x.rank === rank)?.machine
  if (own) return own
  const m = a?.machine
  return m && (m.rank ?? 0) === rank ? m : undefined
}

/**
 * dstack's rule on what the nodes wrote: a node that failed, was interrupted or timed out decides
 * the run; when every node wrote its result, the master's (succeeded, or cancelled); `lost` when a
 * node without a result has a runner known to be gone; otherwise undefined (still going, or unknown).
 */
export async function clusterStatusFromNodes(store: RunStore, r: RunRecord, last: AttemptRecord): Promise<RunStatus | 'lost' | undefined> {
  const ranks = attemptRanks(r, last.n)
  const read = () => Promise.all(ranks.map(async (rank) => (await store.readStatus(r.repoId, r.run, last.n, rank))?.status))
  let statuses = await read()
  const decided = () => statuses.find((s) => s !== undefined && s !== 'succeeded' && s !== 'cancelled') ?? (statuses.every((s) => s !== undefined) ? statuses[0] : undefined)
  const now = decided()
  if (now) return now
  const open = ranks.filter((_, i) => statuses[i] === undefined)
  if (!open.every((rank) => localRunnerLiveness(nodeMachine(r, last.n, rank)) === 'gone')) return undefined
  // the runners may have written their results between the two reads
  statuses = await read()
  return decided() ?? 'lost'
}
