/**
 * Multi-node attempts on AWS, the pure parts: node groups and ranks, cluster candidates, the
 * RunInstances input of a node group (MinCount = MaxCount, placement group, zone, EFA interfaces,
 * security groups), the bootstrap's rank map (run by bash), the attempt's state from its nodes',
 * and the quota a cluster needs.
 */
import { describe, it, expect } from '@jest/globals'
import { spawn } from 'node:child_process'
import type { Candidate } from '../../../src/backends/aws/index.js'
import { renderBootstrap, resolveOptions } from '../../../src/backends/aws/index.js'
import { clusterBootstrapLines } from '../../../src/backends/aws/bootstrap.js'
import { clusterCandidates, describeCluster, nodeGroups } from '../../../src/backends/aws/cluster-plan.js'
import { clusterRunInstancesInput, efaInterfaceCount, placementGroupName, securityGroupName, CLUSTER_TAG } from '../../../src/backends/aws/cluster-launch-input.js'
import { clusterState } from '../../../src/backends/aws/cluster-handle.js'
import { clusterQuotaNeeds } from '../../../src/backends/aws/preflight.js'
import { attemptFilters } from '../../../src/backends/aws/cluster-release.js'
import { clusterNetworkError } from '../../../src/backends/aws/cluster-network.js'
import { awsError } from './fake-cloud.js'
import { toTypeInfo } from '../../../src/backends/aws/instance-types.js'
import { staleSecrets } from '../../../src/backends/aws/cleanup.js'
import type { LaunchContext } from '../../../src/backends/aws/launch-input.js'
import { UserError, type Resources } from '../../../src/model/index.js'
import { CATALOGUE } from './fake-cloud.js'

const RES: Resources = { cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } }
const cand = (over: Partial<Candidate> = {}): Candidate => ({ region: 'us-east-1', instanceType: 'g5.xlarge', zone: 'us-east-1a', market: 'spot', pricePerHour: 0.4, priceSource: 'x', vcpus: 4, gpuCount: 1, ...over })
const ctx: LaunchContext = {
  runName: 'brave-otter-1',
  repoId: 'github.com/acme/models',
  attempt: 2,
  ami: { imageId: 'ami-0123456789abcdef0', rootDeviceName: '/dev/sda1', rootSnapshotGiB: 75, source: 'x', architecture: 'x86_64' } as LaunchContext['ami'],
  diskMiB: 200 * 1024,
  maxDurationSec: 3600,
  marginSec: 900,
  instanceProfile: 'dstack-runner',
  securityGroupIds: ['sg-0user'],
  tags: { team: 'ml' },
  now: Date.parse('2026-11-26T12:00:00Z')
}

