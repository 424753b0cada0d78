/**
 * The runner script's side of multi-node runs, executed by bash for real: dstack's node variables
 * for the job (also on one node), each node's own status and logs, and the values a backend hands
 * over (rank, addresses) checked before they reach a path, a key or the job.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { folderStore, logChunks, makePlan, readKey, removeTempDirs, runPrefix, runToEnd, statusOf, tempDir } from './fixture.js'
import { renderJobScript } from '../../src/runner/render.js'

afterAll(removeTempDirs)

const nodeStatus = (root: string, rank: number) => JSON.parse(readKey(root, `${runPrefix()}/attempts/1/nodes/${rank}/status.json`) ?? 'null') as Record<string, unknown> | null
const nodeLog = (root: string, rank: number): string => {
  const dir = join(root, `${runPrefix()}/attempts/1/nodes/${rank}/logs`)
  return existsSync(dir) ? readFileSync(join(dir, '000000.log'), 'utf8') : ''
}

describe('runner script: nodes', () => {
  test("one node: the job sees dstack's node variables for a single node (rank 0 of 1, a one-line hostfile)", async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, { commands: ['echo "n=$DSTACK_NODES_NUM r=$DSTACK_NODE_RANK m=$DSTACK_MASTER_NODE_IP ips=$DSTACK_NODES_IPS g=$DSTACK_GPUS_PER_NODE/$DSTACK_GPUS_NUM"', 'cat "$DSTACK_MPI_HOSTFILE"'] })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_GPUS_PER_NODE: '4' } } })
    expect(end.exitCode).toBe(0)
    const log = logChunks(root).join('')
    expect(log).toContain('n=1 r=0 m=127.0.0.1 ips=127.0.0.1 g=4/4\n')
    expect(log).toContain('127.0.0.1 slots=4\n')
    expect(statusOf(root)).toMatchObject({ status: 'succeeded' })
  })

  test('a node of a multi-node run writes its status and logs in its own folder, with the addresses the backend gave', async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, { nodes: { count: 3, startupOrder: 'any' }, commands: ['echo "r=$DSTACK_NODE_RANK master=$DSTACK_MASTER_NODE_IP third=$DSTACK_NODE_IP_2 gpus=$DSTACK_GPUS_NUM"', 'cat "$DSTACK_MPI_HOSTFILE"'] })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_NODE_RANK: '2', DSTACK_NODES_IPS: '10.0.0.5\n10.0.0.6\n10.0.0.7', DSTACK_GPUS_PER_NODE: '8' } } })
    expect(end.exitCode).toBe(0)
    expect(nodeStatus(root, 2)).toMatchObject({ phase: 'done', status: 'succeeded' })
    expect(statusOf(root)).toBeUndefined()
    const log = nodeLog(root, 2)
    expect(log).toContain('node 2 of 3')
    expect(log).toContain('r=2 master=10.0.0.5 third=10.0.0.7 gpus=24\n')
    expect(log).toContain('10.0.0.5 slots=8\n10.0.0.6 slots=8\n10.0.0.7 slots=8\n')
  })

  test('groups of different machines: DSTACK_GPUS_NUM is the sum over the nodes, the hostfile gives each its own slots and a CPU node its address alone (dstack\'s runner)', async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, { nodes: { count: 3, startupOrder: 'any' }, commands: ['echo "per=$DSTACK_GPUS_PER_NODE num=$DSTACK_GPUS_NUM"', 'cat "$DSTACK_MPI_HOSTFILE"'] })
    const env = { DSTACK_NODE_RANK: '1', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2\n10.0.0.3', DSTACK_GPUS_PER_NODE: '4', DSTACK_GPUS_BY_RANK: '8,4,0' }
    const end = await runToEnd(plan, { backend: { env } })
    expect(end.exitCode).toBe(0)
    const log = nodeLog(root, 1)
    expect(log).toContain('per=4 num=12\n')
    expect(log).toContain('10.0.0.1 slots=8\n10.0.0.2 slots=4\n10.0.0.3\n')
  })

  test.each([
    ['a rank that is not a number', { DSTACK_NODE_RANK: '1; touch PWNED', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2' }, 0, 'DSTACK_NODE_RANK `1; touch PWNED` is not a node rank'],
    ['a rank past the node count', { DSTACK_NODE_RANK: '2', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2' }, 0, 'DSTACK_NODE_RANK 2 is not below the node count 2'],
    ['an address that is shell', { DSTACK_NODE_RANK: '1', DSTACK_NODES_IPS: '10.0.0.1\n$(touch PWNED)' }, 1, 'DSTACK_NODES_IPS holds `$(touch PWNED)`, which is not an IP address'],
    ['too few addresses', { DSTACK_NODE_RANK: '1', DSTACK_NODES_IPS: '10.0.0.1' }, 1, 'DSTACK_NODES_IPS holds 1 addresses for 2 nodes'],
    ['no addresses', { DSTACK_NODE_RANK: '1' }, 1, 'DSTACK_NODES_IPS (the addresses of the 2 nodes) is not set']
  ])('the backend hands over %s: the node fails before any work, nothing runs', async (_what, env, rank, reason) => {
    const { root, loc } = await folderStore()
    const work = tempDir('pwn-')
    const plan = makePlan(loc, { nodes: { count: 2, startupOrder: 'any' }, commands: [`touch ${work}/RAN`] })
    const end = await runToEnd(plan, { backend: { env } })
    expect(end.exitCode).toBe(1)
    expect(nodeStatus(root, rank)).toMatchObject({ status: 'failed', reason: expect.stringContaining(reason) })
    expect(existsSync(join(work, 'RAN'))).toBe(false)
    expect(existsSync('PWNED')).toBe(false)
  })

  test('a group name with shell in it is data: logged as written, never run', async () => {
    const { root, loc } = await folderStore()
    const work = tempDir('grp-')
    const name = `$(touch ${work}/PWNED)'"`
    const plan = makePlan(loc, { nodes: { count: 2, startupOrder: 'any', groups: [{ name, nodes: 1, commands: ['echo head'] }, { name: 'w', nodes: 1, commands: ['echo worker'] }] }, commands: [] })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_NODE_RANK: '0', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2' } } })
    expect(end.exitCode).toBe(0)
    expect(nodeLog(root, 0)).toContain(`node 0 of 2 (group ${name})`)
    expect(nodeLog(root, 0)).toContain('head\n')
    expect(existsSync(join(work, 'PWNED'))).toBe(false)
  })

  test('node addresses in group commands become references for their shell context; never text', () => {
    const plan = makePlan({ kind: 'folder', root: '/s' }, {
      nodes: { count: 3, startupOrder: 'any', groups: [{ name: 'a', nodes: 1, commands: [] }, { name: 'b', nodes: 2, commands: [] }] }
    })
    const job = (c: string) => renderJobScript(plan, [c]).split('\n').find((l) => l.startsWith('echo') || l.startsWith('x='))!
    expect(job('echo ${{ groups[1].nodes[1].IP_ADDRESS }}')).toBe('echo "${DSTACK_NODE_IP_2}"')
    expect(job('echo "at ${{ groups[1].nodes[0].IP_ADDRESS }}"')).toBe('echo "at ${DSTACK_NODE_IP_1}"')
    expect(job("echo 'at ${{ groups[0].nodes[0].IP_ADDRESS }}'")).toBe(`echo 'at '"\${DSTACK_NODE_IP_0}"''`)
    expect(() => job('x=$(( ${{ groups[0].nodes[0].IP_ADDRESS }} ))')).toThrow(/arithmetic/)
    expect(() => job("cat <<'EOF'\n${{ groups[0].nodes[0].IP_ADDRESS }}\nEOF")).toThrow(/quoted heredoc/)
    expect(() => job('echo ${{ groups[2].nodes[0].IP_ADDRESS }}')).toThrow(/names a node this task does not have/)
  })
})
