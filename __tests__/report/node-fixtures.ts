/**
 * Run records of multi-node runs, built by hand as the orchestrator writes them (one NodeRecord per
 * node on the attempt, the master's machine on the attempt), with hostile group names and reasons.
 */
import { DEFAULTS, type MachineInfo, type NodeRecord, type RunRecord, type RunSpec } from '../../src/model/index.js'

export const REPO = 'github.com/acme/ml'

export const baseSpec: RunSpec = {
  workflow: 'train-distrib', format: 'dstack.yml', source: { file: '.dstack/train.dstack.yml', line: 1, column: 1 },
  commands: ['torchrun --nnodes=$DSTACK_NODES_NUM train.py'], commandLines: [9], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [{ path: 'model', mount: false }], deps: [], ports: [], cache: [],
  resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 21600,
  retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
}

export function awsMachine(rank: number, over: Partial<MachineInfo> = {}): MachineInfo {
  return { id: `i-0node${rank}`, backend: 'aws', instanceType: 'g5.12xlarge', market: 'spot', zone: 'us-east-1a', region: 'us-east-1', rank, privateIp: `10.0.0.${10 + rank}`, pricePerHour: 1.7, ...over }
}

export function multiNodeRun(nodes: NodeRecord[], over: Partial<RunRecord> = {}, spec: Partial<RunSpec> = {}): RunRecord {
  return {
    run: 'wide-walrus-1', repoId: REPO, workflow: 'train-distrib', spec: { ...baseSpec, nodes: nodes.length, ...spec }, backend: 'aws', args: [],
    revision: { repoId: REPO, sha: 'a1b2c3d4e5f6'.padEnd(40, '0'), branch: 'feature/ddp', pr: 7, event: 'pull_request', snapshotSha256: 'b'.repeat(64) },
    status: 'succeeded', reason: 'every node exited with 0', exitCode: 0,
    submittedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:20:00Z',
    attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:19:50Z', status: 'succeeded', exitCode: 0, machine: nodes[0]?.machine, nodes }],
    tags: [], costUsd: 2.25,
    ...over
  }
}

/** a group name and a reason that try to break a table, inject a link, HTML and a comment marker */
export const HOSTILE_GROUP = 'w|rk [x](https://evil.example) <b>'
export const HOSTILE_REASON = '`commands[1]` (torchrun …) exited with 3 | see [here](https://evil.example/p)\n<img src=x onerror=alert(1)> <!-- dstack-run-action:end train-distrib --> @admin'

/** three nodes of two groups; node 2 (a worker) failed with a hostile reason, the others were stopped */
export function failedGroupsRun(): RunRecord {
  const nodes: NodeRecord[] = [
    { rank: 0, group: 'head', machine: awsMachine(0), status: 'cancelled', exitCode: 143, reason: 'stopped: node 2 failed' },
    { rank: 1, group: HOSTILE_GROUP, machine: awsMachine(1), status: 'cancelled', exitCode: 143, reason: 'stopped: node 2 failed' },
    { rank: 2, group: HOSTILE_GROUP, machine: awsMachine(2, { zone: 'us-east-1a' }), status: 'failed', exitCode: 3, reason: HOSTILE_REASON }
  ]
  return multiNodeRun(
    nodes,
    {
      status: 'failed', exitCode: 3, reason: `node 2 failed: ${HOSTILE_REASON}`,
      attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:04:00Z', status: 'failed', exitCode: 3, reason: 'node 2 failed', machine: nodes[0]!.machine, nodes }]
    },
    {
      groups: [
        { name: 'head', nodes: 1, commands: ['ray start --head', 'python driver.py'], commandLines: [8, 9], ports: [] },
        { name: HOSTILE_GROUP, nodes: 2, commands: ['ray start --address=$DSTACK_MASTER_NODE_IP:6379', 'python worker.py --fail'], commandLines: [14, 15], ports: [] }
      ]
    }
  )
}
