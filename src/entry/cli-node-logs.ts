/**
 * `dstack-run logs RUN` of a multi-node run: each node writes its own log
 * (`…/attempts/<n>/nodes/<rank>/logs/`), so every node's log is printed with each line prefixed
 * `[node <rank>] ` (as the CI log shows them while the run goes on): node by node for an attempt
 * that ended, interleaved line by line as they arrive with `-f`. `--node R` prints one node's log as
 * it was written, without the prefix. A single-node run's log is the attempt's own (`followLogs`).
 */
import type { RunStore } from '../store/index.js'
import { LogFollower } from '../orchestrate/index.js'
import { NodeLines } from '../orchestrate/watch-cluster.js'
import { localRunnerLiveness } from '../backends/local/liveness.js'
import { UserError, isTerminal, plural, type RunRecord } from '../model/index.js'
import { attemptRanks, nodeMachine } from './cli-node-status.js'
import { isMultiNode, nodeCount } from '../report/node-results.js'
import { followLogs } from './cli-views.js'

interface Out {
  write(s: string): boolean
}

const POLL_MS = 1000
/** polls between two reads of run.json, when no node's status changed */
const RECORD_EVERY_POLLS = 10

/** `--node R`: a rank of the run, from 0 (the master) to its node count − 1; undefined when not given */
export function nodeRank(rec: RunRecord, given: string | undefined): number | undefined {
  if (given === undefined) return undefined
  const count = nodeCount(rec)
  const rank = Number(given)
  if (given.trim() === '' || !Number.isInteger(rank) || rank < 0 || rank >= count) {
    throw new UserError(
      `--node ${given}: run ${rec.run} has ${plural(count, 'node')}${count > 1 ? ` (ranks 0 to ${count - 1})` : ''}`,
      count > 1 ? `pass a rank from 0 to ${count - 1}, or leave --node out for every node` : 'leave --node out'
    )
  }
  return rank
}

/**
 * Prints the logs of the given nodes of attempt `n`; with `follow`, until each node has written its
 * result (or its local runner is gone, or the run's record says it ended).
 */
export async function followNodeLogs(
  store: RunStore,
  rec: RunRecord,
  n: number,
  ranks: number[],
  opts: { prefix: boolean; follow: boolean },
  io: { out: Out; signal: AbortSignal }
): Promise<void> {
  const raw = { write: (t: string): void => void io.out.write(t), flush: (): void => undefined }
  // the same line buffering and prefix as the CI log of the run (watch-cluster.ts)
  const sinks = ranks.map((rank) => (opts.prefix ? new NodeLines(rank, (_rank, t) => raw.write(t)) : raw))
  const followers = ranks.map((rank, i) => new LogFollower(store, rec.repoId, rec.run, n, (t) => sinks[i]!.write(t), rank))
  const ended = new Set<number>()
  const seenTag = new Map<number, string>()
  let polls = 0
  while (opts.follow && !io.signal.aborted && ended.size < ranks.length) {
    let statusChanged = false
    for (const [i, rank] of ranks.entries()) {
      if (ended.has(rank)) continue
      await followers[i]!.poll()
      const tag = followers[i]!.statusTag
      if (tag !== undefined && tag !== seenTag.get(rank)) {
        seenTag.set(rank, tag)
        statusChanged = true
        if ((await store.readStatus(rec.repoId, rec.run, n, rank))?.status) ended.add(rank)
      }
      // a runner that is gone writes nothing more
      if (localRunnerLiveness(nodeMachine(rec, n, rank)) === 'gone') ended.add(rank)
    }
    if (ended.size < ranks.length && (statusChanged || ++polls % RECORD_EVERY_POLLS === 0)) {
      // nodes stopped by the orchestrator may never write a result: the run's own end is final
      const now = await store.getRun(rec.repoId, rec.run)
      const attempt = now?.attempts.find((a) => a.n === n)
      if (now && (attempt?.status !== undefined || (isTerminal(now.status) && now.attempts.length >= n))) break
    }
    if (ended.size < ranks.length) await new Promise((r) => setTimeout(r, POLL_MS))
  }
  for (const [i] of ranks.entries()) {
    await followers[i]!.drain()
    sinks[i]!.flush()
  }
}

/** `logs RUN [--node R]`: a single-node run's log, or the nodes' logs of a multi-node run */
export async function printRunLogs(
  store: RunStore,
  rec: RunRecord,
  n: number,
  node: string | undefined,
  follow: boolean,
  io: { out: Out; signal: AbortSignal }
): Promise<void> {
  const rank = nodeRank(rec, node)
  if (!isMultiNode(rec)) return followLogs(store, rec, n, follow, io)
  const ranks = rank === undefined ? attemptRanks(rec, n) : [rank]
  await followNodeLogs(store, rec, n, ranks, { prefix: rank === undefined, follow }, io)
}
