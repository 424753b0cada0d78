/**
 * Pure: the nodes of a multi-node run in its section (job summary, PR / MR comment, `report`): a
 * `Nodes` row in the status table (count and groups) and a table with a row per node of the last
 * attempt (rank, group, machine, zone, status, exit code, reason). Group names, machine ids, zones
 * and reasons come from the workflow, the cloud and the job: each goes through md-escape.ts.
 */
import type { NodeRecord, RunRecord } from '../model/index.js'
import { cellCode, codeSpan, escapeCell } from './md-escape.js'
import { failingNode, isMultiNode, lastAttemptNodes, nodeCount } from './node-results.js'

/** rows shown at most (a bigger cluster gets a last row saying how many more) */
export const MAX_NODE_ROWS = 64
/** a node's reason in its cell: one line, at most this long */
const REASON_CHARS = 200

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

/** `| Nodes | 3 (groups `head` 1, `workers` 2) |` for a multi-node run; nothing otherwise */
export function nodesStatusRow(r: RunRecord): string[] {
  if (!isMultiNode(r)) return []
  const groups = r.spec?.groups ?? []
  const detail = groups.length ? ` (${groups.length === 1 ? 'group' : 'groups'} ${groups.map((g) => `${cellCode(g.name)} ${g.nodes}`).join(', ')})` : ''
  return [`| Nodes | ${nodeCount(r)}${detail} |`]
}

/**
 * The table of the last attempt's nodes, with a heading line; nothing for a single-node run or
 * before any node started. At most MAX_NODE_ROWS rows and about `maxChars` characters (a PR / MR
 * comment leaves room for the failure part after it): the rest is one `… N more` row, and the node
 * that decided a failure is always among the rows shown.
 */
export function nodeTable(r: RunRecord, maxChars = Infinity): string[] {
  const nodes = lastAttemptNodes(r)
  if (!nodes.length) return []
  const withGroups = nodes.some((n) => n.group !== undefined) || Boolean(r.spec?.groups?.length)
  const blamed = failingNode(r)
  const attempt = r.attempts[r.attempts.length - 1]!
  const head = [
    `**Nodes** of attempt ${attempt.n}: ${nodes.length}${nodes.length < nodeCount(r) ? ` of ${nodeCount(r)}` : ''}`,
    '',
    `| Node |${withGroups ? ' Group |' : ''} Machine | Zone | Status | Exit code | Reason |`,
    `|---:|${withGroups ? '---|' : ''}---|---|---|---:|---|`
  ]
  const row = (n: NodeRecord): string => {
    const m = n.machine
    const machine = [m?.instanceType, m?.id].filter(Boolean).join(' ')
    const status = n.status ?? '…'
    return (
      `| ${n.rank}${n.rank === 0 ? ' (master)' : ''} |` +
      (withGroups ? ` ${n.group !== undefined ? cellCode(n.group) : '—'} |` : '') +
      ` ${machine ? escapeCell(machine) : '—'} | ${m?.zone ? escapeCell(m.zone) : '—'} | ${blamed === n ? `**${status}**` : status} |` +
      ` ${n.exitCode ?? '—'} | ${n.reason ? escapeCell(clip(n.reason, REASON_CHARS)) : ''} |`
    )
  }
  const more = (k: number) => `| … ${k} more |${withGroups ? ' |' : ''} | | | | |`
  const rows: string[] = []
  const shown: NodeRecord[] = []
  let size = head.join('\n').length + 40
  for (const n of nodes) {
    const text = row(n)
    if (shown.length >= MAX_NODE_ROWS || (shown.length > 0 && size + text.length + 1 > maxChars)) break
    rows.push(text)
    shown.push(n)
    size += text.length + 1
  }
  if (shown.length < nodes.length) {
    if (blamed && !shown.includes(blamed)) {
      rows[rows.length - 1] = row(blamed)
      shown[shown.length - 1] = blamed
    }
    rows.push(more(nodes.length - shown.length))
  }
  return [...head, ...rows, '']
}

/** `node 2 (group `workers`)`, `node 0 (master)`: markdown for a paragraph, the group as code */
export function nodeLabelMarkdown(n: Pick<NodeRecord, 'rank' | 'group'>): string {
  const roles = [...(n.group !== undefined ? [`group ${codeSpan(n.group)}`] : []), ...(n.rank === 0 ? ['master'] : [])]
  return `node ${n.rank}${roles.length ? ` (${roles.join(', ')})` : ''}`
}
