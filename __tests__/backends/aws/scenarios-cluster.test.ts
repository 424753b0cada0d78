/**
 * Multi-node attempts on AWS (issue 13): EC2 and SSM are doubles; a cluster is N simulated
 * instances, each with its own work root and a loopback private address (127.0.0.x), and the one
 * SendCommand runs the real bootstrap on every node, which maps the instance to its rank and starts
 * the real runner script with bash and the real aws CLI against s3rver. The nodes really meet over
 * TCP at the master's address. Each scenario ends by checking that nothing is left: no instance,
 * no placement group, no security group, no secret parameter. `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { createServer } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { RunInstancesCommand, CreatePlacementGroupCommand, CreateSecurityGroupCommand, DeleteSecurityGroupCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { GetCommandInvocationCommand, ListCommandInvocationsCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import type { AttemptHandle, ExecState, RunRecord, RunSpec } from '../../../src/model/index.js'
import { runWorkflow, type RunEvent } from '../../../src/orchestrate/index.js'
import { RunStore } from '../../../src/store/index.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { NoCapacityError, UserError } from '../../../src/model/index.js'
import { QuotaError } from '../../../src/backends/aws/index.js'
import { placementGroupName } from '../../../src/backends/aws/cluster-launch-input.js'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { attemptCost } from '../../../src/orchestrate/outcome.js'
import { startHarness, spec, until, WakingS3Store, PREFIX, REPO, RUN, type Harness } from './harness.js'
import { awsError } from './fake-cloud.js'

let h: Harness

beforeEach(async () => {
  h = await startHarness()
})

afterEach(async () => {
  await h.close()
})

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** rank 0 listens at the master's address until every other rank said hello; the others connect, retrying until it listens */
const MEET = [
  'import socket, sys, time',
  'master, port, n, rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]',
  'if rank == "0":',
  '    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((master, port)); s.listen(); s.settimeout(300)',
  '    got = []',
  '    for _ in range(n - 1):',
  '        c, _ = s.accept(); got.append(c.recv(64).decode().strip()); c.sendall(b"welcome"); c.close()',
  '    print("rendezvous at", master, "with", " ".join(sorted(got)))',
  'else:',
  '    for _ in range(1500):',
  '        try:',
  '            c = socket.create_connection((master, port), timeout=5); break',
  '        except OSError:',
  '            time.sleep(0.2)',
  '    else:',
  '        sys.exit("the master never listened")',
  '    c.sendall(("rank-" + rank).encode()); print("master says", c.recv(64).decode())'
].join('\n')

/**
 * the job of every node: say who it is, then meet at the master over TCP using only dstack's
 * variables, as the runner sets them from what the backend gave it
 */
function rendezvous(port: number, extra: string[] = []): string[] {
  return [
    'echo "node $DSTACK_NODE_RANK of $DSTACK_NODES_NUM, master $DSTACK_MASTER_NODE_IP, gpus $DSTACK_GPUS_PER_NODE of $DSTACK_GPUS_NUM"',
    `python3 -c '${MEET}' "$DSTACK_MASTER_NODE_IP" ${port} "$DSTACK_NODES_NUM" "$DSTACK_NODE_RANK"`,
    ...extra
  ]
}

/** the attempt's placement group in a zone */
const pg = (attempt: number, zone: string): string => placementGroupName(REPO, RUN, attempt, zone)

const node = (s: ExecState): string => (s.state === 'running' ? 'running' : s.interrupted ? 'interrupted' : `exit ${s.exitCode ?? '?'}`)

async function expectNothingLeft(): Promise<void> {
  await h.sim.idle()
  expect(h.cloud.leftovers()).toEqual([])
  expect([...h.cloud.parameters.keys()]).toEqual([])
}

function cluster(nodes: number, over: Partial<RunSpec> = {}): RunSpec {
  return spec({ nodes, artifacts: [], ...over })
}

async function watchNodes(handle: AttemptHandle): Promise<ExecState[]> {
  await h.watch(handle)
  return handle.pollNodes!()
}

