/**
 * The CLI's views of a multi-node run, from a folder store holding what the orchestrator and the
 * runners write (a run.json with a record per node, each node's log chunks and status.json under
 * `attempts/<n>/nodes/<rank>/`): `logs` prints every node's lines with the `[node <rank>] ` prefix
 * (a line or a UTF-8 character split across chunks kept whole), `--node R` one node's log as it was
 * written, `-f` follows all nodes until each has its result; `ps` has a NODES column; `report`
 * shows the node table.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { FolderStore, RunStore, keys } from '../../src/store/index.js'
import { detectRepoId } from '../../src/revision/index.js'
import type { NodeRecord, RunRecord } from '../../src/model/index.js'
import { makeRepo } from '../helpers/git-repo.js'
import { baseSpec, multiNodeRun } from '../report/node-fixtures.js'

const environ: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME }

async function cli(args: string[], signal = new AbortController().signal) {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ,
    cwd: process.cwd(),
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal
  })
  return { code, out, err }
}

let repo: { dir: string; cleanup: () => void }
let dir: string
let store: RunStore
let repoId: string
const R = () => ['-C', repo.dir, '--store', dir]

/** a local node whose runner is gone (pid 2^22 + rank is never a live runner here) */
const localNode = (rank: number, over: Partial<NodeRecord> = {}): NodeRecord => ({
  rank, machine: { id: `local:${4_194_304 + rank}`, backend: 'local', rank, privateIp: '127.0.0.1' }, status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0', ...over
})

async function putRun(r: RunRecord, logs: Record<number, (string | Buffer)[]>, statuses = true): Promise<void> {
  await store.saveRun(r)
  for (const [rank, chunks] of Object.entries(logs)) {
    for (const [seq, c] of chunks.entries()) await store.store.put(keys.logChunk(r.repoId, r.run, 1, seq, Number(rank)), c)
    if (statuses) await store.writeStatus(r.repoId, r.run, 1, { phase: 'done', status: 'succeeded', exitCode: 0 }, Number(rank))
  }
}

const EURO = Buffer.from('€ done\n')

