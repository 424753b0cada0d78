/**
 * Scenarios of issue 25, disks and private networks: the root volume's type, IOPS and throughput in
 * the launch and the bill; a machine's instance-store NVMe disks (simulated: sysfs, /dev and mdadm /
 * mkfs / mount stand-ins, instance-store.ts) assembled by the real runner into the job's scratch
 * folder; a launch without a public address into subnets whose VPC endpoints the preflight checks.
 * EC2 and SSM are the doubles of fake-cloud.ts, the instance the simulated one of sim-instance.ts.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { join } from 'node:path'
import { DescribeRouteTablesCommand, DescribeVpcEndpointsCommand, RunInstancesCommand, type VpcEndpoint } from '@aws-sdk/client-ec2'
import { UserError, type RunRecord } from '../../../src/model/index.js'
import { attemptCost } from '../../../src/orchestrate/outcome.js'
import { diskText } from '../../../src/report/disk-row.js'
import { diskCalls, simulateInstanceStore } from './instance-store.js'
import { startHarness, spec, until, PREFIX, type Harness } from './harness.js'

let h: Harness

beforeEach(async () => {
  h = await startHarness()
})

afterEach(async () => {
  await h.close()
})

async function expectNothingLeft(): Promise<void> {
  await h.sim.idle()
  expect(h.cloud.running().map((i) => `${i.id} ${i.state}`)).toEqual([])
}

const SUBNET = 'subnet-0a1b2c3d'
/** the VPC fake-cloud's DescribeSubnets puts every subnet in */
const VPC = 'vpc-0subnets'
const endpoint = (service: string, over: Partial<VpcEndpoint> = {}): VpcEndpoint => ({
  VpcEndpointId: `vpce-0${service}`,
  VpcId: VPC,
  ServiceName: `com.amazonaws.us-east-1.${service}`,
  VpcEndpointType: service === 's3' ? 'Gateway' : 'Interface',
  State: 'Available',
  ...(service === 's3' ? { RouteTableIds: ['rtb-0private'] } : { PrivateDnsEnabled: true, SubnetIds: [SUBNET] }),
  ...over
})

/** a private subnet: its own route table (no NAT unless `nat`), and these endpoints in its VPC */
function privateVpc(endpoints: VpcEndpoint[], nat = false): void {
  h.cloud.ec2.on(DescribeRouteTablesCommand).resolves({
    RouteTables: [{
      RouteTableId: 'rtb-0private',
      VpcId: VPC,
      Associations: [{ SubnetId: SUBNET, RouteTableId: 'rtb-0private' }],
      Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' }, ...(nat ? [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0abc', State: 'active' as const }] : [])]
    }]
  })
  h.cloud.ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: endpoints })
}

