/**
 * The outputs of a multi-node run: `nodes` (the count) and `node-statuses` (a compact JSON list of
 * the last attempt's nodes), as GitHub outputs (strings), `run --json` (typed) and the GitLab
 * dotenv (one line each, the per-node list first to drop). A single-node run has `nodes` 1 and no
 * per-node list.
 */
import { describe, it, expect } from '@jest/globals'
import { runOutputs, typedOutputs } from '../../src/report/index.js'
import { failingNode, nodeLabel, nodeStatusOutputs } from '../../src/report/node-results.js'
import { failingStep } from '../../src/report/section.js'
import { dotenvOutputs } from '../../src/ci/gitlab.js'
import { awsMachine, baseSpec, failedGroupsRun, HOSTILE_GROUP, multiNodeRun, REPO } from './node-fixtures.js'
import type { RunRecord } from '../../src/model/index.js'

const ctx = { artifactUrl: (p: string) => `https://example/${p}`, artifactsUrl: 'https://example/' }

/** GitLab's dotenv parser: `^(.*?)=(.*)$` per line, both sides stripped */
function parseDotenv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => /^(.*?)=(.*)$/.exec(l)!.slice(1, 3).map((s) => s.trim()))
  )
}

const singleNode: RunRecord = {
  ...multiNodeRun([]),
  spec: { ...baseSpec, nodes: 1 },
  attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', status: 'succeeded', exitCode: 0, machine: awsMachine(0) }]
}

describe('single-node run', () => {
  it('has nodes 1 and an empty node-statuses (null in --json, absent from the dotenv)', () => {
    const o = runOutputs(singleNode, [], ctx)
    expect(o.nodes).toBe('1')
    expect(o['node-statuses']).toBe('')
    const t = typedOutputs(o)
    expect(t.nodes).toBe(1)
    expect(t['node-statuses']).toBeNull()
    const env = parseDotenv(dotenvOutputs(o).text)
    expect(env.DSTACK_NODES).toBe('1')
    expect(env).not.toHaveProperty('DSTACK_NODE_STATUSES')
  })
  it('a record from before multi-node tasks (no spec.nodes) counts as one node', () => {
    const old = { ...singleNode, spec: { ...singleNode.spec, nodes: undefined as unknown as number } }
    expect(runOutputs(old, [], ctx).nodes).toBe('1')
  })
})