function bash(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    c.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('node groups', () => {
  it('one group of N nodes without groups; with groups, ranks follow the groups in order and a group may have its own resources', () => {
    expect(nodeGroups({ nodes: 3, resources: RES })).toEqual([{ nodes: 3, resources: RES, firstRank: 0 }])
    const gpu: Resources = { ...RES, gpu: { names: ['A10G'], count: { min: 4 } } }
    const g = nodeGroups({ nodes: 3, resources: RES, groups: [{ name: 'head', nodes: 1, commands: [], ports: [] }, { name: 'workers', nodes: 2, commands: [], ports: [], resources: gpu }] })
    expect(g).toEqual([{ name: 'head', nodes: 1, resources: RES, firstRank: 0 }, { name: 'workers', nodes: 2, resources: gpu, firstRank: 1 }])
    expect(() => nodeGroups({ nodes: 4, resources: RES, groups: [{ name: 'a', nodes: 1, commands: [], ports: [] }] })).toThrow(/add up to 1 nodes, but the task has nodes: 4/)
  })
})

describe('cluster candidates', () => {
  it('N nodes of one type per location, priced for the whole cluster, spot before on-demand (on-demand first after an interruption)', () => {
    const groups = nodeGroups({ nodes: 4, resources: RES })
    const list = [cand({ instanceType: 'g5.12xlarge', pricePerHour: 2, vcpus: 48, gpuCount: 4 }), cand({ zone: 'us-east-1b', pricePerHour: 0.5 }), cand({ market: 'on-demand', pricePerHour: 1.006 }), cand({ pricePerHour: 0.4 })]
    const c = clusterCandidates(groups, [list], { preferOnDemand: false })
    expect(c.map(describeCluster)).toEqual([
      '4 × g5.xlarge spot in us-east-1a at $1.6000/h',
      '4 × g5.xlarge spot in us-east-1b at $2.0000/h',
      '4 × g5.12xlarge spot in us-east-1a at $8.0000/h',
      '4 × g5.xlarge on-demand in us-east-1a at $4.0240/h'
    ])
    expect(c[2]).toMatchObject({ vcpus: 192, nodes: 4 })
    expect(clusterCandidates(groups, [list], { preferOnDemand: true })[0]!.market).toBe('on-demand')
  })

  it('groups: only locations where every group has a type, in the same market; one type per group', () => {
    const groups = nodeGroups({ nodes: 3, resources: RES, groups: [{ name: 'head', nodes: 1, commands: [], ports: [] }, { name: 'workers', nodes: 2, commands: [], ports: [] }] })
    const head = [cand({ instanceType: 'm5.xlarge', pricePerHour: 0.1, gpuCount: 0 }), cand({ instanceType: 'm5.xlarge', zone: 'us-east-1b', pricePerHour: 0.1, gpuCount: 0 })]
    const workers = [cand({ instanceType: 'g5.12xlarge', pricePerHour: 2, vcpus: 48 }), cand({ instanceType: 'g5.12xlarge', market: 'on-demand', pricePerHour: 5.672, vcpus: 48 })]
    const c = clusterCandidates(groups, [head, workers], { preferOnDemand: false })
    expect(c.map(describeCluster)).toEqual(['head: 1 × m5.xlarge + workers: 2 × g5.12xlarge spot in us-east-1a at $4.1000/h'])
    expect(c[0]!.members.map((m) => m.group.firstRank)).toEqual([0, 1])
    expect(c[0]!.vcpus).toBe(4 + 96)
  })

  it('an unknown price ranks last and leaves the cluster price unknown', () => {
    const c = clusterCandidates(nodeGroups({ nodes: 2, resources: RES }), [[cand({ pricePerHour: undefined, zone: 'us-east-1b' }), cand()]], { preferOnDemand: false })
    expect(c.map((x) => x.pricePerHour)).toEqual([0.8, undefined])
  })
})

describe('the RunInstances input of a node group', () => {
  const net = { placementGroup: 'dstack-brave-otter-1-2-us-east-1a', securityGroupIds: ['sg-0user', 'sg-0cluster'], createdSecurityGroup: 'sg-0cluster', efa: 'auto' as const }

  it('MinCount = MaxCount = the group, in the placement group and zone, with the cluster security group (no EFA on a type without it)', () => {
    const input = clusterRunInstancesInput(ctx, { candidate: cand({ subnetId: 'subnet-0a' }), count: 3, groupIndex: 0, nodes: 3 }, net)
    expect(input).toMatchObject({ MinCount: 3, MaxCount: 3, InstanceType: 'g5.xlarge', Placement: { AvailabilityZone: 'us-east-1a', GroupName: net.placementGroup }, SubnetId: 'subnet-0a', SecurityGroupIds: ['sg-0user', 'sg-0cluster'], InstanceInitiatedShutdownBehavior: 'terminate' })
    expect(input.NetworkInterfaces).toBeUndefined()
    const tags = Object.fromEntries(input.TagSpecifications![0]!.Tags!.map((t) => [t.Key, t.Value]))
    expect(tags).toMatchObject({ 'dstack:run': 'brave-otter-1', 'dstack:attempt': '2', team: 'ml', [CLUSTER_TAG.nodes]: '3', [CLUSTER_TAG.placementGroup]: net.placementGroup, [CLUSTER_TAG.securityGroup]: 'sg-0cluster' })
  })

  it('EFA-capable type, efa auto: one EFA interface carrying the subnet and security groups (none at the top level)', () => {
    const input = clusterRunInstancesInput(ctx, { candidate: cand({ instanceType: 'g5.12xlarge', subnetId: 'subnet-0a', efaInterfaces: 1 }), count: 2, groupIndex: 0, nodes: 2 }, net)
    expect(input.NetworkInterfaces).toEqual([{ DeviceIndex: 0, NetworkCardIndex: 0, InterfaceType: 'efa', SubnetId: 'subnet-0a', Groups: ['sg-0user', 'sg-0cluster'], DeleteOnTermination: true }])
    expect(input.SubnetId).toBeUndefined()
    expect(input.SecurityGroupIds).toBeUndefined()
    // without subnets the interface has none either: EC2 uses the zone's default subnet
    const noSubnet = clusterRunInstancesInput(ctx, { candidate: cand({ instanceType: 'g5.12xlarge', efaInterfaces: 1 }), count: 2, groupIndex: 0, nodes: 2 }, net)
    expect(noSubnet.NetworkInterfaces![0]).not.toHaveProperty('SubnetId')
  })

  it('efa all: one interface per network card (card 0 efa, the others efa-only); efa off: none', () => {
    const p4d = cand({ instanceType: 'p4d.24xlarge', subnetId: 'subnet-0a', efaInterfaces: 4, vcpus: 96, gpuCount: 8 })
    const all = clusterRunInstancesInput(ctx, { candidate: p4d, count: 2, groupIndex: 0, nodes: 2 }, { ...net, efa: 'all' })
    expect(all.NetworkInterfaces!.map((n) => `${n.NetworkCardIndex}/${n.DeviceIndex}/${n.InterfaceType}`)).toEqual(['0/0/efa', '1/0/efa-only', '2/0/efa-only', '3/0/efa-only'])
    expect(efaInterfaceCount('auto', p4d)).toBe(1)
    expect(efaInterfaceCount('off', p4d)).toBe(0)
    expect(clusterRunInstancesInput(ctx, { candidate: p4d, count: 2, groupIndex: 0, nodes: 2 }, { ...net, efa: 'off' }).NetworkInterfaces).toBeUndefined()
  })

  it('one ClientToken per (attempt, group, slot, placement group): a retried call cannot launch a group twice', () => {
    const a = clusterRunInstancesInput(ctx, { candidate: cand(), count: 2, groupIndex: 0, nodes: 3 }, net)
    expect(clusterRunInstancesInput(ctx, { candidate: cand(), count: 2, groupIndex: 0, nodes: 3 }, net).ClientToken).toBe(a.ClientToken)
    expect(clusterRunInstancesInput(ctx, { candidate: cand(), count: 2, groupIndex: 1, nodes: 3 }, net).ClientToken).not.toBe(a.ClientToken)
    expect(clusterRunInstancesInput({ ...ctx, attempt: 3 }, { candidate: cand(), count: 2, groupIndex: 0, nodes: 3 }, net).ClientToken).not.toBe(a.ClientToken)
    expect(a.ClientToken!.length).toBeLessThanOrEqual(64)
  })

  it('placement and security group names: one per attempt and zone (or VPC), distinct across repositories with runs of the same name', () => {
    expect(placementGroupName('github.com/a/x', 'brave-otter-1', 2, 'us-east-1a')).toMatch(/^dstack-brave-otter-1-2-us-east-1a-[0-9a-f]{8}$/)
    expect(placementGroupName('github.com/a/x', 'brave-otter-1', 2, 'us-east-1a')).not.toBe(placementGroupName('github.com/b/y', 'brave-otter-1', 2, 'us-east-1a'))
    expect(placementGroupName('github.com/a/x', 'brave-otter-1', 2, 'us-east-1a')).not.toBe(placementGroupName('github.com/a/x', 'brave-otter-1', 3, 'us-east-1a'))
    expect(securityGroupName('github.com/a/x', 'brave-otter-1', 2, 'us-east-1', 'vpc-1')).not.toBe(securityGroupName('github.com/b/y', 'brave-otter-1', 2, 'us-east-1', 'vpc-1'))
    expect(securityGroupName('github.com/a/x', 'brave-otter-1', 2, 'us-east-1', undefined)).toMatch(/^dstack-brave-otter-1-2-[0-9a-f]{8}$/)
  })

  it('the catalogue says which types have EFA and how many interfaces', () => {
    const info = (t: string) => toTypeInfo(CATALOGUE.find((x) => x.InstanceType === t)!)!
    expect(info('g5.xlarge').efaInterfaces).toBeUndefined()
    expect(info('g5.12xlarge').efaInterfaces).toBe(1)
    expect(info('p4d.24xlarge').efaInterfaces).toBe(4)
    expect(info('p5.48xlarge').efaInterfaces).toBe(32)
  })
})

describe('the bootstrap of a cluster', () => {
  const nodes = { instanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa3'], privateIps: ['10.0.1.5', '10.0.1.6', '10.0.1.7'], gpusPerNode: [4, 4, 8] }

  it('maps the instance SSM runs it on to its rank, GPU count and secret parameter; every node gets the address list', async () => {
    const lines = clusterBootstrapLines(nodes, '/dstack/abc/run/1/env')
    const script = [...lines, 'printf "%s|%s|%s|%s|" "$DSTACK_NODE_RANK" "$DSTACK_GPUS_PER_NODE" "$P" "$DSTACK_GPUS_BY_RANK"', 'printf "%s" "$DSTACK_NODES_IPS" | tr "\\n" ,'].join('\n')
    for (const [rank, id] of nodes.instanceIds.entries()) {
      const r = await bash(script, { AWS_SSM_INSTANCE_ID: id })
      expect(r).toMatchObject({ code: 0, stdout: `${rank}|${nodes.gpusPerNode[rank]}|/dstack/abc/run/1/env-${rank}|4,4,8|10.0.1.5,10.0.1.6,10.0.1.7` })
    }
    const stranger = await bash(script, { AWS_SSM_INSTANCE_ID: 'i-0bbbbbbbbbbbbbbb9' })
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toContain('is not a node of this cluster')
  })

  it('the whole bootstrap reads the node\'s own secret parameter', () => {
    const text = renderBootstrap({ bucket: 'b', scriptKey: 'k/runner.sh', scriptSha256: 'c'.repeat(64), s3Region: 'us-east-1', region: 'us-east-1', secretParameter: '/dstack/abc/run/1/env', cluster: nodes }).join('\n')
    expect(text).toContain('--name "$P"')
    expect(text.indexOf('case "${AWS_SSM_INSTANCE_ID:-}"')).toBeLessThan(text.indexOf('aws s3 cp'))
  })

  it('refuses ids and addresses that are not what EC2 gives', () => {
    expect(() => clusterBootstrapLines({ ...nodes, instanceIds: ['i-0aaaaaaaaaaaaaaa1', "i-1'; reboot; '", 'i-0aaaaaaaaaaaaaaa3'] }, undefined)).toThrow(/invalid instance id/)
    expect(() => clusterBootstrapLines({ ...nodes, privateIps: ['10.0.1.5', '10.0.1.6', '$(reboot)'] }, undefined)).toThrow(/invalid private IPv4/)
    expect(() => clusterBootstrapLines({ ...nodes, privateIps: ['10.0.1.5', '10.0.1.6', '10.0.1.256'] }, undefined)).toThrow(/invalid private IPv4/)
    expect(() => clusterBootstrapLines({ ...nodes, privateIps: ['10.0.1.5', 'fe80::1', '10.0.1.7'] }, undefined)).toThrow(/invalid private IPv4/)
    expect(() => clusterBootstrapLines({ ...nodes, gpusPerNode: [1, 1] }, undefined)).toThrow(/each of its 3 nodes/)
    expect(() => clusterBootstrapLines({ ...nodes, instanceIds: [nodes.instanceIds[0]!, nodes.instanceIds[0]!, nodes.instanceIds[2]!] }, undefined)).toThrow(/appears twice/)
  })
})

describe('the state of a cluster from its nodes', () => {
  it('running until every node ended; then the first failing node decides, else exit 0', () => {
    expect(clusterState([{ state: 'ended', exitCode: 0 }, { state: 'running' }])).toEqual({ state: 'running' })
    expect(clusterState([{ state: 'ended', exitCode: 0 }, { state: 'ended', exitCode: 0 }])).toEqual({ state: 'ended', exitCode: 0 })
    expect(clusterState([{ state: 'ended', exitCode: 0 }, { state: 'ended', exitCode: 3, reason: 'the runner exited with 3' }])).toEqual({ state: 'ended', exitCode: 3, reason: 'node 1: the runner exited with 3' })
    expect(clusterState([{ state: 'ended', lost: true, reason: 'instance terminated' }, { state: 'ended', exitCode: 0 }])).toMatchObject({ state: 'ended', lost: true, reason: 'node 0: instance terminated' })
  })

  it('one node reclaimed ends the attempt at once as interrupted, whatever the others do', () => {
    expect(clusterState([{ state: 'running' }, { state: 'ended', interrupted: true, reclaimed: true, reason: 'spot instance reclaimed by AWS' }, { state: 'running' }])).toEqual({ state: 'ended', interrupted: true, reclaimed: true, reason: 'node 1: spot instance reclaimed by AWS' })
    expect(clusterState([{ state: 'ended', exitCode: 75, interrupted: true, reason: 'notice' }, { state: 'running' }])).toMatchObject({ state: 'ended', interrupted: true })
  })
})

describe('quotas, options, cleanup filters', () => {
  it('a cluster needs every node\'s vCPUs of its quota', () => {
    const groups = nodeGroups({ nodes: 3, resources: RES, groups: [{ name: 'head', nodes: 1, commands: [], ports: [] }, { name: 'workers', nodes: 2, commands: [], ports: [] }] })
    const [c] = clusterCandidates(groups, [[cand({ instanceType: 'g5.xlarge', vcpus: 4 })], [cand({ instanceType: 'g5.12xlarge', vcpus: 48 })]], { preferOnDemand: false })
    expect([...clusterQuotaNeeds(c!)].map(([k, v]) => [k, v.need])).toEqual([['us-east-1|L-3819A6DF', 4 + 2 * 48]])
  })

  it('efa and the cluster security group come from options or the environment, and are checked', () => {
    expect(resolveOptions({ region: 'us-east-1', env: {} })).toMatchObject({ efa: 'auto' })
    expect(resolveOptions({ region: 'us-east-1', env: { DSTACK_AWS_EFA: 'OFF', DSTACK_AWS_CLUSTER_SECURITY_GROUP: 'sg-0abc' } })).toMatchObject({ efa: 'off', clusterSecurityGroupId: 'sg-0abc' })
    expect(() => resolveOptions({ region: 'us-east-1', env: {}, efa: 'yes' })).toThrow(UserError)
    expect(() => resolveOptions({ region: 'us-east-1', env: {}, clusterSecurityGroupId: 'default' })).toThrow(/cluster security group id is not valid/)
  })

  it('what an attempt created is found by its three tags', () => {
    expect(attemptFilters({ 'dstack:run': 'r', 'dstack:repo': 'g/x', 'dstack:attempt': '2' })).toEqual([{ Name: 'tag:dstack:run', Values: ['r'] }, { Name: 'tag:dstack:repo', Values: ['g/x'] }, { Name: 'tag:dstack:attempt', Values: ['2'] }])
    expect(attemptFilters({ 'dstack:run': 'r' })).toBeUndefined()
  })

  it('a failure to create the cluster\'s groups says what to change', () => {
    const denied = clusterNetworkError(awsError('UnauthorizedOperation', 'You are not authorized'), 'creating the placement group x', 'us-east-1') as UserError
    expect(denied).toBeInstanceOf(UserError)
    expect(denied.hint).toMatch(/MultiNode\* statements of examples\/iam\/ci-role-policy.json/)
    expect((clusterNetworkError(awsError('PlacementGroupLimitExceeded'), 'x', 'us-east-1') as UserError).hint).toMatch(/limit of placement groups or security groups in us-east-1/)
    const other = awsError('InternalError')
    expect(clusterNetworkError(other, 'x', 'us-east-1')).toBe(other)
  })

  it('cleanup deletes stale secret parameters of cluster nodes too, and nothing else', () => {
    const old = new Date(Date.parse('2026-11-20T00:00:00Z'))
    const names = ['/dstack/0123456789ab/run-1/2/env-0', '/dstack/0123456789ab/run-1/2/env-11', '/dstack/0123456789ab/run-1/2/env-x', '/dstack/0123456789ab/run-1/2/envy']
    expect(staleSecrets(names.map((name) => ({ name, lastModified: old })), Date.parse('2026-11-26T00:00:00Z'))).toEqual(names.slice(0, 2))
  })
})
