/**
 * Pure: what a run's record says about its nodes, for the outputs, the summary and the CLI. A
 * multi-node run keeps one NodeRecord per node on each attempt (`attempt.nodes`); a single-node run
 * has none, and its one node's results are the run's own (`status`, `instance-type`, …).
 */
import type { NodeRecord, RunRecord, TerminalStatus } from '../model/index.js'

/** how many nodes the run asked for (1 for records written before multi-node tasks existed) */
export function nodeCount(r: { spec?: Pick<RunRecord['spec'], 'nodes'> }): number {
  const n = r.spec?.nodes
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 1
}

/** the last attempt's nodes, by rank (empty for a single-node run, or before any node started) */
export function lastAttemptNodes(r: RunRecord): NodeRecord[] {
  const last = r.attempts[r.attempts.length - 1]
  return [...(last?.nodes ?? [])].sort((a, b) => a.rank - b.rank)
}

export function isMultiNode(r: RunRecord): boolean {
  return nodeCount(r) > 1 || lastAttemptNodes(r).length > 0
}

/** one entry of the `node-statuses` output: `rank` and `status` always, the rest when known */
export interface NodeStatusOutput {
  rank: number
  /** null: the node never reported a result */
  status: TerminalStatus | null
  group?: string
  exitCode?: number
  instanceType?: string
  zone?: string
  /** aws: the EC2 instance */
  instanceId?: string
  /** why the node ended as it did, for a node that did not succeed */
  reason?: string
}

/** a node's reason in the output: one line, at most this long */
const OUTPUT_REASON_CHARS = 200

export function nodeStatusOutputs(r: RunRecord): NodeStatusOutput[] {
  return lastAttemptNodes(r).map((n) => {
    const o: NodeStatusOutput = { rank: n.rank, status: n.status ?? null }
    if (n.group !== undefined) o.group = n.group
    if (n.exitCode !== undefined) o.exitCode = n.exitCode
    if (n.machine?.instanceType) o.instanceType = n.machine.instanceType
    if (n.machine?.zone) o.zone = n.machine.zone
    if (n.machine?.backend === 'aws' && n.machine.id) o.instanceId = n.machine.id
    if (n.reason && n.status !== 'succeeded') o.reason = oneLine(n.reason, OUTPUT_REASON_CHARS)
    return o
  })
}

/**
 * The `node-statuses` output: a compact JSON list for a multi-node run (`[]` when no node of the
 * last attempt started), empty for a single-node run. JSON.stringify keeps it on one line, so the
 * GitLab dotenv can carry it.
 */
export function nodeStatusesOutput(r: RunRecord): string {
  return isMultiNode(r) ? JSON.stringify(nodeStatusOutputs(r)) : ''
}

const SEVERITY: Partial<Record<TerminalStatus, number>> = { failed: 0, 'timed-out': 1, interrupted: 2, cancelled: 3 }

/**
 * The node to blame for a multi-node run that did not succeed: the one the run's reason names
 * (`node 2 failed: …`, as the orchestrator writes it), else the lowest-ranked failed node (dstack
 * fails the run when any node fails), else the one that timed out, was interrupted or cancelled.
 * Undefined for a succeeded run, a single-node run, or when no node reported a failure.
 */
export function failingNode(r: RunRecord): NodeRecord | undefined {
  if (r.status === 'succeeded') return undefined
  const nodes = lastAttemptNodes(r)
  const named = /^node (\d+)\b/.exec(r.reason ?? '')
  const byReason = named ? nodes.find((n) => n.rank === Number(named[1]) && n.status !== undefined && n.status !== 'succeeded') : undefined
  if (byReason) return byReason
  let best: NodeRecord | undefined
  for (const n of nodes) {
    const s = n.status === undefined ? undefined : SEVERITY[n.status]
    if (s === undefined) continue
    if (!best || s < SEVERITY[best.status!]!) best = n
  }
  return best
}

/** `node 2 (group workers)`, `node 0 (master)`: plain text, for a log line or to escape */
export function nodeLabel(n: Pick<NodeRecord, 'rank' | 'group'>): string {
  const role = n.group !== undefined ? `group ${n.group}` : n.rank === 0 ? 'master' : ''
  return `node ${n.rank}${role ? ` (${role}${n.group !== undefined && n.rank === 0 ? ', master' : ''})` : ''}`
}

function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim()
  return t.length > max ? t.slice(0, max - 1) + '…' : t
}
