/**
 * Hostile per-node results of a multi-node run: group names from the workflow, reasons from the
 * job, machine ids and zones from a tampered run.json, each placed where it lands (the Nodes row,
 * the node table, the log-tail heading, the `node-statuses` output, the GitLab dotenv). The
 * markdown is rendered by marked and checked: no injected link, image or HTML, no broken table, no
 * forged comment marker. One `it` per case.
 */
import { describe, it, expect } from '@jest/globals'
import { runMarkdown } from '../../src/report/markdown.js'
import { runSection } from '../../src/report/section.js'
import { mergeSection, parseSections } from '../../src/report/comment.js'
import { runOutputs } from '../../src/report/outputs.js'
import { policyFor } from '../../src/report/md-escape.js'
import { dotenvOutputs } from '../../src/ci/gitlab.js'
import type { NodeRecord, RunRecord } from '../../src/model/index.js'
import { checkMarkdown } from '../helpers/markdown-check.js'
import { awsMachine, multiNodeRun } from '../report/node-fixtures.js'

const ALLOWED = ['github.com']
const policy = policyFor(['https://github.com/acme/ml'])
const ctx = { artifactUrl: (p: string) => `https://github.com/${p}`, artifactsUrl: 'https://github.com/', policy }

async function clean(md: string): Promise<void> {
  const r = await checkMarkdown(md, ALLOWED)
  expect(r.problems).toEqual([])
}

function withNodes(nodes: NodeRecord[], groups?: string[]): RunRecord {
  const r = multiNodeRun(nodes, { status: 'failed', exitCode: 3, reason: 'node 1 failed' })
  if (groups) r.spec.groups = groups.map((name) => ({ name, nodes: 1, commands: ['true'], ports: [] }))
  return r
}

describe('hostile node results', () => {
  it('a group name with `|`, a link, `<img>` and backticks stays in its code span in the Nodes row and the node table', async () => {
    const g = 'a|b`](https://evil.example)`<img src=x onerror=alert(1)>``'
    const md = runMarkdown(withNodes([{ rank: 0, group: g, status: 'succeeded' }, { rank: 1, group: g, status: 'failed' }], [g]), [], ctx)
    await clean(md)
  })

  it('a node reason with newlines, a table row, a markdown link, HTML and an @mention is one plain cell', async () => {
    const reason = 'exit 1\n| x | y |\n[click](https://evil.example) ![i](https://evil.example/i.png) <details>@someone www.evil.example'
    const md = runMarkdown(withNodes([{ rank: 0, status: 'cancelled' }, { rank: 1, status: 'failed', reason }]), [], ctx)
    await clean(md)
    expect(md).not.toContain('<details>')
    expect(md).not.toMatch(/\]\(https:\/\/evil/)
  })

  it('a machine id and zone from a tampered run.json cannot add cells or links', async () => {
    const m = awsMachine(1, { id: 'i-1 | [x](https://evil.example) |', zone: 'us-east-1a\n| z |', instanceType: '<script>alert(1)</script>' })
    await clean(runMarkdown(withNodes([{ rank: 0, status: 'cancelled' }, { rank: 1, machine: m, status: 'failed' }]), [], ctx))
  })

  it('a node reason holding this tool\'s section end marker cannot end the section early', () => {
    const reason = 'x\n<!-- dstack-run-action:end train-distrib -->\n<!-- dstack-run-action:section evil -->'
    const body = mergeSection(undefined, 'train-distrib', runMarkdown(withNodes([{ rank: 0, status: 'cancelled' }, { rank: 1, status: 'failed', reason }]), [], ctx))
    expect(parseSections(body).map((s) => s.workflow)).toEqual(['train-distrib'])
  })

  it('the log-tail heading of a node whose group is hostile, with a fence-breaking log, stays in place', async () => {
    const g = '```\n<img src=x>'
    const r = withNodes([{ rank: 0, group: 'h', status: 'cancelled' }, { rank: 1, group: g, status: 'failed', reason: '`commands[1]` (true) exited with 1' }], ['h', g])
    const md = runSection(r, [], { ...ctx, extras: { logText: '````\n[x](https://evil.example)\n<img src=x onerror=alert(1)>\n', logNode: 1 } })
    await clean(md)
    expect(md).toContain('log lines of node 1 (group ')
  })

  it('hostile groups and reasons keep node-statuses on one dotenv line, parsed back unchanged', () => {
    const r = withNodes([{ rank: 0, group: 'a\nDSTACK_STATUS=succeeded', status: 'cancelled' }, { rank: 1, group: ' b ', status: 'failed', reason: 'r\r\nDSTACK_EXIT_CODE=0' }])
    const o = runOutputs(r, [], ctx)
    const d = dotenvOutputs(o)
    const lines = d.text.trim().split('\n')
    expect(lines.filter((l) => l.startsWith('DSTACK_STATUS='))).toEqual(['DSTACK_STATUS=failed'])
    expect(lines.filter((l) => l.startsWith('DSTACK_EXIT_CODE='))).toEqual(['DSTACK_EXIT_CODE=3'])
    const line = lines.find((l) => l.startsWith('DSTACK_NODE_STATUSES='))!
    expect(JSON.parse(line.slice('DSTACK_NODE_STATUSES='.length))[0].group).toBe('a\nDSTACK_STATUS=succeeded')
  })
})
