/**
 * Pure: dstack's rule for a multi-node run, applied to what each node's runner wrote and what the
 * backend saw (dstack's `process_runs`): a node that fails (or is interrupted, or times out) ends
 * the run with its result and every other node is stopped; the run succeeds when every node is done,
 * or, with `stop_criteria: master-done`, as soon as the master (rank 0) is done, the other nodes
 * being stopped then. Nodes the orchestrator stopped on purpose end `cancelled` and never decide the
 * run's result.
 */
import type { AttemptStatus, ExecState, StopCriteria } from '../model/index.js'
import { attemptOutcome, type AttemptOutcome } from './outcome.js'

export interface NodeView {
  rank: number
  /** the node's status.json, when it has written one */
  written?: AttemptStatus
  /** the backend's word on the node's runner */
  exec: ExecState
}

/** the node's own result once it ended (its runner wrote `done`, or the backend saw it end), else undefined */
export function nodeResult(v: NodeView, cancelledByUser = false): AttemptOutcome | undefined {
  const wroteDone = v.written?.phase === 'done' && v.written.status !== undefined
  if (!wroteDone && v.exec.state !== 'ended') return undefined
  return attemptOutcome(v.written, v.exec, cancelledByUser)
}

/** what ended the run: the node whose result decides it, and the others to stop */
export interface ClusterTrigger {
  /** the deciding node's rank */
  rank: number
  outcome: AttemptOutcome
  /** why the other nodes are stopped (their runners get it as the cancel reason) */
  stopReason: string
}

/**
 * While the nodes run: undefined to keep waiting, or the trigger that ends the run now. A failed
 * node wins over a finished master; among failures the lowest rank.
 */
export function clusterTrigger(nodes: NodeView[], stopCriteria: StopCriteria = 'all-done'): ClusterTrigger | undefined {
  const ended = nodes.map((v) => ({ v, r: nodeResult(v) }))
  const bad = ended.find((e) => e.r !== undefined && e.r.status !== 'succeeded')
  if (bad) {
    const { status, reason } = bad.r!
    return { rank: bad.v.rank, outcome: { ...bad.r!, reason: `node ${bad.v.rank} ${status}: ${reason}` }, stopReason: `node ${bad.v.rank} ${status}: this node was stopped` }
  }
  const master = ended.find((e) => e.v.rank === 0)
  if (stopCriteria === 'master-done' && master?.r?.status === 'succeeded' && ended.some((e) => e.r === undefined)) {
    return {
      rank: 0,
      outcome: { ...master.r, reason: `the master node is done (stop_criteria: master-done): ${master.r.reason}` },
      stopReason: 'the master node is done (stop_criteria: master-done): this node was stopped'
    }
  }
  return undefined
}

/** every node ended (each wrote `done` or its runner is gone) */
export function allEnded(nodes: NodeView[]): boolean {
  return nodes.every((v) => nodeResult(v) !== undefined)
}

/**
 * The attempt's result once the nodes ended: the trigger's when there was one (a cancellation by
 * the user first), else succeeded when every node succeeded, else the first node that did not.
 */
export function clusterOutcome(nodes: NodeView[], trigger: ClusterTrigger | undefined, cancelledByUser: boolean): AttemptOutcome {
  if (cancelledByUser) {
    const reclaimed = nodes.find((v) => v.exec.state === 'ended' && v.exec.interrupted)
    if (reclaimed) return { ...nodeResult(reclaimed)!, reason: `node ${reclaimed.rank}: ${nodeResult(reclaimed)!.reason}` }
    return { status: 'cancelled', reason: 'the run was cancelled: every node was stopped' }
  }
  if (trigger) return trigger.outcome
  const results = nodes.map((v) => ({ rank: v.rank, r: nodeResult(v) ?? { status: 'failed' as const, reason: 'the node did not end', event: 'error' as const } }))
  const bad = results.find((x) => x.r.status !== 'succeeded')
  if (bad) return { ...bad.r, reason: `node ${bad.rank} ${bad.r.status}: ${bad.r.reason}` }
  return { status: 'succeeded', reason: `all ${nodes.length} nodes exited with 0`, exitCode: 0 }
}
