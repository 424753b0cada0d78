/**
 * Multi-node tasks on the local backend, through the real CLI: every node is a runner process on
 * this host with its own folder and rank, and 127.0.0.1 as every node's address, so the nodes'
 * own commands rendezvous over TCP using only dstack's variables. dstack's rule decides the run: a
 * failed node fails it and stops the others; `stop_criteria: master-done` ends it with the master.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../../src/entry/cli.js'
import { makeRepo } from '../../helpers/git-repo.js'
import type { RunRecord } from '../../../src/model/index.js'
import { runCli } from '../../helpers/cli-main.js'

/** a TCP rendezvous in the job's own commands: the master listens, every worker connects and says its rank */
const RENDEZVOUS = `
const net = require('node:net')
const rank = Number(process.env.DSTACK_NODE_RANK), n = Number(process.env.DSTACK_NODES_NUM)
const master = process.env.DSTACK_MASTER_NODE_IP, port = Number(process.env.RDV_PORT)
const ips = process.env.DSTACK_NODES_IPS.split('\\n')
if (ips.length !== n) { console.log('bad DSTACK_NODES_IPS', JSON.stringify(ips)); process.exit(9) }
if (rank === 0) {
  const seen = []
  const server = net.createServer((c) => c.once('data', (d) => {
    seen.push(Number(String(d)))
    c.end('welcome ' + String(d))
    if (seen.length === n - 1) { console.log('master met workers ' + seen.sort().join(',') + ' of ' + n); server.close() }
  }))
  server.listen(port, master)
} else {
  const attempt = () => {
    const c = net.connect(port, master, () => c.write(String(rank)))
    c.on('data', (d) => { console.log('worker ' + rank + ' got ' + String(d)); c.end() })
    c.on('error', () => setTimeout(attempt, 100))
  }
  attempt()
}
`

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

const cli = (args: string[]) => runCli(args)

