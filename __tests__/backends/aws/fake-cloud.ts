/**
 * A stateful EC2 + SSM double on aws-sdk-client-mock. Instances have states; SSM SendCommand hands
 * the real bootstrap to a simulated instance (sim-instance.ts) that runs it with bash and the real
 * `aws` CLI against s3rver. Launch failures, throttling, SSM registration and spot reclaims are
 * scripted per test. `running()` lists what would still cost money.
 */
import { mockClient } from 'aws-sdk-client-mock'
import {
  EC2Client,
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type InstanceTypeInfo,
  type RunInstancesCommandInput
} from '@aws-sdk/client-ec2'
import {
  SSMClient,
  CancelCommandCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParametersByPathCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
  type SendCommandCommandInput
} from '@aws-sdk/client-ssm'
import { PricingClient, GetProductsCommand } from '@aws-sdk/client-pricing'

export function awsError(code: string, message = code, status = 400): Error {
  return Object.assign(new Error(message), { name: code, Code: code, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } })
}

export interface FakeInstance {
  id: string
  type: string
  zone: string
  subnetId?: string
  market: 'spot' | 'on-demand'
  state: 'pending' | 'running' | 'shutting-down' | 'terminated'
  reasonCode?: string
  tags: Record<string, string>
  input: RunInstancesCommandInput
  /** DescribeInstanceInformation calls before it is Online; Infinity = never */
  onlineAfter: number
  infoCalls: number
  /** reclaimed by AWS before it comes Online */
  reclaimBeforeOnline?: boolean
}

export interface FakeCommand {
  id: string
  instanceId: string
  input: SendCommandCommandInput
  status: 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'Cancelled' | 'TimedOut' | 'Terminated'
  responseCode: number
  /** GetCommandInvocation calls that answer InvocationDoesNotExist first */
  invisibleFor: number
  stdout: string
  stderr: string
}

/** what SendCommand hands to the simulated instance */
export interface CommandSink {
  start(cmd: FakeCommand, instance: FakeInstance, parameters: Map<string, string>): void
  cancel(cmd: FakeCommand): void
  terminate(instance: FakeInstance): void
}

export const GPU_TYPES: InstanceTypeInfo[] = [
  gpuType('g4dn.xlarge', 4, 16384, 'T4', 1, 16384),
  gpuType('g5.xlarge', 4, 16384, 'A10G', 1, 24576),
  gpuType('g5.2xlarge', 8, 32768, 'A10G', 1, 24576),
  gpuType('p3.2xlarge', 8, 62464, 'V100', 1, 16384),
  { InstanceType: 'm5.xlarge', VCpuInfo: { DefaultVCpus: 4 }, MemoryInfo: { SizeInMiB: 16384 }, ProcessorInfo: { SupportedArchitectures: ['x86_64'] }, SupportedUsageClasses: ['on-demand', 'spot'] }
]

function gpuType(t: string, vcpus: number, mem: number, gpu: string, count: number, gpuMem: number): InstanceTypeInfo {
  return {
    InstanceType: t as never,
    VCpuInfo: { DefaultVCpus: vcpus },
    MemoryInfo: { SizeInMiB: mem },
    ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
    SupportedUsageClasses: ['on-demand', 'spot'],
    GpuInfo: { Gpus: [{ Name: gpu, Manufacturer: 'NVIDIA', Count: count, MemoryInfo: { SizeInMiB: gpuMem } }], TotalGpuMemoryInMiB: gpuMem * count }
  }
}

export interface FakeCloudOptions {
  types?: InstanceTypeInfo[]
  zones?: string[]
  /** `${type}|${zone}` → spot USD/h (default: derived from the type) */
  spotPrices?: Record<string, number>
  sink?: CommandSink
}

