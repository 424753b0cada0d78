/**
 * Pure: the end of `dstack-run run` of a multi-node run in the terminal / CI log: a line per node of
 * the last attempt (rank, group, machine, zone, status, exit code, reason), aligned. Group names,
 * machine ids and reasons come from the workflow, the cloud and the job: a control character
 * (a terminal escape, a line break) is shown escaped, so a value can neither recolour the terminal
 * nor start a line of its own (a CI workflow command).
 */
import type { RunRecord } from '../model/index.js'
import { lastAttemptNodes, nodeLabel } from '../report/node-results.js'

const REASON_CHARS = 160

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** one line, control characters escaped as in JSON (`\n`, `\u001b`) */
export function printable(s: string): string {
  return s.replace(CONTROL, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

/** the lines (without line breaks), empty for a single-node run or before any node started */
export function nodeSummaryLines(r: RunRecord): string[] {
  const nodes = lastAttemptNodes(r)
  if (!nodes.length) return []
  const rows = nodes.map((n) => [
    printable(nodeLabel(n)),
    printable([n.machine?.instanceType, n.machine?.id].filter(Boolean).join(' ') || '-'),
    printable(n.machine?.zone ?? '-'),
    n.status ?? 'unknown',
    n.exitCode === undefined ? '' : `exit ${n.exitCode}`,
    n.reason && n.status !== 'succeeded' ? printable(clip(n.reason, REASON_CHARS)) : ''
  ])
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const attempt = r.attempts[r.attempts.length - 1]!
  return [`nodes of attempt ${attempt.n}:`, ...rows.map((row) => '  ' + row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())]
}