describe('multi-node run', () => {
  const ok = multiNodeRun([
    { rank: 0, machine: awsMachine(0), status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0' },
    { rank: 1, machine: awsMachine(1, { zone: 'us-east-1a' }), status: 'succeeded', exitCode: 0, reason: 'all commands exited with 0' }
  ])

  it('gives the node count and every node of the last attempt, master first', () => {
    const o = runOutputs(ok, [], ctx)
    expect(o.nodes).toBe('2')
    expect(JSON.parse(o['node-statuses']!)).toEqual([
      { rank: 0, status: 'succeeded', exitCode: 0, instanceType: 'g5.12xlarge', zone: 'us-east-1a', instanceId: 'i-0node0' },
      { rank: 1, status: 'succeeded', exitCode: 0, instanceType: 'g5.12xlarge', zone: 'us-east-1a', instanceId: 'i-0node1' }
    ])
    // instance-id / instance-type stay the master's
    expect(o['instance-id']).toBe('i-0node0')
  })

  it('types them in --json: a number and a list', () => {
    const t = typedOutputs(runOutputs(ok, [], ctx))
    expect(t.nodes).toBe(2)
    expect(Array.isArray(t['node-statuses'])).toBe(true)
    expect((t['node-statuses'] as { rank: number }[]).map((n) => n.rank)).toEqual([0, 1])
  })

  it('lists nodes by rank whatever order the record holds them in, local nodes without instance ids', () => {
    const local = multiNodeRun(
      [
        { rank: 2, machine: { id: 'local:12', backend: 'local', rank: 2, privateIp: '127.0.0.1' }, status: 'succeeded', exitCode: 0 },
        { rank: 0, machine: { id: 'local:10', backend: 'local', rank: 0, privateIp: '127.0.0.1' }, status: 'succeeded', exitCode: 0 },
        { rank: 1, machine: { id: 'local:11', backend: 'local', rank: 1, privateIp: '127.0.0.1' }, status: 'succeeded', exitCode: 0 }
      ],
      { backend: 'local' }
    )
    expect(JSON.parse(runOutputs(local, [], ctx)['node-statuses']!)).toEqual([0, 1, 2].map((rank) => ({ rank, status: 'succeeded', exitCode: 0 })))
  })

  it('a failed run: groups, exit codes and the reasons of the nodes that did not succeed, on one line', () => {
    const r = failedGroupsRun()
    const list = JSON.parse(runOutputs(r, [], ctx)['node-statuses']!) as Record<string, unknown>[]
    expect(list.map((n) => [n.rank, n.group, n.status, n.exitCode])).toEqual([
      [0, 'head', 'cancelled', 143],
      [1, HOSTILE_GROUP, 'cancelled', 143],
      [2, HOSTILE_GROUP, 'failed', 3]
    ])
    expect(list[2]!.reason).toMatch(/^`commands\[1\]` \(torchrun …\) exited with 3 \| see/)
    expect(list[2]!.reason).not.toMatch(/[\n\r]/)
    expect((list[2]!.reason as string).length).toBeLessThanOrEqual(200)
  })

  it('a node that never reported has status null; a cluster that never started gives []', () => {
    const r = multiNodeRun([{ rank: 0, machine: awsMachine(0), status: 'interrupted', reason: 'spot interruption' }, { rank: 1, machine: awsMachine(1) }], { status: 'interrupted' })
    expect(nodeStatusOutputs(r)).toEqual([
      { rank: 0, status: 'interrupted', instanceType: 'g5.12xlarge', zone: 'us-east-1a', instanceId: 'i-0node0', reason: 'spot interruption' },
      { rank: 1, status: null, instanceType: 'g5.12xlarge', zone: 'us-east-1a', instanceId: 'i-0node1' }
    ])
    const never = { ...multiNodeRun([]), spec: { ...baseSpec, nodes: 4 }, status: 'failed' as const, reason: 'no capacity for 4 × g5.12xlarge', attempts: [] }
    const o = runOutputs(never, [], ctx)
    expect(o.nodes).toBe('4')
    expect(o['node-statuses']).toBe('[]')
    expect(typedOutputs(o)['node-statuses']).toEqual([])
  })

  it('the GitLab dotenv carries both on one line each, parsed back unchanged', () => {
    const r = { ...failedGroupsRun(), reason: 'node 2 failed' }
    const o = runOutputs(r, [], ctx)
    const d = dotenvOutputs(o)
    expect(d.skipped).toEqual([])
    const env = parseDotenv(d.text)
    expect(env.DSTACK_NODES).toBe('3')
    expect(env.DSTACK_NODE_STATUSES).toBe(o['node-statuses'])
    expect(JSON.parse(env.DSTACK_NODE_STATUSES!)).toHaveLength(3)
    // the per-node list is the last line: the first to drop
    expect(d.text.trim().split('\n').pop()).toMatch(/^DSTACK_NODE_STATUSES=\[/)
  })

  it('with every output set, the per-node list drops before the artifacts at 20 variables, and says so', () => {
    const r = { ...failedGroupsRun(), reason: 'node 2 failed', tags: ['t'], provenance: { statementKey: `${REPO}/runs/wide-walrus-1/provenance.intoto.json` } as RunRecord['provenance'] }
    const o = runOutputs(r, [{ path: 'model/w.bin', size: 3, sha256: 'c'.repeat(64) }], { ...ctx, metrics: '{"loss":0.1}', storeUrl: (k) => `https://s3/${k}` })
    o['comment-url'] = 'https://github.com/acme/ml/pull/7#issuecomment-1'
    const d = dotenvOutputs(o)
    expect(d.skipped.map((s) => s.name)).toEqual(['node-statuses'])
    expect(parseDotenv(d.text)).toHaveProperty('DSTACK_ARTIFACTS')
    expect(parseDotenv(d.text).DSTACK_NODES).toBe('3')
  })
})

describe('failingNode and nodeLabel', () => {
  it('blames the failed node over the ones stopped because of it', () => {
    expect(failingNode(failedGroupsRun())?.rank).toBe(2)
  })
  it("the node the run's reason names wins (the orchestrator's deciding node), a failed one otherwise", () => {
    const nodes = [
      { rank: 0, status: 'interrupted' as const, reason: 'spot interruption' },
      { rank: 1, status: 'cancelled' as const },
      { rank: 2, status: 'failed' as const, exitCode: 1 }
    ]
    expect(failingNode(multiNodeRun(nodes, { status: 'interrupted', reason: 'node 0 interrupted: spot interruption' }))?.rank).toBe(0)
    expect(failingNode(multiNodeRun(nodes, { status: 'interrupted', reason: 'the cluster was interrupted' }))?.rank).toBe(2)
  })
  it('none for a succeeded or single-node run', () => {
    expect(failingNode(singleNode)).toBeUndefined()
    expect(failingNode(multiNodeRun([{ rank: 0, status: 'succeeded' }, { rank: 1, status: 'succeeded' }]))).toBeUndefined()
  })
  it('names the master and the group', () => {
    expect(nodeLabel({ rank: 0 })).toBe('node 0 (master)')
    expect(nodeLabel({ rank: 3 })).toBe('node 3')
    expect(nodeLabel({ rank: 1, group: 'workers' })).toBe('node 1 (group workers)')
    expect(nodeLabel({ rank: 0, group: 'head' })).toBe('node 0 (group head, master)')
  })
})

describe('failingStep of a multi-node run', () => {
  it("finds the command in the failing node's group, at its line", () => {
    expect(failingStep(failedGroupsRun())).toEqual({ kind: 'commands', index: 0, command: 'ray start --address=$DSTACK_MASTER_NODE_IP:6379', line: 14 })
  })
  it("without groups, the task's commands; the run's reason when the node's has no command", () => {
    const r = multiNodeRun([{ rank: 0, status: 'cancelled' }, { rank: 1, status: 'failed', exitCode: 2, reason: 'exited with 2' }], { status: 'failed', reason: 'node 1 failed: `commands[1]` (torchrun …) exited with 2' })
    expect(failingStep(r)).toEqual({ kind: 'commands', index: 0, command: 'torchrun --nnodes=$DSTACK_NODES_NUM train.py', line: 9 })
  })
})
