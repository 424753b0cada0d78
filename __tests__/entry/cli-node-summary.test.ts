/**
 * The lines `dstack-run run` prints at the end of a multi-node run: a line per node, aligned, with
 * hostile group names and reasons (terminal escapes, line breaks, a CI workflow command) escaped
 * so they stay on their line and do nothing.
 */
import { describe, it, expect } from '@jest/globals'
import { nodeSummaryLines, printable } from '../../src/entry/cli-node-summary.js'
import { awsMachine, failedGroupsRun, multiNodeRun } from '../report/node-fixtures.js'

describe('nodeSummaryLines', () => {
  it('a line per node of the last attempt, aligned, the reason only for nodes that did not succeed', () => {
    const r = multiNodeRun([
      { rank: 0, machine: awsMachine(0), status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0' },
      { rank: 1, machine: awsMachine(1, { zone: 'us-east-1b' }), status: 'interrupted', reason: 'spot interruption notice' },
      { rank: 2 }
    ])
    expect(nodeSummaryLines(r)).toEqual([
      'nodes of attempt 1:',
      '  node 0 (master)  g5.12xlarge i-0node0  us-east-1a  succeeded    exit 0',
      '  node 1           g5.12xlarge i-0node1  us-east-1b  interrupted          spot interruption notice',
      '  node 2           -                     -           unknown'
    ])
  })

  it('nothing for a single-node run', () => {
    expect(nodeSummaryLines({ ...multiNodeRun([]), attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', status: 'succeeded' }] })).toEqual([])
  })

  it('hostile groups and reasons stay on their line, escapes shown, never executed', () => {
    const r = failedGroupsRun()
    r.attempts[0]!.nodes![2]!.reason = 'boom\n::error::pwned\x1b[31mred\x1b]0;title\x07\u009b1m'
    r.attempts[0]!.nodes![1]!.group = 'g\r\n::add-mask::x'
    const lines = nodeSummaryLines(r)
    expect(lines).toHaveLength(4)
    for (const l of lines) expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
    expect(lines[3]).toContain('boom\\n::error::pwned\\u001b[31mred\\u001b]0;title\\u0007\\u009b1m')
    expect(lines[2]).toContain('node 1 (group g\\r\\n::add-mask::x)')
    expect(lines.every((l, i) => i === 0 || l.startsWith('  node '))).toBe(true)
  })

  it('printable escapes every control character, C1 and line separators too', () => {
    expect(printable('a\tb\u2028c\u007f')).toBe('a\\tb\\u2028c\\u007f')
  })
})