function pgrep(pattern: string): Promise<string> {
  return new Promise((resolve) => execFile('pgrep', ['-f', pattern], (_e, stdout) => resolve(String(stdout).trim())))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// sleeps no other process on the machine runs (pgrep looks machine-wide)
const NAP = `sleep 313.${process.pid}`
const FOREVER = `sleep 314.${process.pid}`

describe('multi-node tasks on the local backend', () => {
  let repo: { dir: string; cleanup: () => void }
  let store: string
  let ports: number[]
  beforeAll(async () => {
    ports = [await freePort(), await freePort()]
    const task = (name: string, nodes: number, port: number) =>
      `type: task\nname: ${name}\nnodes: ${nodes}\nenv:\n  - RDV_PORT=${port}\ncommands:\n  - echo "rank $DSTACK_NODE_RANK of $DSTACK_NODES_NUM, master $DSTACK_MASTER_NODE_IP"\n  - node rdv.cjs\n  - mkdir -p out && echo "made by node $DSTACK_NODE_RANK" > out/who.txt\n  - cat "$DSTACK_MPI_HOSTFILE"\nartifacts:\n  - path: out\n`
    repo = makeRepo({
      'rdv.cjs': RENDEZVOUS,
      'two.dstack.yml': task('two', 2, ports[0]!),
      'three.dstack.yml': task('three', 3, ports[1]!),
      'worker-fails.dstack.yml': `type: task\nname: worker-fails\nnodes: 3\ncommands:\n  - |\n    if [ "$DSTACK_NODE_RANK" = 1 ]; then echo "worker 1 gives up"; exit 3; fi\n    ${NAP}\n`,
      'mpi.dstack.yml': `type: task\nname: mpi\nnodes: 3\nstartup_order: workers-first\nstop_criteria: master-done\ncommands:\n  - |\n    if [ "$DSTACK_NODE_RANK" -eq 0 ]; then\n      echo "master runs over $(wc -l < "$DSTACK_MPI_HOSTFILE") hosts"\n    else\n      ${FOREVER}\n    fi\n`,
      'sleepers.dstack.yml': `type: task\nname: sleepers\nnodes: 2\ncommands:\n  - echo "node $DSTACK_NODE_RANK naps"\n  - ${NAP}\n`,
      'runner-gone.dstack.yml': `type: task\nname: runner-gone\nnodes: 2\ncommands:\n  - |\n    if [ "$DSTACK_NODE_RANK" = 1 ]; then kill -9 "$PPID"; exit 0; fi\n    ${NAP}\n`,
      'master-first.dstack.yml': `type: task\nname: master-first\nnodes: 2\nstartup_order: master-first\ncommands:\n  - echo "node $DSTACK_NODE_RANK started"\n`,
      'hetero.dstack.yml': [
        'type: task',
        'name: hetero',
        'groups:',
        '  - name: head',
        '    nodes: 1',
        '    commands:',
        '      - echo "head is rank $DSTACK_NODE_RANK; the last worker is at ${{ groups[1].nodes[1].IP_ADDRESS }}"',
        '  - name: workers',
        '    nodes: 2',
        '    commands:',
        "      - echo 'worker '\"$DSTACK_NODE_RANK\"' reports to ${{ groups[0].nodes[0].IP_ADDRESS }}'",
        ''
      ].join('\n')
    })
    store = mkdtempSync(join(tmpdir(), 'store-'))
  })
  afterAll(() => {
    repo.cleanup()
    rmSync(store, { recursive: true, force: true })
  })

  /** run.json of the newest run, read from the folder store */
  const lastRun = async (): Promise<RunRecord> => {
    const r = await cli(['ps', '-C', repo.dir, '--store', store, '--json'])
    const rows = JSON.parse(r.out) as { run: string; repoId: string }[]
    const row = rows[0]!
    return JSON.parse(readFileSync(join(store, row.repoId, 'runs', row.run, 'run.json'), 'utf8')) as RunRecord
  }

  it.each([
    ['two', 2],
    ['three', 3]
  ])('%s nodes rendezvous over TCP using only the dstack variables; logs, status and artifacts are kept per node', async (name, n) => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, name as string])
    expect(r.err).toContain(`succeeded`)
    expect(r.code).toBe(0)
    const workers = Array.from({ length: (n as number) - 1 }, (_, i) => i + 1)
    expect(r.out).toContain(`[node 0] master met workers ${workers.join(',')} of ${n}`)
    for (const w of workers) expect(r.out).toContain(`[node ${w}] worker ${w} got welcome ${w}`)
    for (let k = 0; k < (n as number); k++) {
      expect(r.out).toContain(`[node ${k}] rank ${k} of ${n}, master 127.0.0.1`)
      // dstack's hostfile: `slots=N` for a GPU node, the address alone for a CPU node
      expect(r.out).toMatch(new RegExp(`\\[node ${k}\\] 127\\.0\\.0\\.1( slots=\\d+)?\\n`))
    }
    // every line of the CI log carries its node
    expect(r.out.split('\n').filter((l) => l && !l.startsWith('[node '))).toEqual([])
    const rec = await lastRun()
    expect(rec.status).toBe('succeeded')
    const attempt = rec.attempts[0]!
    expect(attempt.nodes!.map((x) => [x.rank, x.status, x.machine?.privateIp])).toEqual(Array.from({ length: n as number }, (_, k) => [k, 'succeeded', '127.0.0.1']))
    const dir = join(store, rec.repoId, 'runs', rec.run)
    for (let k = 0; k < (n as number); k++) {
      expect(JSON.parse(readFileSync(join(dir, 'attempts', '1', 'nodes', String(k), 'status.json'), 'utf8'))).toMatchObject({ phase: 'done', status: 'succeeded' })
      expect(readFileSync(join(dir, 'attempts', '1', 'nodes', String(k), 'logs', '000000.log'), 'utf8')).toContain(`node ${k} of ${n}`)
    }
    // artifacts come from the master only
    expect(readFileSync(join(dir, 'artifacts', 'out', 'who.txt'), 'utf8')).toBe('made by node 0\n')
    expect(r.out).toContain('[node 1] [dstack] artifacts are stored from the master node (rank 0) only')
  })

  it("a worker fails: the run fails by dstack's rule naming the node, and every node's processes are stopped", async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'worker-fails'])
    expect(r.code).toBe(3)
    expect(r.out).toContain('[node 1] worker 1 gives up')
    expect(r.err).toMatch(/node 1 failed: `commands\[1\]` \(.*\) exited with 3: stopping nodes 0, 2/)
    expect(r.err).toMatch(/run \S+ failed: node 1 failed: /)
    const rec = await lastRun()
    const nodes = rec.attempts[0]!.nodes!
    expect(nodes.map((x) => [x.rank, x.status])).toEqual([[0, 'cancelled'], [1, 'failed'], [2, 'cancelled']])
    expect(nodes[1]!.exitCode).toBe(3)
    for (const x of nodes) expect(alive(Number(x.machine!.id.replace('local:', '')))).toBe(false)
    expect(await pgrep(`^${NAP.replace('.', '\\.')}$`)).toBe('')
  })

  it("a node's runner vanishes without a word: the run fails naming the node, and the other node is stopped", async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'runner-gone'])
    expect(r.code).toBe(137) // as for one node: the runner's own exit code (128 + SIGKILL)
    expect(r.err).toMatch(/run \S+ failed: node 1 failed: the runner script was killed by SIGKILL/)
    const rec = await lastRun()
    expect(rec.attempts[0]!.nodes!.map((x) => [x.rank, x.status])).toEqual([[0, 'cancelled'], [1, 'failed']])
    expect(await pgrep(`^${NAP.replace('.', '\\.')}$`)).toBe('')
  })

  it('workers-first + master-done (the MPI pattern): the master starts last, and its end ends the run; the sleeping workers are stopped', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'mpi'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('[node 0] [dstack] startup_order workers-first: waiting for node(s) 1 2 to start their commands')
    expect(r.out).toContain('[node 0] master runs over 3 hosts')
    expect(r.err).toContain('the master node is done (stop_criteria: master-done)')
    const rec = await lastRun()
    expect(rec.status).toBe('succeeded')
    expect(rec.attempts[0]!.nodes!.map((x) => x.status)).toEqual(['succeeded', 'cancelled', 'cancelled'])
    expect(await pgrep(`^${FOREVER.replace('.', '\\.')}$`)).toBe('')
  })

  it('master-first: the workers wait until the master has started its commands', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'master-first'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('[node 1] [dstack] startup_order master-first: waiting for node(s) 0 to start their commands')
    expect(r.out).not.toContain('[node 0] [dstack] startup_order')
  })

  it('groups: each group runs its own commands, ranks in group order, node addresses resolved on the machine', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'hetero'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('[node 0] head is rank 0; the last worker is at 127.0.0.1')
    expect(r.out).toContain('[node 1] worker 1 reports to 127.0.0.1')
    expect(r.out).toContain('[node 2] worker 2 reports to 127.0.0.1')
    const rec = await lastRun()
    expect(rec.attempts[0]!.nodes!.map((x) => [x.rank, x.group, x.status])).toEqual([[0, 'head', 'succeeded'], [1, 'workers', 'succeeded'], [2, 'workers', 'succeeded']])
  })

  it('cancelling the run stops every node; each still saves its log and status', async () => {
    const ac = new AbortController()
    let out = ''
    let err = ''
    const running = main(['run', '-C', repo.dir, '--store', store, 'sleepers'], {
      environ: process.env,
      cwd: process.cwd(),
      out: { write: (t: string) => ((out += t), true) },
      err: { write: (t: string) => ((err += t), true) },
      signal: ac.signal
    })
    // cancel once both nodes' jobs are running
    for (let i = 0; i < 1200 && !(out.includes('[node 0] node 0 naps') && out.includes('[node 1] node 1 naps')); i++) await new Promise((r) => setTimeout(r, 50))
    ac.abort()
    const code = await running
    // as a shell reports Ctrl+C (SIGINT): 130
    expect(code).toBe(130)
    expect(err).toContain('cancelling: asking every node to stop and save its logs')
    const rec = await lastRun()
    expect(rec.status).toBe('cancelled')
    expect(rec.attempts[0]!.nodes!.map((x) => x.status)).toEqual(['cancelled', 'cancelled'])
    const dir = join(store, rec.repoId, 'runs', rec.run, 'attempts', '1', 'nodes')
    for (const k of [0, 1]) expect(JSON.parse(readFileSync(join(dir, String(k), 'status.json'), 'utf8'))).toMatchObject({ phase: 'done', status: 'cancelled' })
    expect(await pgrep(`^${NAP.replace('.', '\\.')}$`)).toBe('')
  })

  it('a multi-node run cannot be detached: the rule needs its watcher', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, '-d', 'two'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('runs on 2 nodes, which cannot be detached')
  })
})
