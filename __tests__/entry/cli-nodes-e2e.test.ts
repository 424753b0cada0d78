/**
 * End to end on the local backend (real runner processes, real bash, folder store): a two-node task
 * whose worker fails, run as a user runs it (`run --json --dotenv`), then read back with `logs`,
 * `logs --node`, `ps` and `report`. Proves the outputs (`nodes`, `node-statuses`), the dotenv, the
 * per-node lines at the end of `run`, and the node table with the worker's own log tail, from what
 * the orchestrator and the runners really wrote.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { runCli } from '../helpers/cli-main.js'

const TASK = `type: task
name: distrib
nodes: 2
commands:
  - echo "rank $DSTACK_NODE_RANK of $DSTACK_NODES_NUM"
  - if [ "$DSTACK_NODE_RANK" = 1 ]; then echo "worker gives up"; exit 7; fi
  - echo "master done"
`

const environ: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME }

const cli = (args: string[]) => runCli(args, { environ: { ...environ, DSTACK_WORK_ROOT: work }, cwd: repo.dir })

let repo: { dir: string; cleanup: () => void }
let store: string
let work: string
let result: { code: number; out: string; err: string }
let json: { record: { run: string; status: string; reason: string }; outputs: Record<string, unknown> }
beforeAll(async () => {
  repo = makeRepo({ '.dstack/distrib.dstack.yml': TASK })
  store = mkdtempSync(join(tmpdir(), 'cli-nodes-e2e-store-'))
  work = mkdtempSync(join(tmpdir(), 'cli-nodes-e2e-work-'))
  result = await cli(['run', 'distrib', '--store', store, '--json', '--dotenv', 'dstack.env', '--comment', 'false', '--baseline', 'none'])
  json = JSON.parse(result.out)
}, 120_000)
afterAll(() => {
  repo.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

describe('a two-node local run whose worker fails', () => {
  it('fails, naming the worker', () => {
    expect(result.code).not.toBe(0)
    expect(json.record.status).toBe('failed')
    expect(json.record.reason).toMatch(/^node 1 failed/)
  })

  it('--json has nodes 2 and node-statuses with both nodes, the worker failed with its exit code', () => {
    expect(json.outputs.nodes).toBe(2)
    const list = json.outputs['node-statuses'] as { rank: number; status: string; exitCode?: number; reason?: string }[]
    expect(list.map((n) => n.rank)).toEqual([0, 1])
    expect(list[1]).toMatchObject({ rank: 1, status: 'failed', exitCode: 7 })
    expect(list[1]!.reason).toContain('commands[2]')
    expect(['succeeded', 'cancelled']).toContain(list[0]!.status)
  })

  it('the dotenv carries DSTACK_NODES and DSTACK_NODE_STATUSES', () => {
    const env = readFileSync(join(repo.dir, 'dstack.env'), 'utf8')
    expect(env).toMatch(/^DSTACK_NODES=2$/m)
    const line = env.split('\n').find((l) => l.startsWith('DSTACK_NODE_STATUSES='))!
    expect(JSON.parse(line.slice('DSTACK_NODE_STATUSES='.length))).toEqual(json.outputs['node-statuses'])
  })

  it('run ends with a line per node', () => {
    expect(result.err).toMatch(/^nodes of attempt 1:\n {2}node 0 \(master\) .*\n {2}node 1 .*failed\s+exit 7\s+.*commands\[2\]/m)
  })

  it("logs prints both nodes' lines with their prefix; --node 1 the worker's alone", async () => {
    const all = await cli(['logs', json.record.run, '--store', store])
    expect(all.out).toContain('[node 0] rank 0 of 2\n')
    expect(all.out).toContain('[node 1] rank 1 of 2\n')
    expect(all.out).toContain('[node 1] worker gives up\n')
    expect(all.out.split('\n').filter(Boolean).every((l) => /^\[node [01]\] /.test(l))).toBe(true)
    const one = await cli(['logs', json.record.run, '--store', store, '--node', '1'])
    expect(one.out).toContain('rank 1 of 2\nworker gives up\n')
    expect(one.out).not.toContain('[node')
    expect(one.out).not.toContain('rank 0 of 2')
  })

  it('ps shows 2 nodes; report shows the node table, the failed command and the worker\'s log tail', async () => {
    expect((await cli(['ps', '--store', store])).out).toMatch(new RegExp(`^${json.record.run}\\s+distrib\\s+.*failed\\s+local\\s+2\\s+untrusted: local \\(not in CI\\)\\s*$`, 'm'))
    const report = await cli(['report', json.record.run, '--store', store, '--baseline', 'none'])
    expect(report.out).toContain('| Nodes | 2 |')
    expect(report.out).toMatch(/^\| 1 \| local:\d+ \| — \| \*\*failed\*\* \| 7 \| /m)
    expect(report.out).toContain('**Failed command:** `commands[2]`')
    expect(report.out).toMatch(/\*\*Last \d+ of \d+ log lines of node 1\*\*/)
    expect(report.out).toContain('worker gives up')
  })
})