describe('aws backend: multi-node scenarios', () => {
  it('cluster happy: 3 nodes in one launch, one zone and one placement group, reach each other at the master over TCP; released, nothing left', async () => {
    const port = await freePort()
    const s = cluster(3, { commands: [...rendezvous(port), 'echo "token has ${#HF_TOKEN} chars"', 'mkdir -p out && echo "from node $DSTACK_NODE_RANK" > out/r.txt'], artifacts: [{ path: 'out', mount: false }], secretEnv: { HF_TOKEN: '${{ secrets.HF_TOKEN }}' } })
    const req = await h.request(1, s, { secretEnv: { HF_TOKEN: "s3cr3t 'q' $v" } })
    const handle = await h.backend().start(req)

    // one all-or-nothing launch: MinCount = MaxCount = 3, in the attempt's placement group and zone
    const launches = h.cloud.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)
    expect(launches).toHaveLength(1)
    expect(launches[0]).toMatchObject({ MinCount: 3, MaxCount: 3, InstanceType: 'g5.xlarge', Placement: { AvailabilityZone: 'us-east-1a', GroupName: `${pg(1, 'us-east-1a')}` } })
    expect(h.cloud.ec2.commandCalls(CreatePlacementGroupCommand)[0]!.args[0].input).toMatchObject({ GroupName: `${pg(1, 'us-east-1a')}`, Strategy: 'cluster' })
    // the attempt's own security group: all traffic from and to itself, and every node in it
    const sg = [...h.cloud.createdSecurityGroups.values()][0]!
    expect(sg.ingress).toEqual([{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: sg.id, Description: 'dstack: the nodes of one run' }] }])
    expect(sg.egress).toContainEqual({ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: sg.id, Description: 'dstack: the nodes of one run' }] })
    expect(sg.tags).toMatchObject({ 'dstack:run': 'brave-otter-1', 'dstack:attempt': '1' })
    expect(launches[0]!.SecurityGroupIds).toEqual([sg.id])

    // every node, by rank, with its address, recorded as soon as it exists
    expect(handle.machines!.map((m) => [m.rank, m.privateIp, m.zone, m.instanceType])).toEqual([0, 1, 2].map((r) => [r, h.cloud.instances.get(handle.machines![r]!.id)!.privateIp, 'us-east-1a', 'g5.xlarge']))
    expect(req.machines.map((m) => m.rank)).toEqual([0, 1, 2])
    expect(handle.machine).toBe(handle.machines![0])

    // ONE command to all nodes
    const sends = h.cloud.ssm.commandCalls(SendCommandCommand)
    expect(sends).toHaveLength(1)
    expect(sends[0]!.args[0].input.InstanceIds).toEqual(handle.machines!.map((m) => m.id))
    expect(JSON.stringify(sends[0]!.args[0].input)).not.toContain('s3cr3t')

    // one poll of every node costs one ListCommandInvocations and one DescribeInstances
    const before = { list: h.cloud.ssm.commandCalls(ListCommandInvocationsCommand).length, get: h.cloud.ssm.commandCalls(GetCommandInvocationCommand).length, describe: h.cloud.ec2.commandCalls(DescribeInstancesCommand).length }
    expect((await handle.pollNodes!()).length).toBe(3)
    expect({ list: h.cloud.ssm.commandCalls(ListCommandInvocationsCommand).length - before.list, get: h.cloud.ssm.commandCalls(GetCommandInvocationCommand).length - before.get, describe: h.cloud.ec2.commandCalls(DescribeInstancesCommand).length - before.describe }).toEqual({ list: 1, get: 0, describe: 1 })

    // throttled polls (SSM, then EC2) change nothing: the nodes stay as last seen, nothing throws
    const seen = await handle.pollNodes!()
    h.cloud.pollErrors = [awsError('ThrottlingException', 'Rate exceeded'), awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)]
    expect(await handle.pollNodes!()).toEqual(seen)
    expect(await handle.pollNodes!()).toEqual(seen)
    expect(h.cloud.pollErrors).toEqual([])

    const nodes = await watchNodes(handle)
    expect(nodes.map(node)).toEqual(['exit 0', 'exit 0', 'exit 0'])
    expect(await handle.poll()).toEqual({ state: 'ended', exitCode: 0 })
    const ips = handle.machines!.map((m) => m.privateIp!)
    for (const m of handle.machines!) {
      const log = await h.logs(1, m.rank)
      expect(log).toContain(`node ${m.rank} of 3, master ${ips[0]}, gpus 1 of 3`)
      expect(log).toContain(`token has ${"s3cr3t 'q' $v".length} chars`)
      if (m.rank === 0) expect(log).toContain(`rendezvous at ${ips[0]} with rank-1 rank-2`)
      else expect(log).toContain('master says welcome')
    }
    // the store: each node's status and logs in its own folder; the artifacts are the master's
    for (const rank of [0, 1, 2]) {
      expect(await h.status(1, rank)).toMatchObject({ phase: 'done', status: 'succeeded', exitCode: 0 })
      expect(await h.logs(1, rank)).toContain(`node ${rank} of 3`)
    }
    expect(await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: `${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/r.txt` })).then((o) => o.Body!.transformToString())).toBe('from node 0\n')
    // each node read its own secret parameter
    expect(h.cloud.parameters.size).toBe(3)
    await handle.release()
    expect(h.cloud.deletedParameters.sort()).toEqual([0, 1, 2].map((r) => expect.stringMatching(new RegExp(`^/dstack/[0-9a-f]{12}/brave-otter-1/1/env-${r}$`))))
    await expectNothingLeft()
    await handle.release() // idempotent
  })

  it('cluster capacity: a zone that can give only part of the cluster leaves nothing running, and the next zone gets the whole cluster', async () => {
    h.cloud.capacity.set('g5.xlarge|us-east-1a', 2)
    const port = await freePort()
    const req = await h.request(1, cluster(3, { commands: rendezvous(port) }))
    const handle = await h.backend().start(req)
    expect(h.cloud.launches.map((l) => `${l.input.MinCount}×${l.input.InstanceType} ${l.input.Placement?.AvailabilityZone} ${l.input.Placement?.GroupName} ${l.result.startsWith('i-') ? 'ok' : l.result}`)).toEqual([
      `3×g5.xlarge us-east-1a ${pg(1, 'us-east-1a')} InsufficientInstanceCapacity`,
      `3×g5.xlarge us-east-1b ${pg(1, 'us-east-1b')} ok`
    ])
    expect(req.lines.join('\n')).toMatch(/3 × g5\.xlarge spot in us-east-1a at \$[\d.]+\/h: InsufficientInstanceCapacity/)
    expect(handle.machines!.every((m) => m.zone === 'us-east-1b')).toBe(true)
    expect((await watchNodes(handle)).map(node)).toEqual(['exit 0', 'exit 0', 'exit 0'])
    expect(await h.logs(1, 0)).toContain('with rank-1 rank-2')
    await handle.release()
    // both zones' placement groups are deleted
    expect([...h.cloud.placementGroups.values()].map((g) => `${g.name} ${g.deleted ? 'deleted' : 'kept'}`)).toEqual([`${pg(1, 'us-east-1a')} deleted`, `${pg(1, 'us-east-1b')} deleted`])
    await expectNothingLeft()
  })

  it('cluster capacity with groups: the head group launched, the workers could not; the head is terminated at once and the next zone is tried', async () => {
    h.cloud.capacity.set('g5.2xlarge|us-east-1a', 1)
    const port = await freePort()
    const s = cluster(3, {
      commands: [],
      instanceTypes: ['g5.xlarge', 'g5.2xlarge'],
      groups: [
        { name: 'head', nodes: 1, commands: rendezvous(port), ports: [], resources: { gpu: { names: ['A10G'], count: { min: 1 } }, cpu: { min: 2, max: 4 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } } },
        { name: 'workers', nodes: 2, commands: rendezvous(port), ports: [], resources: { gpu: { names: ['A10G'], count: { min: 1 } }, cpu: { min: 8 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } } }
      ]
    })
    s.commands = rendezvous(port)
    const req = await h.request(1, s)
    const handle = await h.backend().start(req)
    const tried = h.cloud.launches.map((l) => `${l.input.MinCount}×${l.input.InstanceType} ${l.input.Placement?.AvailabilityZone} ${l.result.startsWith('i-') ? 'ok' : l.result}`)
    expect(tried).toEqual(['1×g5.xlarge us-east-1a ok', '2×g5.2xlarge us-east-1a InsufficientInstanceCapacity', '1×g5.xlarge us-east-1b ok', '2×g5.2xlarge us-east-1b ok'])
    const headA = h.cloud.launches[0]!.result
    expect(h.cloud.instances.get(headA)!.state).toBe('terminated')
    expect(req.lines.join('\n')).toContain('terminating the 1 node(s) already launched for this cluster: it is all or nothing')
    expect(handle.machines!.map((m) => `${m.rank} ${m.instanceType} ${m.zone}`)).toEqual(['0 g5.xlarge us-east-1b', '1 g5.2xlarge us-east-1b', '2 g5.2xlarge us-east-1b'])
    // each group's instances carry their group's name
    expect(h.cloud.instances.get(handle.machines![2]!.id)!.tags['dstack:node-group']).toBe('workers')
    expect((await watchNodes(handle)).map(node)).toEqual(['exit 0', 'exit 0', 'exit 0'])
    await handle.release()
    await expectNothingLeft()
  })

  it('cluster capacity: a node reclaimed before it came Online takes the whole cluster down, and the next candidate gets a new one', async () => {
    let first = true
    h.cloud.reclaimBeforeOnline = () => {
      const r = first
      first = false
      return r
    }
    const req = await h.request(1, cluster(2, { commands: ['echo "node $DSTACK_NODE_RANK"'] }))
    const handle = await h.backend().start(req)
    expect(req.lines.join('\n')).toMatch(/node 0 \(i-\w+\) went terminated \(Server\.SpotInstanceTermination\) before it came Online: terminating the cluster and trying the next candidate/)
    // both nodes of the first cluster were recorded, then terminated; the second cluster is whole
    expect(req.machines.map((m) => m.rank)).toEqual([0, 1, 0, 1])
    expect(req.machines.slice(0, 2).map((m) => h.cloud.instances.get(m.id)!.state)).toEqual(['terminated', 'terminated'])
    expect(handle.machines!.map((m) => m.zone)).toEqual(['us-east-1b', 'us-east-1b'])
    expect((await watchNodes(handle)).map(node)).toEqual(['exit 0', 'exit 0'])
    await handle.release()
    await expectNothingLeft()
  })

  it('cluster never Online: one node that never registers with SSM fails the start naming the causes; the whole cluster is terminated', async () => {
    h.cloud.nextOnlineAfter = Infinity
    const req = await h.request(1, cluster(2))
    const err = (await h.backend({ ssmTimeoutSec: 300 }).start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/did not come Online in SSM within 300 s .*the whole cluster was terminated/)
    expect(h.cloud.ssm.commandCalls(SendCommandCommand)).toHaveLength(0)
    await expectNothingLeft()
  })

  it('cluster efa all without subnets: refused before anything is created (several interfaces get no public address)', async () => {
    const err = (await h.backend({ efa: 'all' }).start(await h.request(1, cluster(2))).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/efa: all .* needs private subnets/)
    expect(err.hint).toMatch(/subnet-ids/)
    expect(h.cloud.launches).toHaveLength(0)
    await expectNothingLeft()
  })

  it('cluster capacity everywhere: a NoCapacityError names every cluster tried, and nothing is left', async () => {
    for (const t of ['g5.xlarge', 'g5.2xlarge']) for (const z of ['us-east-1a', 'us-east-1b']) h.cloud.capacity.set(`${t}|${z}`, 1)
    const req = await h.request(1, cluster(2, { instanceTypes: ['g5.xlarge', 'g5.2xlarge'], spotPolicy: 'spot' }))
    const err = (await h.backend().start(req).catch((e: unknown) => e)) as NoCapacityError
    expect(err).toBeInstanceOf(NoCapacityError)
    expect(err.message).toMatch(/could not launch any of 4 candidate\(s\)/)
    expect(err.message).toMatch(/2 × g5\.2xlarge spot in us-east-1b at .*: InsufficientInstanceCapacity/)
    expect(h.cloud.launches).toHaveLength(4)
    await expectNothingLeft()
  })

  it('cluster quota: preflight counts every node (3 × 4 vCPUs do not fit a quota of 8)', async () => {
    h.cloud.quotaValues.set('L-3819A6DF', 8)
    h.cloud.quotaValues.set('L-DB2E81BA', 8)
    const req = await h.request(1, cluster(3, { instanceTypes: ['g5.xlarge'] }))
    const err = (await h.backend().start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(QuotaError)
    expect(err.message).toMatch(/is 8 vCPUs; the smallest matching cluster needs 12 \(3 nodes\)/)
    expect(h.cloud.launches).toHaveLength(0)
    // `check` says the same, without launching anything
    const rows = await h.backend().check({ spec: cluster(3, { instanceTypes: ['g5.xlarge'] }) })
    expect(rows.find((r) => r.check === 'candidates')).toMatchObject({ status: 'fail', detail: 'none of 4 clusters of 3 nodes fits the vCPU quotas (every node counts)' })
    await expectNothingLeft()
  })

  it('cluster interrupt: one node reclaimed ends the attempt as interrupted; everything is released, and the retry starts a whole new cluster', async () => {
    const port = await freePort()
    const s = cluster(2, { commands: ['echo "node $DSTACK_NODE_RANK up"', 'if [ "$DSTACK_ATTEMPT" = 1 ]; then sleep 120; fi', ...rendezvous(port)] })
    const backend = h.backend()
    const req1 = await h.request(1, s)
    const h1 = await backend.start(req1)
    for (const m of h1.machines!) await until(async () => (await h.logs(1, m.rank)).includes(`node ${m.rank} up`))
    h.cloud.reclaim(h1.machines![1]!.id)
    const e1 = await h.watch(h1)
    expect(e1).toMatchObject({ state: 'ended', interrupted: true, reclaimed: true, reason: expect.stringContaining('node 1: spot instance reclaimed') })
    expect((await h1.pollNodes!()).map(node)).toEqual(['running', 'interrupted'])
    // the orchestrator's part: stop every node, then release the cluster
    await h1.cancel('node 1 was reclaimed')
    await h1.release()
    expect(h.cloud.leftovers()).toEqual([])

    const req2 = await h.request(2, s, { previousAttempts: [{ n: 1, startedAt: new Date().toISOString(), status: 'interrupted', machine: h1.machine }] })
    const h2 = await backend.start(req2)
    expect(req2.lines.join('\n')).toMatch(/attempt 1 was interrupted .*on-demand first/)
    expect(h2.machines!.map((m) => m.market)).toEqual(['on-demand', 'on-demand'])
    expect(h2.machines!.some((m) => h1.machines!.some((o) => o.id === m.id))).toBe(false)
    expect(h.cloud.launches.at(-1)!.input.Placement?.GroupName).toBe(`${pg(2, 'us-east-1a')}`)
    expect((await watchNodes(h2)).map(node)).toEqual(['exit 0', 'exit 0'])
    expect(await h.logs(2, 0)).toContain('with rank-1')
    await h2.release()
    await expectNothingLeft()
  })

  it('cluster cancel: SIGTERM to one node, then to all, through one small command each; every runner stops and saves', async () => {
    const s = cluster(2, { commands: ['echo "node $DSTACK_NODE_RANK up"', 'sleep 120'] })
    const req = await h.request(1, s)
    const handle = await h.backend().start(req)
    const [m0, m1] = handle.machines!
    for (const m of handle.machines!) await until(async () => (await h.logs(1, m.rank)).includes(`node ${m.rank} up`))
    await handle.cancel('the master is done', [1])
    const stop1 = h.cloud.ssm.commandCalls(SendCommandCommand).at(-1)!.args[0].input
    expect(stop1.InstanceIds).toEqual([m1!.id])
    expect(stop1.Parameters!.commands!.join('\n')).toContain('kill -TERM')
    await until(async () => (await handle.pollNodes!())[1]!.state === 'ended')
    expect((await handle.pollNodes!()).map(node)).toEqual(['running', 'exit 143'])
    expect(await handle.poll()).toEqual({ state: 'running' })
    await handle.cancel('cancelled by the CI job')
    // node 1 already ended: only node 0 is told
    expect(h.cloud.ssm.commandCalls(SendCommandCommand).at(-1)!.args[0].input.InstanceIds).toEqual([m0!.id])
    const nodes = await watchNodes(handle)
    expect(nodes.map(node)).toEqual(['exit 143', 'exit 143'])
    await handle.release()
    await expectNothingLeft()
  })

  it('cluster cancel in the post step: each recorded node is released in turn; the last one also deletes the attempt\'s groups and secrets', async () => {
    const s = cluster(2, { commands: ['sleep 120'], secretEnv: { T: '${{ secrets.T }}' } })
    const req = await h.request(1, s, { secretEnv: { T: 'x' } })
    const handle = await h.backend().start(req)
    expect(h.cloud.leftovers()).toHaveLength(4) // 2 instances, a placement group, a security group
    // the main step died: the post step has what onMachine recorded, and releases node after node
    await h.backend().releaseMachine(req.machines[0]!)
    expect(h.cloud.leftovers()).toEqual([`${req.machines[1]!.id} running`, `placement group ${pg(1, 'us-east-1a')}`, `security group ${[...h.cloud.createdSecurityGroups.keys()][0]}`])
    await h.backend().releaseMachine(req.machines[1]!)
    await expectNothingLeft()
    expect(handle.machines).toHaveLength(2)
  })

  it('cluster cleanup: a CI job killed before it released its cluster; cleanup mode terminates the nodes and deletes the groups once expired', async () => {
    const req = await h.request(1, cluster(2, { commands: ['sleep 120'] }))
    await h.backend().start(req)
    const early = await h.backend().cleanupExpired({ now: h.clock.now() })
    expect(early).toEqual({ terminated: [], deletedSecrets: [], deletedGroups: [] })
    const later = h.clock.now() + (3600 + 900) * 1000 + 1
    const dry = await h.backend().cleanupExpired({ now: later, dryRun: true })
    expect(dry.deletedGroups).toHaveLength(2)
    expect(h.cloud.leftovers()).toHaveLength(4)
    const res = await h.backend().cleanupExpired({ now: later })
    expect(res.terminated.sort()).toEqual(req.machines.map((m) => m.id).sort())
    expect(res.deletedGroups.sort()).toEqual([`placement group ${pg(1, 'us-east-1a')}`, `security group ${[...h.cloud.createdSecurityGroups.keys()][0]}`])
    await expectNothingLeft()
  })

  it('cluster with a named security group: none is created, every node is in it, and release leaves it alone', async () => {
    h.cloud.securityGroups.add('sg-0c1a55e5')
    const req = await h.request(1, cluster(2, { commands: ['echo "node $DSTACK_NODE_RANK"'] }))
    const handle = await h.backend({ clusterSecurityGroupId: 'sg-0c1a55e5' }).start(req)
    expect(h.cloud.ec2.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0)
    expect(h.cloud.launches[0]!.input.SecurityGroupIds).toEqual(['sg-0c1a55e5'])
    expect(h.cloud.instances.get(handle.machine.id)!.tags['dstack:security-group']).toBeUndefined()
    expect((await watchNodes(handle)).map(node)).toEqual(['exit 0', 'exit 0'])
    await handle.release()
    expect(h.cloud.ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(0)
    await expectNothingLeft()
    // preflight checks that it exists in the region
    h.cloud.securityGroups.delete('sg-0c1a55e5')
    const err = (await h.backend({ clusterSecurityGroupId: 'sg-0c1a55e5' }).start(await h.request(2, cluster(2))).catch((e: unknown) => e)) as Error
    expect(err.message).toMatch(/security groups in us-east-1: InvalidGroup.NotFound/)
  })

  it('cluster efa: EFA-capable types get an EFA interface carrying the subnet and the cluster security group, made in the subnet\'s VPC', async () => {
    h.cloud.quotaValues.set('L-3819A6DF', 96) // 2 × 48 vCPUs
    const req = await h.request(1, cluster(2, { commands: ['echo "gpus $DSTACK_GPUS_PER_NODE of $DSTACK_GPUS_NUM"'], instanceTypes: ['g5.12xlarge'], resources: { gpu: { names: ['A10G'], count: { min: 4 } }, cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } } }))
    const handle = await h.backend({ subnetIds: ['subnet-0aaa1'] }).start(req)
    const input = h.cloud.launches[0]!.input
    const sg = [...h.cloud.createdSecurityGroups.values()][0]!
    expect(sg.vpcId).toBe('vpc-0subnets')
    expect(input.NetworkInterfaces).toEqual([{ DeviceIndex: 0, NetworkCardIndex: 0, InterfaceType: 'efa', SubnetId: 'subnet-0aaa1', Groups: [sg.id], DeleteOnTermination: true }])
    expect(input.SubnetId).toBeUndefined()
    expect(input.SecurityGroupIds).toBeUndefined()
    expect(req.lines.join('\n')).toContain('with 1 EFA interface each')
    expect((await watchNodes(handle)).map(node)).toEqual(['exit 0', 'exit 0'])
    // the GPU count of the type, from the catalogue
    expect(await h.logs(1, 1)).toContain('gpus 4 of 8')
    await handle.release()
    await expectNothingLeft()
    expect(h.cloud.ec2.commandCalls(CreateSecurityGroupCommand)).toHaveLength(1)
  })
})

