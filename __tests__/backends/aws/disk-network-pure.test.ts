import { describe, it, expect } from '@jest/globals'
import { resolveDiskOptions, checkDiskSize } from '../../../src/backends/aws/disk-options.js'
import { runInstancesInput, launchBilling } from '../../../src/backends/aws/launch-input.js'
import { clusterRunInstancesInput } from '../../../src/backends/aws/cluster-launch-input.js'
import { resolveOptions } from '../../../src/backends/aws/options.js'
import type { Candidate } from '../../../src/backends/aws/candidates.js'
import { attemptCost } from '../../../src/orchestrate/outcome.js'
import { describeVolume, volumeUsdPerMonth } from '../../../src/model/volume.js'
import { checkRequest, formatViolations, loadModel } from '../../helpers/aws-models.js'

const cand = (over: Partial<Candidate> = {}): Candidate => ({ region: 'us-east-1', instanceType: 'g5.xlarge', zone: 'us-east-1a', market: 'spot', pricePerHour: 0.4, priceSource: 'x', vcpus: 4, gpuCount: 1, ...over })
const ami = { imageId: 'ami-0123456789abcdef0', source: 'x', rootDeviceName: '/dev/sda1', rootSnapshotGiB: 75 }
const ctx = { runName: 'r-1', repoId: 'github.com/a/b', attempt: 1, ami, diskMiB: 200 * 1024, maxDurationSec: 3600, marginSec: 600, securityGroupIds: ['sg-1'], tags: {}, now: Date.parse('2026-01-01T00:00:00Z') }
const ec2Model = loadModel('ec2')
const valid = (input: unknown) => expect(formatViolations(checkRequest(ec2Model, 'RunInstances', input))).toBe('')

describe('disk options', () => {
  it('defaults to gp3 at its included IOPS and throughput', () => {
    expect(resolveDiskOptions({})).toEqual({ type: 'gp3' })
    expect(resolveDiskOptions({ diskType: 'GP3', diskIops: '6000', diskThroughput: 500 })).toEqual({ type: 'gp3', iops: 6000, throughput: 500 })
    expect(resolveDiskOptions({ diskType: 'io2', diskIops: 20000 })).toEqual({ type: 'io2', iops: 20000 })
    expect(resolveDiskOptions({ diskType: 'gp2' })).toEqual({ type: 'gp2' })
  })

  it.each([
    [{ diskType: 'st1' }, /cannot be a boot volume/],
    [{ diskType: 'nvme' }, /must be one of gp3, gp2, io1, io2/],
    [{ diskIops: 2000 }, /3,000–16,000, got 2000/],
    [{ diskIops: 17000 }, /3,000–16,000/],
    [{ diskThroughput: 100 }, /125–1,000 MiB\/s, got 100/],
    [{ diskThroughput: 1200, diskIops: 16000 }, /125–1,000/],
    [{ diskThroughput: 1000 }, /needs at least 4000 IOPS on gp3/],
    [{ diskType: 'io1' }, /io1 needs disk-iops/],
    [{ diskType: 'io2', diskIops: 300000 }, /100–256,000/],
    [{ diskType: 'io1', diskIops: 5000, diskThroughput: 200 }, /throughput can only be set for gp3/],
    [{ diskType: 'gp2', diskIops: 3000 }, /iops cannot be set for gp2/],
    [{ diskIops: 'many' }, /whole positive number/]
  ])('refuses %j before launch', (o, message) => {
    expect(() => resolveDiskOptions(o)).toThrow(message)
  })

  it('checks IOPS per GiB against the volume size', () => {
    expect(() => checkDiskSize({ type: 'gp3', iops: 16000 }, 20)).toThrow(/gp3 allows on 20 GiB \(500 IOPS per GiB\)/)
    expect(() => checkDiskSize({ type: 'io1', iops: 10000 }, 100)).toThrow(/io1 allows on 100 GiB/)
    expect(() => checkDiskSize({ type: 'io2', iops: 10000 }, 100)).not.toThrow()
    expect(() => runInstancesInput({ ...ctx, diskMiB: 10 * 1024, ami: { ...ami, rootSnapshotGiB: 8 }, disk: { type: 'io1', iops: 5000 } }, cand())).toThrow(/io1 allows on 10 GiB/)
  })

  it('sets the root volume type, IOPS and throughput in RunInstances, valid for EC2', () => {
    const i = runInstancesInput({ ...ctx, disk: { type: 'gp3', iops: 6000, throughput: 500 } }, cand({ subnetId: 'subnet-1' }))
    expect(i.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 200, VolumeType: 'gp3', Iops: 6000, Throughput: 500, DeleteOnTermination: true } }])
    valid(i)
    expect(launchBilling(i, ['subnet-1'])).toEqual({ volumeGiB: 200, volumeType: 'gp3', volumeIops: 6000, volumeThroughput: 500 })
    const io2 = runInstancesInput({ ...ctx, disk: { type: 'io2', iops: 20000 } }, cand())
    expect(io2.BlockDeviceMappings![0]!.Ebs).toMatchObject({ VolumeType: 'io2', Iops: 20000 })
    expect(io2.BlockDeviceMappings![0]!.Ebs!.Throughput).toBeUndefined()
    valid(io2)
  })

  it('bills what the volume costs: gp3 above its included IOPS and throughput, io2 by tier', () => {
    expect(volumeUsdPerMonth({ volumeGiB: 100 })).toBeCloseTo(8)
    expect(volumeUsdPerMonth({ volumeGiB: 100, volumeType: 'gp3', volumeIops: 3000, volumeThroughput: 125 })).toBeCloseTo(8)
    expect(volumeUsdPerMonth({ volumeGiB: 100, volumeType: 'gp3', volumeIops: 6000, volumeThroughput: 500 })).toBeCloseTo(8 + 15 + 15)
    expect(volumeUsdPerMonth({ volumeGiB: 100, volumeType: 'gp2' })).toBeCloseTo(10)
    expect(volumeUsdPerMonth({ volumeGiB: 100, volumeType: 'io1', volumeIops: 1000 })).toBeCloseTo(12.5 + 65)
    expect(volumeUsdPerMonth({ volumeGiB: 100, volumeType: 'io2', volumeIops: 40000 })).toBeCloseTo(12.5 + 32000 * 0.065 + 8000 * 0.0455)
    const hour = ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z'] as const
    const plain = attemptCost(1, ...hour, 'succeeded', false, { volumeGiB: 730 })
    expect(plain).toBeCloseTo(1 + 0.08, 4)
    expect(attemptCost(1, ...hour, 'succeeded', false, { volumeGiB: 730, volumeType: 'io1', volumeIops: 730 })).toBeCloseTo(1 + 0.125 + 0.065, 4)
  })

  it('names the volume for the summary', () => {
    expect(describeVolume({ volumeGiB: 100 })).toBe('gp3 100 GiB, 3000 IOPS, 125 MiB/s')
    expect(describeVolume({ volumeGiB: 100, volumeType: 'io2', volumeIops: 20000 })).toBe('io2 100 GiB, 20000 IOPS')
    expect(describeVolume({ volumeGiB: 100, volumeType: 'gp2' })).toBe('gp2 100 GiB, 300 IOPS')
    expect(describeVolume({})).toBeUndefined()
  })
})