beforeAll(async () => {
  repo = makeRepo({ 'README.md': 'x\n' })
  dir = mkdtempSync(join(tmpdir(), 'cli-nodes-store-'))
  store = new RunStore(new FolderStore(dir))
  repoId = await detectRepoId(repo.dir, environ)
  const three = multiNodeRun([localNode(0), localNode(1), localNode(2)], { run: 'wide-walrus-1', repoId, backend: 'local' })
  await putRun(three, {
    0: ['master up\nwaiting for 2 work', 'ers\n'],
    1: ['worker 1 joined\n', Buffer.concat([Buffer.from('worker 1 '), EURO.subarray(0, 2)]), EURO.subarray(2)],
    2: ['worker 2 joined\nno newline at the end']
  })
  const single: RunRecord = { ...multiNodeRun([], { run: 'solo-seal-1', repoId, backend: 'local' }), spec: { ...baseSpec, nodes: 1 }, attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', status: 'succeeded', machine: { id: 'local:4194399', backend: 'local' } }] }
  await store.saveRun(single)
  await store.store.put(keys.logChunk(repoId, single.run, 1, 0), 'solo line\n')
  await store.writeStatus(repoId, single.run, 1, { phase: 'done', status: 'succeeded', exitCode: 0 })
})
afterAll(() => {
  repo.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

const EVERY_NODE = [
  '[node 0] master up',
  '[node 0] waiting for 2 workers',
  '[node 1] worker 1 joined',
  '[node 1] worker 1 € done',
  '[node 2] worker 2 joined',
  '[node 2] no newline at the end',
  ''
].join('\n')

describe('dstack-run logs of a multi-node run', () => {
  it("prints every node's log, node by node, each line prefixed with its rank", async () => {
    const r = await cli(['logs', ...R(), 'wide-walrus-1'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toBe(EVERY_NODE)
  })

  it("--node R prints that node's log as it was written, without the prefix", async () => {
    expect((await cli(['logs', ...R(), 'wide-walrus-1', '--node', '1'])).out).toBe('worker 1 joined\nworker 1 € done\n')
    expect((await cli(['logs', ...R(), 'wide-walrus-1', '--node', '2'])).out).toBe('worker 2 joined\nno newline at the end')
  })

  it('--node outside the ranks is an error naming the ranks', async () => {
    for (const bad of ['3', '-1', '1.5', 'x']) {
      const r = await cli(['logs', ...R(), 'wide-walrus-1', '--node', bad])
      expect(r.code).toBe(1)
      expect(r.err).toBe(`error: --node ${bad}: run wide-walrus-1 has 3 nodes (ranks 0 to 2)\nhint: pass a rank from 0 to 2, or leave --node out for every node\n`)
    }
  })

  it('-f on an ended run prints the same and returns', async () => {
    expect((await cli(['logs', ...R(), 'wide-walrus-1', '-f'])).out).toBe(EVERY_NODE)
  })

  it('-f follows every node while it runs, until each has written its result', async () => {
    const running = multiNodeRun([], { run: 'busy-bee-1', repoId, backend: 'local', status: 'running', reason: undefined, endedAt: undefined, attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z' }] }, { nodes: 2 })
    await putRun(running, { 0: ['m1\n'], 1: ['w1\n'] }, false)
    const ac = new AbortController()
    let out = ''
    const done = main(['logs', ...R(), 'busy-bee-1', '-f'], { environ, cwd: process.cwd(), out: { write: (s: string) => ((out += s), true) }, err: { write: () => true }, signal: ac.signal })
    // wait for the event (the first lines printed), not for a time
    let ended = false
    void done.finally(() => (ended = true))
    while (!out.includes('[node 1] w1\n') && !ended) await new Promise((r) => setImmediate(r))
    expect(out).toBe('[node 0] m1\n[node 1] w1\n')
    await store.store.put(keys.logChunk(repoId, 'busy-bee-1', 1, 1, 1), 'w2\n')
    await store.writeStatus(repoId, 'busy-bee-1', 1, { phase: 'done', status: 'failed', exitCode: 1 }, 1)
    await store.store.put(keys.logChunk(repoId, 'busy-bee-1', 1, 1, 0), 'm2\n')
    await store.writeStatus(repoId, 'busy-bee-1', 1, { phase: 'done', status: 'cancelled', exitCode: 143 }, 0)
    // the run ended failed (node 1 failed, node 0 was stopped): `logs -f` exits as `run` would
    expect(await done).toBe(1)
    expect(out.split('\n').sort()).toEqual(['', '[node 0] m1', '[node 0] m2', '[node 1] w1', '[node 1] w2'])
  })

  it('a single-node run: its log as before; --node 0 is that log too', async () => {
    expect((await cli(['logs', ...R(), 'solo-seal-1'])).out).toBe('solo line\n')
    expect((await cli(['logs', ...R(), 'solo-seal-1', '--node', '0'])).out).toBe('solo line\n')
    const r = await cli(['logs', ...R(), 'solo-seal-1', '--node', '1'])
    expect(r.err).toBe('error: --node 1: run solo-seal-1 has 1 node\nhint: leave --node out\n')
  })
})

describe('ps and report of a multi-node run', () => {
  it('ps has a NODES column: 3 for the cluster, 1 for the single-node run', async () => {
    const r = await cli(['ps', ...R()])
    expect(r.out).toMatch(/^RUN\s+WORKFLOW\s+SUBMITTED\s+STATUS\s+BACKEND\s+NODES\s+TRUST\s+TAGS$/m)
    expect(r.out).toMatch(/^wide-walrus-1\s+train-distrib\s+.*succeeded\s+local\s+3\s+untrusted: \S+\s*$/m)
    expect(r.out).toMatch(/^solo-seal-1\s+train-distrib\s+.*succeeded\s+local\s+1\s+untrusted: \S+\s*$/m)
  })

  it('ps of an unfinished multi-node run reads what its nodes wrote: the master done is not the run done, a failed worker is', async () => {
    const going = (run: string, nodes?: NodeRecord[]) =>
      multiNodeRun([], { run, repoId, backend: 'local', status: 'running', reason: undefined, endedAt: undefined, attempts: [{ n: 1, startedAt: new Date().toISOString(), machine: localNode(0).machine, ...(nodes ? { nodes } : {}) }] }, { nodes: 2 })
    // the master's runner is gone (it finished), the worker's machine is not known yet: still running, never `lost`
    await store.saveRun(going('half-done-1'))
    await store.writeStatus(repoId, 'half-done-1', 1, { phase: 'done', status: 'succeeded', exitCode: 0 }, 0)
    // a worker wrote `failed`: the run failed by dstack's rule, whatever the master says
    await store.saveRun(going('worker-broke-1'))
    await store.writeStatus(repoId, 'worker-broke-1', 1, { phase: 'done', status: 'failed', exitCode: 1 }, 1)
    // every node's runner is gone and none wrote a result: lost
    await store.saveRun(going('all-gone-1', [localNode(0, { status: undefined }), localNode(1, { status: undefined })]))
    const rows = JSON.parse((await cli(['ps', ...R(), '--json'])).out) as { run: string; status: string }[]
    const status = (run: string) => rows.find((r) => r.run === run)?.status
    expect([status('half-done-1'), status('worker-broke-1'), status('all-gone-1')]).toEqual(['running', 'failed', 'lost'])
  })

  it('report shows a row per node', async () => {
    const r = await cli(['report', ...R(), 'wide-walrus-1', '--baseline', 'none'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('| Nodes | 3 |')
    expect(r.out).toContain('**Nodes** of attempt 1: 3')
    expect(r.out).toContain('| 2 | local:4194306 | — | succeeded | 0 | all commands exited with 0 |')
  })
})