/** the rendezvous of MEET as a file of the repository, for workflows run through the orchestrator */
const MEET_PY = MEET + '\n'

function task(port: number, body: string[]): string {
  return [
    'type: task',
    'name: train',
    'nodes: 2',
    'commands:',
    ...body.map((c) => `  - ${JSON.stringify(c)}`),
    `  - python3 meet.py "$DSTACK_MASTER_NODE_IP" ${port} "$DSTACK_NODES_NUM" "$DSTACK_NODE_RANK"`,
    'resources:',
    '  gpu: A10G',
    'spot_policy: auto',
    'regions: [us-east-1]',
    ''
  ].join('\n')
}

describe('aws backend: multi-node scenarios through the orchestrator', () => {
  let repo: { dir: string; cleanup: () => void } | undefined

  afterEach(() => repo?.cleanup())

  async function run(taskText: string, o: { signal?: AbortSignal } = {}): Promise<{ rec: RunRecord; events: RunEvent[] }> {
    repo = makeRepo({ '.dstack/train.dstack.yml': taskText, 'meet.py': MEET_PY })
    const objects = new WakingS3Store(h.s3)
    const events: RunEvent[] = []
    const rec = await runWorkflow({
      repoDir: repo.dir,
      workflow: 'train',
      args: [],
      environ: {},
      backend: h.backend(),
      store: new RunStore(objects),
      storeLocation: objects.location,
      signal: o.signal ?? new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 200,
      pace: { slowMs: 1000 },
      cancelGraceMs: 60_000
    })
    return { rec, events }
  }

  const logText = (events: RunEvent[], attempt: number): string =>
    events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log' && e.attempt === attempt).map((e) => e.text).join('')

  it('cluster happy through the orchestrator: 2 nodes meet at the master; a record and a prefixed log per node; nothing left', async () => {
    const port = await freePort()
    const { rec, events } = await run(task(port, ['echo "node $DSTACK_NODE_RANK of $DSTACK_NODES_NUM"']))
    expect(rec.status).toBe('succeeded')
    const a = rec.attempts[0]!
    expect(a.nodes!.map((n) => [n.rank, n.status, n.machine?.rank, n.machine?.zone])).toEqual([[0, 'succeeded', 0, 'us-east-1a'], [1, 'succeeded', 1, 'us-east-1a']])
    expect(a.nodes![1]!.machine!.privateIp).toMatch(/^127\.0\.0\.\d+$/)
    const log = logText(events, 1)
    expect(log).toContain(`[node 0] rendezvous at ${a.nodes![0]!.machine!.privateIp} with rank-1`)
    expect(log).toContain('[node 1] master says welcome')
    expect(h.cloud.launches).toHaveLength(1)
    await expectNothingLeft()
  }, 120_000)

  it('cluster interrupt through the orchestrator: one node reclaimed, the other stopped, the cluster released, and the retry runs on a whole new cluster', async () => {
    const port = await freePort()
    const text = task(port, ['echo "node $DSTACK_NODE_RANK up"', 'if [ "$DSTACK_ATTEMPT" = 1 ]; then sleep 120; fi'])
    let done = false
    const reclaimer = (async () => {
      await until(() => done || (h.cloud.instances.size >= 2 && [...h.cloud.instances.values()].slice(0, 2).every((i, rank) => h.jobLog(i.id, 1).includes(`node ${rank} up`))), 60_000)
      if (!done) h.cloud.reclaim([...h.cloud.instances.values()][1]!.id)
    })()
    const { rec, events } = await run(text).finally(() => (done = true))
    await reclaimer
    expect(rec.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded'])
    expect(rec.status).toBe('succeeded')
    const [a1, a2] = rec.attempts
    expect(a1!.nodes!.map((n) => n.status)).toEqual(['cancelled', 'interrupted'])
    // the reclaimed node's hours are free (EC2 took it back in its first hour), not its volume and
    // address; the master we stopped is billed; both from their launch
    const master = a1!.nodes![0]!.machine!
    const other = a1!.nodes![1]!.machine!
    const extras = (m: typeof master) => ({ volumeGiB: m.volumeGiB, publicIpv4: m.publicIpv4 })
    const sum = attemptCost(master.pricePerHour!, master.launchedAt!, a1!.endedAt!, 'interrupted', false, extras(master)) + attemptCost(other.pricePerHour!, other.launchedAt!, a1!.endedAt!, 'interrupted', true, extras(other))
    expect(a1!.costUsd).toBe(Math.round(sum * 10000) / 10000)
    expect(a1!.costUsd).toBeGreaterThan(0)
    // a whole new cluster: other instances, on-demand first after the interruption
    const ids1 = a1!.nodes!.map((n) => n.machine!.id)
    expect(a2!.nodes!.every((n) => !ids1.includes(n.machine!.id) && n.machine!.market === 'on-demand')).toBe(true)
    expect(logText(events, 2)).toContain('[node 1] master says welcome')
    expect(h.cloud.instances.size).toBe(4)
    await expectNothingLeft()
  }, 180_000)

  it('cluster cancel by dstack\'s rule through the orchestrator: a failing worker fails the run and the master is stopped through its own stop command', async () => {
    const port = await freePort()
    // the worker gives up once the master's job runs, however slow the machine: a master stopped
    // while still starting has no job, so no exit code (143) to report
    const go = join(h.root, 'worker-go')
    const text = task(port, ['echo "node $DSTACK_NODE_RANK up"', `if [ "$DSTACK_NODE_RANK" = 1 ]; then while [ ! -e '${go}' ]; do sleep 0.1; done; echo "worker gives up"; exit 3; fi`, 'sleep 120'])
    let ran = false
    const starter = until(() => ran || [...h.cloud.instances.values()].some((i) => h.jobLog(i.id, 1).includes('node 0 up')), 60_000).then(() => writeFileSync(go, ''))
    const { rec, events } = await run(text).finally(() => (ran = true))
    await starter
    expect(rec.status).toBe('failed')
    expect(rec.attempts).toHaveLength(1)
    expect(rec.attempts[0]!.nodes!.map((n) => [n.rank, n.status, n.exitCode])).toEqual([[0, 'cancelled', 143], [1, 'failed', 3]])
    // the stop command went to the master only
    const stops = h.cloud.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input).filter((i) => i.Parameters!.commands!.join('\n').includes('kill -TERM'))
    expect(stops.map((i) => i.InstanceIds)).toEqual([[rec.attempts[0]!.nodes![0]!.machine!.id]])
    expect(logText(events, 1)).toContain('[node 1] worker gives up')
    await expectNothingLeft()
  }, 120_000)

  it('cluster cancel through the orchestrator: the CI job is cancelled; every node stops and saves, and nothing is left', async () => {
    const port = await freePort()
    const ac = new AbortController()
    const text = task(port, ['echo "node $DSTACK_NODE_RANK up"', 'sleep 120'])
    const canceller = (async () => {
      await until(() => ac.signal.aborted || (h.cloud.instances.size >= 2 && [...h.cloud.instances.values()].every((i, rank) => h.jobLog(i.id, 1).includes(`node ${rank} up`))), 60_000)
      ac.abort()
    })()
    const { rec } = await run(text, { signal: ac.signal })
    await canceller
    expect(rec.status).toBe('cancelled')
    expect(rec.attempts[0]!.nodes!.map((n) => n.status)).toEqual(['cancelled', 'cancelled'])
    await expectNothingLeft()
  }, 120_000)
})