describe('disks and private networks (issue 25)', () => {
  it('gp3 volume: the root volume gets its IOPS and throughput, the machine and the bill say so; a bad combination stops before launch', async () => {
    const s = spec({ resources: { ...spec().resources, diskMiB: { min: 200 * 1024 } } })
    const req = await h.request(1, s)
    const handle = await h.backend({ diskType: 'gp3', diskIops: '6000', diskThroughput: '500' }).start(req)
    expect(await h.watch(handle)).toEqual({ state: 'ended', exitCode: 0 })
    await handle.release()
    const input = h.cloud.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input
    expect(input.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 200, VolumeType: 'gp3', Iops: 6000, Throughput: 500, DeleteOnTermination: true } }])
    expect(handle.machine).toMatchObject({ volumeGiB: 200, volumeType: 'gp3', volumeIops: 6000, volumeThroughput: 500, publicIpv4: true })
    // an hour: the instance, 200 GiB of gp3, 3,000 IOPS and 375 MiB/s above what gp3 includes, the address
    const m = handle.machine
    const hour = attemptCost(m.pricePerHour!, '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', 'succeeded', false, m)
    expect(hour).toBeCloseTo(m.pricePerHour! + (200 * 0.08 + 3000 * 0.005 + 375 * 0.04) / 730 + 0.005, 4)
    expect(diskText({ attempts: [{ n: 1, startedAt: '', machine: m }] } as unknown as RunRecord)).toBe('gp3 200 GiB, 6000 IOPS, 500 MiB/s')
    expect((await h.status(1))?.scratch).toBeUndefined()
    await expectNothingLeft()

    // io1 without IOPS, or more IOPS than the size allows: refused before any launch
    const launches = h.cloud.ec2.commandCalls(RunInstancesCommand).length
    expect(() => h.backend({ diskType: 'io1' })).toThrow(/io1 needs disk-iops/)
    await expect(h.backend({ diskType: 'io1', diskIops: '20000' }).start(await h.request(2, s))).rejects.toThrow(/disk iops 20000 is more than io1 allows on 200 GiB/)
    expect(h.cloud.ec2.commandCalls(RunInstancesCommand)).toHaveLength(launches)
    await expectNothingLeft()
  })

  it('instance store raid: two NVMe disks become one RAID 0 scratch folder the job writes to, named in status.json and the Disk row', async () => {
    const scratch = join(h.root, 'scratch')
    const disks = simulateInstanceStore(join(h.root, 'machine'), [
      { name: 'nvme0n1', bytes: 100 * 2 ** 30, model: 'Amazon Elastic Block Store' },
      { name: 'nvme1n1', bytes: 3_800_000_000_000 },
      { name: 'nvme2n1', bytes: 3_800_000_000_000 }
    ])
    // the harness's plan is not a cloud plan (it does not own the machine): scratch disks are asked for
    h.sim.envOverrides = { ...h.sim.envOverrides, ...disks, DSTACK_SCRATCH_DISKS: 'auto', DSTACK_SCRATCH_DIR: scratch }
    const s = spec({ commands: ['echo "scratch at $DSTACK_SCRATCH"', 'echo cached > "$DSTACK_SCRATCH/cache.bin"', 'for i in 1 2 3; do echo "line $i"; done', 'mkdir -p out && echo result > out/r.txt'] })
    const handle = await h.backend().start(await h.request(1, s))
    expect(await h.watch(handle)).toEqual({ state: 'ended', exitCode: 0 })
    await handle.release()
    const dev = disks.DSTACK_DEV_DIR!
    expect(diskCalls(disks)).toEqual([
      `mdadm --create ${dev}/md/dstack-scratch --run --force --level=0 --raid-devices=2 ${dev}/nvme1n1 ${dev}/nvme2n1`,
      `mkfs ${dev}/md/dstack-scratch`,
      `mount ${dev}/md/dstack-scratch ${scratch}`
    ])
    const logs = await h.logs(1)
    expect(logs).toContain(`[dstack] scratch: 2 × NVMe RAID 0, 7.6 TB at ${scratch}`)
    expect(logs).toContain(`scratch at ${scratch}`)
    const status = await h.status(1)
    expect(status).toMatchObject({ status: 'succeeded', scratch: `2 × NVMe RAID 0, 7.6 TB at ${scratch}` })
    const record = { attempts: [{ n: 1, startedAt: '', machine: handle.machine }] } as unknown as RunRecord
    expect(diskText(record, status!.scratch as string)).toBe(`gp3 100 GiB, 3000 IOPS, 125 MiB/s · scratch: 2 × NVMe RAID 0, 7.6 TB at ${scratch}`)
    await expectNothingLeft()
  })

  it('no public ip: the instance launches without an address into a private subnet whose endpoints the preflight found', async () => {
    privateVpc([endpoint('ssm'), endpoint('ssmmessages'), endpoint('ec2messages'), endpoint('s3')])
    const req = await h.request(1, spec())
    const handle = await h.backend({ subnetIds: [SUBNET], publicIp: 'false' }).start(req)
    expect(await h.watch(handle)).toEqual({ state: 'ended', exitCode: 0 })
    await handle.release()
    const input = h.cloud.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input
    expect(input.SubnetId).toBeUndefined()
    expect(input.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, SubnetId: SUBNET }])
    expect(handle.machine.publicIpv4).toBeUndefined()
    expect(h.cloud.ec2.commandCalls(DescribeVpcEndpointsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'vpc-id', Values: [VPC] }] })
    expect(req.lines.filter((l) => l.startsWith('preflight:') && l.includes(SUBNET))).toEqual([])
    expect(await h.logs(1)).toContain('line 3')
    await expectNothingLeft()
  })

  it('missing endpoint: without SSM messages and no NAT the run stops before launch, naming the subnet and the command that fixes it', async () => {
    privateVpc([endpoint('ssm'), endpoint('ec2messages'), endpoint('s3')])
    const backend = h.backend({ subnetIds: [SUBNET], publicIp: false })
    const err = await backend.start(await h.request(1, spec())).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    const text = `${(err as UserError).message}\n${(err as UserError).hint ?? ''}`
    expect(text).toContain(`FAIL  SSM messages from ${SUBNET} in us-east-1: missing endpoint: SSM messages is not reachable without a public address: no endpoint for com.amazonaws.us-east-1.ssmmessages in ${VPC}, and no NAT route`)
    expect(text).toContain(`aws ec2 create-vpc-endpoint --region us-east-1 --vpc-id ${VPC} --vpc-endpoint-type Interface --service-name com.amazonaws.us-east-1.ssmmessages --subnet-ids ${SUBNET}`)
    expect(text).not.toContain('SSM from')
    expect(h.cloud.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0)
    // the candidate search that ran beside the preflight ends with the prices it caches
    await until(async () => (await h.keys(`${PREFIX}/cache/aws/us-east-1/`)).some((k) => k.endsWith('/on-demand-prices.json')))
    // `check` says the same, one row per service
    const rows = await h.backend({ subnetIds: [SUBNET], publicIp: false }).check()
    expect(rows.filter((r) => r.check.endsWith(`from ${SUBNET} in us-east-1`)).map((r) => `${r.status} ${r.check}`)).toEqual([
      `ok SSM from ${SUBNET} in us-east-1`,
      `fail SSM messages from ${SUBNET} in us-east-1`,
      `ok EC2 messages from ${SUBNET} in us-east-1`,
      `ok S3 from ${SUBNET} in us-east-1`
    ])
    // a NAT gateway reaches what has no endpoint
    privateVpc([endpoint('ssm')], true)
    const nat = await h.backend({ subnetIds: [SUBNET], publicIp: false }).check()
    expect(nat.filter((r) => r.check.includes(SUBNET)).every((r) => r.status === 'ok')).toBe(true)
    await expectNothingLeft()
  })
})
