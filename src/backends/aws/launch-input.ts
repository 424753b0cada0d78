/** Pure: the RunInstances input for one candidate, its tags and its idempotency token. */
import { createHash } from 'node:crypto'
import type { RunInstancesCommandInput, _InstanceType } from '@aws-sdk/client-ec2'
import type { Candidate } from './candidates.js'
import type { AmiInfo } from './ami.js'
import { checkDiskSize, ebsFields, type DiskOptions } from './disk-options.js'

export const TAG = { run: 'dstack:run', repo: 'dstack:repo', attempt: 'dstack:attempt', expiresAt: 'dstack:expires-at' } as const

export interface LaunchContext {
  runName: string
  repoId: string
  attempt: number
  ami: AmiInfo
  diskMiB?: number
  /** the root volume's type, IOPS and throughput (default gp3 at its included 3,000 IOPS, 125 MiB/s) */
  disk?: DiskOptions
  /** false: no public IPv4 address (a private subnet that reaches SSM and S3 through endpoints or NAT) */
  publicIp?: boolean
  maxPrice?: number
  maxDurationSec: number
  marginSec: number
  instanceProfile?: string
  securityGroupIds: string[]
  keyName?: string
  tags: Record<string, string>
  now: number
}

/** ≤ 64 ASCII chars, unique per (repo, run, attempt, candidate): a retried call cannot launch twice */
export function clientToken(ctx: Pick<LaunchContext, 'repoId' | 'runName' | 'attempt'>, c: Candidate): string {
  const h = createHash('sha256').update([ctx.repoId, ctx.runName, ctx.attempt, c.region, c.instanceType, c.zone, c.subnetId ?? '', c.market].join('|')).digest('hex')
  return `dstack-${h.slice(0, 48)}`
}

export function expiresAt(now: number, maxDurationSec: number, marginSec: number): string {
  return new Date(now + (maxDurationSec + marginSec) * 1000).toISOString()
}

export function instanceTags(ctx: LaunchContext): { Key: string; Value: string }[] {
  const t: Record<string, string> = {
    ...ctx.tags,
    Name: `dstack-${ctx.runName}-${ctx.attempt}`,
    [TAG.run]: ctx.runName,
    [TAG.repo]: ctx.repoId,
    [TAG.attempt]: String(ctx.attempt),
    [TAG.expiresAt]: expiresAt(ctx.now, ctx.maxDurationSec, ctx.marginSec)
  }
  return Object.entries(t).map(([Key, Value]) => ({ Key, Value: Value.slice(0, 256) }))
}

export function rootVolumeGiB(diskMiB: number | undefined, snapshotGiB: number | undefined): number {
  return Math.max(Math.ceil((diskMiB ?? 100 * 1024) / 1024), snapshotGiB ?? 8)
}

export function runInstancesInput(ctx: LaunchContext, c: Candidate): RunInstancesCommandInput {
  const tags = instanceTags(ctx)
  const sizeGiB = rootVolumeGiB(ctx.diskMiB, ctx.ami.rootSnapshotGiB)
  if (ctx.disk) checkDiskSize(ctx.disk, sizeGiB)
  const profile = ctx.instanceProfile ? (ctx.instanceProfile.startsWith('arn:') ? { Arn: ctx.instanceProfile } : { Name: ctx.instanceProfile }) : undefined
  return {
    ImageId: ctx.ami.imageId,
    InstanceType: c.instanceType as _InstanceType,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: clientToken(ctx, c),
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
    BlockDeviceMappings: [{ DeviceName: ctx.ami.rootDeviceName, Ebs: { VolumeSize: sizeGiB, ...ebsFields(ctx.disk ?? { type: 'gp3' }), DeleteOnTermination: true } }],
    ...(profile ? { IamInstanceProfile: profile } : {}),
    ...(ctx.publicIp === false
      ? {
          // without a public address: the subnet and security groups belong to the primary interface
          ...(c.subnetId ? {} : { Placement: { AvailabilityZone: c.zone } }),
          NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, ...(c.subnetId ? { SubnetId: c.subnetId } : {}), ...(ctx.securityGroupIds.length ? { Groups: ctx.securityGroupIds } : {}) }]
        }
      : {
          ...(c.subnetId ? { SubnetId: c.subnetId } : { Placement: { AvailabilityZone: c.zone } }),
          ...(ctx.securityGroupIds.length ? { SecurityGroupIds: ctx.securityGroupIds } : {})
        }),
    ...(ctx.keyName ? { KeyName: ctx.keyName } : {}),
    ...(c.market === 'spot'
      ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', ...(ctx.maxPrice !== undefined ? { MaxPrice: String(ctx.maxPrice) } : {}) } } }
      : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags }
    ]
  }
}

/**
 * Pure: what a launch adds to the instance's bill: its root volume (size, type, IOPS, throughput),
 * and a public IPv4 address when it lands in a default VPC's subnet (no `subnet-ids`: default
 * subnets give every instance one) and was not launched without one (`public-ip: false`).
 */
export function launchBilling(input: RunInstancesCommandInput, subnetIds: string[]): { volumeGiB?: number; volumeType?: string; volumeIops?: number; volumeThroughput?: number; publicIpv4?: boolean } {
  const ebs = input.BlockDeviceMappings?.[0]?.Ebs
  const noAddress = input.NetworkInterfaces?.[0]?.AssociatePublicIpAddress === false
  return {
    ...(ebs?.VolumeSize !== undefined ? { volumeGiB: ebs.VolumeSize } : {}),
    ...(ebs?.VolumeType ? { volumeType: ebs.VolumeType } : {}),
    ...(ebs?.Iops !== undefined ? { volumeIops: ebs.Iops } : {}),
    ...(ebs?.Throughput !== undefined ? { volumeThroughput: ebs.Throughput } : {}),
    ...(subnetIds.length === 0 && !noAddress ? { publicIpv4: true } : {})
  }
}
