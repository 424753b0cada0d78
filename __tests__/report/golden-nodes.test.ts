/**
 * Golden files of the job summary and PR / MR comment of multi-node runs
 * (`__tests__/report/golden/multi-node-*.md`): a `Nodes` row with the groups, a table with a row per
 * node, and for a failed run the failing node's command (from its group) and the tail of that
 * node's own log. Group names, reasons and log lines are hostile (pipes, newlines, links, HTML, this
 * tool's comment markers); marked renders each file and the check finds no broken table, no link
 * outside the allowed hosts and no raw HTML. `UPDATE_GOLDEN=1` rewrites the files.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore, keys } from '../../src/store/index.js'
import type { RunRecord } from '../../src/model/index.js'
import { mergeSection, SECTION_MAX_CHARS } from '../../src/report/comment.js'
import { prepareRunReport } from '../../src/ci/run-report.js'
import { SecretRedactor } from '../../src/ci/redact.js'
import { MAX_NODE_ROWS } from '../../src/report/node-table.js'
import { checkMarkdown } from '../helpers/markdown-check.js'
import { awsMachine, failedGroupsRun, multiNodeRun } from './node-fixtures.js'

const GOLDEN = join(process.cwd(), '__tests__/report/golden')
const ENV = { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/ml', GITHUB_BASE_REF: 'main' }
const JOB_URL = 'https://github.com/acme/ml/actions/runs/78'
const ALLOWED = ['github.com']

let dir: string
let store: RunStore
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'golden-nodes-'))
  store = new RunStore(new FolderStore(dir))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function golden(file: string, text: string): void {
  const path = join(GOLDEN, file)
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text)
  expect(text).toBe(readFileSync(path, 'utf8'))
}

async function render(r: RunRecord, logs: Record<number, string>, secrets: string[] = []): Promise<{ comment: string; summary: string }> {
  await store.saveRun(r)
  for (const [rank, text] of Object.entries(logs)) await store.store.put(keys.logChunk(r.repoId, r.run, r.attempts.length, 0, Number(rank)), text)
  const redactor = new SecretRedactor()
  for (const s of secrets) redactor.add(s)
  const report = await prepareRunReport({
    store, environ: ENV, record: r, manifest: [], baseline: 'none', redactor, links: store.artifactLinks(r), jobUrl: JOB_URL,
    warn: (m) => {
      throw new Error(`unexpected warning: ${m}`)
    }
  })
  return { comment: mergeSection(undefined, r.workflow, await report.render('github', SECTION_MAX_CHARS)), summary: await report.render('github', 250_000) }
}

describe('multi-node: a worker of a group failed', () => {
  let md: { comment: string; summary: string }
  beforeAll(async () => {
    md = await render(
      failedGroupsRun(),
      {
        0: 'head started\nray head waiting for workers\n',
        1: 'worker 1 joined\n',
        2: 'worker 2 joined\nTraceback (most recent call last):\n  token = "hf_NODE2SECRET"\n```\n<!-- dstack-run-action:end train-distrib -->\n<img src=x onerror=alert(1)>\n| a | b |\nRuntimeError: NCCL timeout [x](https://evil.example)\n'
      },
      ['hf_NODE2SECRET']
    )
  })

  it('matches the golden comment and summary', () => {
    golden('multi-node-failed-groups.comment.md', md.comment)
    golden('multi-node-failed-groups.summary.md', md.summary)
  })

  it('renders as GFM with intact tables, no foreign link, no raw HTML', async () => {
    for (const text of [md.comment, md.summary]) {
      const r = await checkMarkdown(text, ALLOWED)
      expect(r.problems).toEqual([])
      expect(r.tables).toBe(3) // status, attempts, nodes
      expect(r.html).toContain('<th>Group</th>')
    }
  })

  it('has a row per node with its group, machine, zone, status, exit code and reason; the failed node in bold', () => {
    expect(md.comment).toContain('| Nodes | 3 (groups `head` 1, `w\\|rk [x](https://evil.example) <b>` 2) |')
    expect(md.comment).toContain('**Nodes** of attempt 1: 3')
    expect(md.comment).toContain('| 0 (master) | `head` | g5.12xlarge i-0node0 | us-east-1a | cancelled | 143 | stopped: node 2 failed |')
    expect(md.comment).toMatch(/^\| 2 \| `w\\\|rk \[x\]\(https:\/\/evil\.example\) <b>` \| g5\.12xlarge i-0node2 \| us-east-1a \| \*\*failed\*\* \| 3 \| `commands\[1\]` /m)
  })

  it("names the failing command from the node's group, and shows that node's own log tail, redacted", () => {
    expect(md.comment).toContain('**Failed command:** `commands[1]` `ray start --address=$DSTACK_MASTER_NODE_IP:6379` at [.dstack/train.dstack.yml:14](https://github.com/acme/ml/blob/a1b2c3d4e5f60000000000000000000000000000/.dstack/train.dstack.yml#L14)')
    expect(md.comment).toContain('**Last 8 of 8 log lines of node 2 (group `w|rk [x](https://evil.example) <b>`)** (secrets redacted):')
    expect(md.comment).toContain('RuntimeError: NCCL timeout')
    expect(md.comment).not.toContain('ray head waiting for workers')
    expect(md.comment).not.toContain('hf_NODE2SECRET')
  })
})

describe('multi-node: two nodes succeeded', () => {
  let md: { comment: string; summary: string }
  beforeAll(async () => {
    md = await render(
      multiNodeRun(
        [
          { rank: 0, machine: awsMachine(0), status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0' },
          { rank: 1, machine: awsMachine(1), status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0' }
        ],
        { run: 'wide-walrus-2' }
      ),
      {}
    )
  })

  it('matches the golden comment', () => golden('multi-node-succeeded.comment.md', md.comment))

  it('a table without a group column, no failure part', async () => {
    const r = await checkMarkdown(md.comment, ALLOWED)
    expect(r.problems).toEqual([])
    expect(r.tables).toBe(3)
    expect(md.comment).toContain('| Nodes | 2 |')
    expect(md.comment).toContain('| Node | Machine | Zone | Status | Exit code | Reason |')
    expect(md.comment).toContain('| 1 | g5.12xlarge i-0node1 | us-east-1a | succeeded | 0 | all commands exited with 0 |')
    expect(md.comment).not.toContain('log lines')
  })
})

describe('multi-node: edge cases', () => {
  it('a failed cluster with no failed node shows the master\'s log tail', async () => {
    const r = multiNodeRun(
      [
        { rank: 0, machine: awsMachine(0), status: 'timed-out', reason: 'max_duration 1h reached' },
        { rank: 1, machine: awsMachine(1), status: 'timed-out', reason: 'max_duration 1h reached' }
      ],
      { run: 'slow-sloth-1', status: 'timed-out', reason: 'max_duration 1h reached' }
    )
    const md = await render(r, { 0: 'master line\n', 1: 'worker line\n' })
    expect(md.comment).toContain('**Last 1 of 1 log lines of node 0 (master)**')
    expect(md.comment).toContain('master line')
    expect(md.comment).not.toContain('worker line')
  })

  it('a cluster bigger than the table says how many more, and stays a table', async () => {
    const nodes = Array.from({ length: MAX_NODE_ROWS + 6 }, (_, rank) => ({ rank, machine: awsMachine(rank), status: 'succeeded' as const, exitCode: 0 }))
    const md = await render(multiNodeRun(nodes, { run: 'huge-herd-1' }), {})
    expect(md.comment).toContain('| … 6 more | | | | | |')
    const r = await checkMarkdown(md.comment, ALLOWED)
    expect(r.problems).toEqual([])
  })

  it('a big cluster whose every node has a long reason still fits the comment, tables intact', async () => {
    const reason = '`commands[1]` (python train.py) exited with 1 | ' + 'NCCL error [x](https://evil.example) <b>'.repeat(8)
    const nodes = Array.from({ length: 128 }, (_, rank) => ({ rank, machine: awsMachine(rank), status: 'failed' as const, exitCode: 1, reason }))
    const md = await render(multiNodeRun(nodes, { run: 'huge-herd-2', status: 'failed', reason: `node 0 failed: ${reason}` }), { 0: 'boom\n' })
    expect(md.comment.length).toBeLessThanOrEqual(SECTION_MAX_CHARS + 300)
    const r = await checkMarkdown(md.comment, ALLOWED)
    expect(r.problems).toEqual([])
    // the comment keeps room for the failure part after a shortened node table
    expect(md.comment).toMatch(/^\| … \d+ more \| \| \| \| \| \|$/m)
    expect(md.comment).toContain('**Failed command:** `commands[1]` `torchrun --nnodes=$DSTACK_NODES_NUM train.py`')
    expect(md.comment).toContain('log lines of node 0 (master)**')
    expect(md.summary).toContain('| … 64 more |')
    expect((await checkMarkdown(md.summary, ALLOWED)).problems).toEqual([])
  })

  it('a shortened node table still shows the node that decided the failure', async () => {
    const nodes = Array.from({ length: 40 }, (_, rank) => ({ rank, machine: awsMachine(rank), status: (rank === 33 ? 'failed' : 'cancelled') as 'failed' | 'cancelled', exitCode: rank === 33 ? 9 : 143, reason: 'x'.repeat(150) }))
    const md = await render(multiNodeRun(nodes, { run: 'huge-herd-3', status: 'failed', reason: 'node 33 failed: boom' }), { 33: 'node 33 says why\n' })
    expect(md.comment).toMatch(/^\| 33 \| g5\.12xlarge i-0node33 \| us-east-1a \| \*\*failed\*\* \| 9 \| /m)
    expect(md.comment).toMatch(/^\| … \d+ more \| \| \| \| \| \|$/m)
    expect(md.comment).toContain('node 33 says why')
    expect((await checkMarkdown(md.comment, ALLOWED)).problems).toEqual([])
  })

  it('a cluster that never started: the Nodes row, no table', async () => {
    const r = { ...multiNodeRun([], { run: 'no-cap-1', status: 'failed', reason: 'no capacity for 4 × g5.12xlarge in any zone', attempts: [] }), spec: { ...failedGroupsRun().spec, nodes: 4, groups: undefined } }
    const md = await render(r, {})
    expect(md.comment).toContain('| Nodes | 4 |')
    expect(md.comment).not.toContain('**Nodes** of attempt')
    expect((await checkMarkdown(md.comment, ALLOWED)).problems).toEqual([])
  })
})