export class FakeCloud {
  readonly ec2 = mockClient(EC2Client)
  readonly ssm = mockClient(SSMClient)
  readonly pricing = mockClient(PricingClient)
  readonly instances = new Map<string, FakeInstance>()
  readonly commands = new Map<string, FakeCommand>()
  readonly parameters = new Map<string, string>()
  /** LastModifiedDate per parameter (tests move it back to age a secret) */
  readonly parameterDates = new Map<string, Date>()
  readonly deletedParameters: string[] = []
  readonly launches: { input: RunInstancesCommandInput; result: string }[] = []
  /** per RunInstances call: throw this error (or undefined to launch); consumed in order, then `launchDefault` */
  launchScript: ((input: RunInstancesCommandInput) => Error | undefined)[] = []
  launchRule: (input: RunInstancesCommandInput) => Error | undefined = () => undefined
  /** how a new instance behaves in SSM */
  nextOnlineAfter = 1
  reclaimBeforeOnline: ((input: RunInstancesCommandInput) => boolean) = () => false
  /** errors thrown by the next polling calls (GetCommandInvocation / DescribeInstances) */
  pollErrors: Error[] = []
  invisibleFor = 1
  sink?: CommandSink
  private seq = 0

  constructor(private readonly o: FakeCloudOptions = {}) {
    this.sink = o.sink
    this.install()
  }

  get zones(): string[] {
    return this.o.zones ?? ['us-east-1a', 'us-east-1b']
  }