describe('public ip', () => {
  it('launches without a public address: subnet and groups on the primary interface, valid for EC2', () => {
    const i = runInstancesInput({ ...ctx, publicIp: false }, cand({ subnetId: 'subnet-1' }))
    expect(i.SubnetId).toBeUndefined()
    expect(i.SecurityGroupIds).toBeUndefined()
    expect(i.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, SubnetId: 'subnet-1', Groups: ['sg-1'] }])
    valid(i)
    expect(launchBilling(i, ['subnet-1']).publicIpv4).toBeUndefined()
    // the default stays as it was
    expect(runInstancesInput(ctx, cand({ subnetId: 'subnet-1' }))).toMatchObject({ SubnetId: 'subnet-1', SecurityGroupIds: ['sg-1'] })
  })

  it('a cluster node group without a public address keeps it off, with or without EFA', () => {
    const net = { placementGroup: 'pg', securityGroupIds: ['sg-c'], efa: 'auto' as const }
    const g = { candidate: cand({ subnetId: 'subnet-1', efaInterfaces: 2 }), count: 2, groupIndex: 0, nodes: 2 }
    const efa = clusterRunInstancesInput({ ...ctx, publicIp: false }, g, net)
    expect(efa.NetworkInterfaces).toEqual([{ DeviceIndex: 0, NetworkCardIndex: 0, InterfaceType: 'efa', AssociatePublicIpAddress: false, SubnetId: 'subnet-1', Groups: ['sg-c'], DeleteOnTermination: true }])
    valid(efa)
    const plain = clusterRunInstancesInput({ ...ctx, publicIp: false }, { ...g, candidate: cand({ subnetId: 'subnet-1' }) }, net)
    expect(plain.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, SubnetId: 'subnet-1', Groups: ['sg-c'] }])
    expect(plain.SubnetId).toBeUndefined()
    valid(plain)
  })

  it('public-ip false needs subnets; its spellings', () => {
    expect(() => resolveOptions({ region: 'us-east-1', publicIp: false })).toThrow(/no subnet ids were given/)
    expect(resolveOptions({ region: 'us-east-1', publicIp: 'false', subnetIds: ['subnet-1'] }).publicIp).toBe(false)
    expect(resolveOptions({ region: 'us-east-1' }).publicIp).toBe(true)
    expect(() => resolveOptions({ region: 'us-east-1', publicIp: 'maybe' })).toThrow(/true or false/)
    expect(resolveOptions({ region: 'us-east-1', diskType: 'io2', diskIops: '4000' }).disk).toEqual({ type: 'io2', iops: 4000 })
  })
})