  /** instances that are not terminated (would still cost money) */
  running(): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.state !== 'terminated')
  }

  /** AWS reclaims a spot instance (the runner got its notice through the fake IMDS first) */
  reclaim(id: string): void {
    const i = this.instances.get(id)
    if (!i || i.state === 'terminated') return
    i.state = 'terminated'
    i.reasonCode = 'Server.SpotInstanceTermination'
    this.sink?.terminate(i)
  }

  restore(): void {
    this.ec2.restore()
    this.ssm.restore()
    this.pricing.restore()
  }

  private install(): void {
    const types = this.o.types ?? GPU_TYPES
    this.ec2.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[] }) => {
      const list = input.InstanceTypes?.length ? types.filter((t) => input.InstanceTypes!.includes(t.InstanceType!)) : types
      if (input.InstanceTypes?.some((t) => !types.find((x) => x.InstanceType === t))) throw awsError('InvalidInstanceType', 'The following supplied instance types do not exist')
      return { InstanceTypes: list }
    })
    this.ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake((input: { Filters?: { Name: string; Values: string[] }[] }) => {
      const want = input.Filters?.find((f) => f.Name === 'instance-type')?.Values ?? []
      const loc = input.Filters?.find((f) => f.Name === 'location')?.Values
      const zones = this.zones.filter((z) => !loc || loc.includes(z))
      return { InstanceTypeOfferings: want.flatMap((t) => zones.map((z) => ({ InstanceType: t, Location: z, LocationType: 'availability-zone' }))) }
    })
    this.ec2.on(DescribeSpotPriceHistoryCommand).callsFake((input: { InstanceTypes?: string[] }) => ({
      SpotPriceHistory: (input.InstanceTypes ?? []).flatMap((t) =>
        this.zones.map((z, zi) => ({ InstanceType: t, AvailabilityZone: z, SpotPrice: String(this.o.spotPrices?.[`${t}|${z}`] ?? defaultSpot(t) + zi * 0.01), Timestamp: new Date(), ProductDescription: 'Linux/UNIX' }))
      )
    }))
    this.ec2.on(DescribeSubnetsCommand).callsFake((input: { SubnetIds?: string[] }) => ({
      Subnets: (input.SubnetIds ?? []).map((s, i) => ({ SubnetId: s, AvailabilityZone: this.zones[i % this.zones.length] }))
    }))
    this.ec2.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) => ({
      Images: (input.ImageIds ?? []).map((id) => ({ ImageId: id, RootDeviceName: '/dev/sda1', Architecture: 'x86_64', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 75 } }] }))
    }))
    this.ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      const scripted = this.launchScript.shift()
      const err = scripted ? scripted(input) : this.launchRule(input)
      if (err) {
        this.launches.push({ input, result: err.name })
        throw err
      }
      const id = `i-${(++this.seq).toString(16).padStart(17, '0')}`
      const tags = Object.fromEntries((input.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key!, t.Value!]))
      const inst: FakeInstance = {
        id,
        type: String(input.InstanceType),
        zone: input.Placement?.AvailabilityZone ?? 'us-east-1a',
        subnetId: input.SubnetId,
        market: input.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand',
        state: 'pending',
        tags,
        input,
        onlineAfter: this.nextOnlineAfter,
        infoCalls: 0,
        reclaimBeforeOnline: this.reclaimBeforeOnline(input)
      }
      this.instances.set(id, inst)
      this.launches.push({ input, result: id })
      return { OwnerId: '123456789012', Instances: [{ InstanceId: id, State: { Name: 'pending' } }] }
    })
    this.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      const e = this.pollErrors.shift()
      if (e) throw e
      let list = [...this.instances.values()]
      if (input.InstanceIds?.length) {
        list = list.filter((i) => input.InstanceIds!.includes(i.id))
        if (list.length === 0) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceIds[0]}' does not exist`)
      }
      for (const f of input.Filters ?? []) {
        if (f.Name === 'tag-key') list = list.filter((i) => f.Values.some((k) => k in i.tags))
        if (f.Name === 'instance-state-name') list = list.filter((i) => f.Values.includes(i.state))
      }
      return {
        Reservations: list.map((i) => ({
          Instances: [{ InstanceId: i.id, InstanceType: i.type as never, State: { Name: i.state }, ...(i.reasonCode ? { StateReason: { Code: i.reasonCode, Message: i.reasonCode } } : {}), Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })) }]
        }))
      }
    })
    this.ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
      const out = []
      for (const id of input.InstanceIds ?? []) {
        const i = this.instances.get(id)
        if (!i) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`)
        if (i.state !== 'terminated') {
          i.state = 'terminated'
          i.reasonCode ??= 'Client.UserInitiatedShutdown'
          this.sink?.terminate(i)
        }
        out.push({ InstanceId: id, CurrentState: { Name: 'terminated' } })
      }
      return { TerminatingInstances: out }
    })

    this.ssm.on(GetParameterCommand).callsFake((input: { Name?: string }) => {
      if (input.Name?.startsWith('/aws/service/')) return { Parameter: { Name: input.Name, Value: 'ami-0123456789abcdef0' } }
      const v = this.parameters.get(input.Name ?? '')
      if (v === undefined) throw awsError('ParameterNotFound')
      return { Parameter: { Name: input.Name, Value: v } }
    })
    this.ssm.on(PutParameterCommand).callsFake((input: { Name?: string; Value?: string; Type?: string; Overwrite?: boolean; Tags?: unknown[] }) => {
      if (input.Type !== 'SecureString') throw new Error('secrets must be SecureString')
      if (input.Overwrite && input.Tags?.length) throw awsError('ValidationException', 'Tags and Overwrite can\'t be used together')
      if (!input.Overwrite && this.parameters.has(input.Name!)) throw awsError('ParameterAlreadyExists')
      this.parameters.set(input.Name!, input.Value!)
      this.parameterDates.set(input.Name!, new Date())
      return { Version: 1 }
    })
    this.ssm.on(GetParametersByPathCommand).callsFake((input: { Path?: string; Recursive?: boolean; MaxResults?: number; NextToken?: string }) => {
      const prefix = `${input.Path!.replace(/\/$/, '')}/`
      const all = [...this.parameters.keys()].filter((n) => n.startsWith(prefix) && (input.Recursive || !n.slice(prefix.length).includes('/'))).sort()
      const start = Number(input.NextToken ?? 0)
      const size = Math.min(input.MaxResults ?? 10, 10)
      const page = all.slice(start, start + size)
      return {
        Parameters: page.map((n) => ({ Name: n, Type: 'SecureString', LastModifiedDate: this.parameterDates.get(n) })),
        NextToken: start + size < all.length ? String(start + size) : undefined
      }
    })
    this.ssm.on(DeleteParametersCommand).callsFake((input: { Names?: string[] }) => {
      if ((input.Names ?? []).length > 10) throw awsError('ValidationException')
      const deleted: string[] = []
      const invalid: string[] = []
      for (const n of input.Names ?? []) {
        if (this.parameters.delete(n)) {
          deleted.push(n)
          this.deletedParameters.push(n)
        } else invalid.push(n)
      }
      return { DeletedParameters: deleted, InvalidParameters: invalid }
    })
    this.ssm.on(DeleteParameterCommand).callsFake((input: { Name?: string }) => {
      if (!this.parameters.delete(input.Name!)) throw awsError('ParameterNotFound')
      this.deletedParameters.push(input.Name!)
      return {}
    })
    this.ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Key: string; Values: string[] }[] }) => {
      const id = input.Filters?.find((f) => f.Key === 'InstanceIds')?.Values[0] ?? ''
      const i = this.instances.get(id)
      if (!i || i.state === 'terminated') return { InstanceInformationList: [] }
      i.infoCalls++
      if (i.state === 'pending') i.state = 'running'
      if (i.reclaimBeforeOnline && i.infoCalls >= 1) {
        i.state = 'terminated'
        i.reasonCode = 'Server.SpotInstanceTermination'
        return { InstanceInformationList: [] }
      }
      if (i.infoCalls > i.onlineAfter) return { InstanceInformationList: [{ InstanceId: id, PingStatus: 'Online' }] }
      return { InstanceInformationList: [] }
    })
    this.ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
      const id = input.InstanceIds?.[0] ?? ''
      const i = this.instances.get(id)
      if (!i || i.state !== 'running') throw awsError('InvalidInstanceId', 'Instances not in a valid state for account')
      const cmd: FakeCommand = { id: `cmd-${++this.seq}`, instanceId: id, input, status: 'Pending', responseCode: -1, invisibleFor: this.invisibleFor, stdout: '', stderr: '' }
      this.commands.set(cmd.id, cmd)
      this.sink?.start(cmd, i, this.parameters)
      return { Command: { CommandId: cmd.id, Status: 'Pending' } }
    })
    this.ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string }) => {
      const e = this.pollErrors.shift()
      if (e) throw e
      const c = this.commands.get(input.CommandId ?? '')
      if (!c) throw awsError('InvocationDoesNotExist')
      if (c.invisibleFor > 0) {
        c.invisibleFor--
        throw awsError('InvocationDoesNotExist')
      }
      return { CommandId: c.id, InstanceId: c.instanceId, Status: c.status, StatusDetails: c.status === 'TimedOut' ? 'Execution Timed Out' : c.status, ResponseCode: c.responseCode, StandardOutputContent: c.stdout.slice(0, 24000) }
    })
    this.ssm.on(CancelCommandCommand).callsFake((input: { CommandId?: string }) => {
      const c = this.commands.get(input.CommandId ?? '')
      if (!c) throw awsError('InvalidCommandId')
      if (c.status === 'Pending' || c.status === 'InProgress') this.sink?.cancel(c)
      return {}
    })
    this.pricing.on(GetProductsCommand).callsFake((input: { Filters?: { Field: string; Value: string }[] }) => {
      const t = input.Filters?.find((f) => f.Field === 'instanceType')?.Value ?? ''
      const usd = ON_DEMAND[t]
      if (usd === undefined) return { PriceList: [] }
      return { PriceList: [JSON.stringify({ product: { attributes: { instanceType: t } }, terms: { OnDemand: { 'X.Y': { priceDimensions: { 'X.Y.Z': { unit: 'Hrs', pricePerUnit: { USD: String(usd) } } } } } } })] }
    })
  }
}

export const ON_DEMAND: Record<string, number> = { 'g4dn.xlarge': 0.526, 'g5.xlarge': 1.006, 'g5.2xlarge': 1.212, 'p3.2xlarge': 3.06, 'm5.xlarge': 0.192 }

function defaultSpot(t: string): number {
  return Math.round((ON_DEMAND[t] ?? 1) * 0.4 * 1000) / 1000
}
