/**
 * A stateful EC2 + SSM double on aws-sdk-client-mock. Instances have states; SSM SendCommand hands
 * the real bootstrap to a simulated instance (sim-instance.ts) that runs it with bash and the real
 * `aws` CLI against s3rver. Launch failures, throttling, SSM registration and spot reclaims are
 * scripted per test. `running()` lists what would still cost money.
 */
import { readFileSync } from 'node:fs'
import { mockClient } from 'aws-sdk-client-mock'
import {
  EC2Client,
  DescribeImagesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  CreatePlacementGroupCommand,
  DeletePlacementGroupCommand,
  DescribePlacementGroupsCommand,
  CreateSecurityGroupCommand,
  AuthorizeSecurityGroupIngressCommand,
  AuthorizeSecurityGroupEgressCommand,
  DeleteSecurityGroupCommand,
  type IpPermission,
  CreateTagsCommand,
  GetConsoleOutputCommand,
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
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  PutParameterCommand,
  SendCommandCommand,
  type SendCommandCommandInput
} from '@aws-sdk/client-ssm'
import { PricingClient, GetProductsCommand } from '@aws-sdk/client-pricing'
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { IAMClient, GetInstanceProfileCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam'
import { ServiceQuotasClient, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas'
import { ON_DEMAND_FALLBACK } from '../../../src/backends/aws/prices.js'

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
  /** a loopback address (127.0.0.x): the simulated nodes of a cluster can really reach each other */
  privateIp: string
  placementGroup?: string
  securityGroupIds: string[]
}

/** a placement group or security group made by CreatePlacementGroup / CreateSecurityGroup */
export interface FakeGroup {
  id: string
  name: string
  vpcId?: string
  tags: Record<string, string>
  ingress: IpPermission[]
  egress: IpPermission[]
  deleted: boolean
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

/**
 * The real GPU instance catalogue (fixtures/instance-types.json: every GPU family EC2 sells, with
 * manufacturer, GPU name and memory, count, vCPUs, memory and architecture), so candidate
 * selection is tested against what DescribeInstanceTypes really answers.
 */
export const CATALOGUE: InstanceTypeInfo[] = (JSON.parse(readFileSync(new URL('./fixtures/instance-types.json', import.meta.url), 'utf8')) as { InstanceTypes: InstanceTypeInfo[] }).InstanceTypes
/** kept for older tests: the whole catalogue */
export const GPU_TYPES = CATALOGUE

/** the AMIs behind the default DLAMI parameters (and any `ami-…` id a test registers in `images`) */
export const DEFAULT_AMI_IDS = { x86: 'ami-0123456789abcdef0', arm: 'ami-0fedcba9876543210' }

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
  readonly sts = mockClient(STSClient)
  readonly iam = mockClient(IAMClient)
  readonly quotas = mockClient(ServiceQuotasClient)
  /** image id → architecture (DescribeImages); unknown ids answer x86_64 */
  readonly images = new Map<string, string>([[DEFAULT_AMI_IDS.x86, 'x86_64'], [DEFAULT_AMI_IDS.arm, 'arm64']])
  /** Service Quotas value per quota code (vCPUs); default 64 */
  readonly quotaValues = new Map<string, number>()
  /** the region has a default VPC */
  defaultVpc = true
  /** `<principal arn>|<action>` that IAM's policy simulation denies */
  readonly deniedActions = new Set<string>()
  /** instance profiles that do not exist (IAM NoSuchEntity) */
  readonly missingProfiles = new Set<string>()
  /** security groups (`sg-…` in every region, or `<region>/sg-…`) and key pairs that exist */
  readonly securityGroups = new Set<string>()
  readonly keyPairs = new Set<string>()
  /** per SendCommand call: throw this after the command was created (a lost response), or undefined */
  sendScript: (Error | undefined)[] = []
  /** stderr of the next bootstrap commands, as GetCommandInvocation reports it, comes from the simulated instance */
  readonly instances = new Map<string, FakeInstance>()
  readonly commands = new Map<string, FakeCommand>()
  /** every (command, instance) pair: a command sent to a cluster has one per node */
  readonly invocations: FakeCommand[] = []
  readonly placementGroups = new Map<string, FakeGroup>()
  /** security groups created through the API (the user's own are in `securityGroups`) */
  readonly createdSecurityGroups = new Map<string, FakeGroup>()
  /** `${type}|${zone}` → how many more instances EC2 can give there (default: as many as asked) */
  readonly capacity = new Map<string, number>()
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
  /** errors thrown by the next search calls (DescribeInstanceTypes / DescribeSpotPriceHistory) */
  searchErrors: Error[] = []
  invisibleFor = 1
  /** instance id → what GetConsoleOutput answers (plain text; base64 on the wire); none: no Output */
  readonly consoleOutput = new Map<string, string>()
  /** the text every new instance writes to its console (tests of an instance that never reaches SSM) */
  nextConsoleOutput?: string
  sink?: CommandSink
  private seq = 0

  constructor(private readonly o: FakeCloudOptions = {}) {
    this.sink = o.sink
    this.install()
  }

  get zones(): string[] {
    return this.o.zones ?? ['us-east-1a', 'us-east-1b']
  }

  /** the zones of one region: the configured ones in it, else `<region>a` and `<region>b` */
  zonesOf(region: string): string[] {
    const own = this.zones.filter((z) => z.slice(0, -1) === region)
    return own.length ? own : [`${region}a`, `${region}b`]
  }

  /** what an attempt could leave behind: instances not terminated, placement and security groups not deleted */
  leftovers(): string[] {
    return [
      ...this.running().map((i) => `${i.id} ${i.state}`),
      ...[...this.placementGroups.values()].filter((g) => !g.deleted).map((g) => `placement group ${g.name}`),
      ...[...this.createdSecurityGroups.values()].filter((g) => !g.deleted).map((g) => `security group ${g.id}`)
    ]
  }

  /** the invocation of a command on one instance */
  invocation(commandId: string, instanceId?: string): FakeCommand | undefined {
    return this.invocations.find((c) => c.id === commandId && (!instanceId || c.instanceId === instanceId))
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
    this.sts.restore()
    this.iam.restore()
    this.quotas.restore()
  }

  private install(): void {
    const types = this.o.types ?? CATALOGUE
    this.ec2.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      const e = this.searchErrors.shift()
      if (e) throw e
      let list = input.InstanceTypes?.length ? types.filter((t) => input.InstanceTypes!.includes(t.InstanceType!)) : types
      if (input.InstanceTypes?.some((t) => !types.find((x) => x.InstanceType === t))) throw awsError('InvalidInstanceType', 'The following supplied instance types do not exist')
      const arch = input.Filters?.find((f) => f.Name === 'processor-info.supported-architecture')?.Values
      if (arch) list = list.filter((t) => (t.ProcessorInfo?.SupportedArchitectures ?? []).some((a) => arch.includes(a)))
      return { InstanceTypes: list }
    })
    this.ec2.on(DescribeVpcsCommand).callsFake(() => ({ Vpcs: this.defaultVpc ? [{ VpcId: 'vpc-0default', IsDefault: true }] : [] }))
    this.ec2.on(DescribeSecurityGroupsCommand).callsFake(async (input: { GroupIds?: string[]; Filters?: { Name: string; Values: string[] }[] }, getClient: () => EC2Client) => {
      if (input.Filters?.length) {
        const name = input.Filters.find((f) => f.Name === 'group-name')?.Values
        return { SecurityGroups: [...this.createdSecurityGroups.values()].filter((g) => !g.deleted && (!name || name.includes(g.name)) && matchesTags(g.tags, input.Filters)).map((g) => ({ GroupId: g.id, GroupName: g.name, Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value })) })) }
      }
      const region = await getClient().config.region()
      const missing = (input.GroupIds ?? []).find((g) => !this.securityGroups.has(g) && !this.securityGroups.has(`${region}/${g}`))
      if (missing) throw awsError('InvalidGroup.NotFound', `The security group '${missing}' does not exist`)
      return { SecurityGroups: (input.GroupIds ?? []).map((GroupId) => ({ GroupId })) }
    })
    this.ec2.on(DescribeKeyPairsCommand).callsFake((input: { KeyNames?: string[] }) => {
      const missing = (input.KeyNames ?? []).find((k) => !this.keyPairs.has(k))
      if (missing) throw awsError('InvalidKeyPair.NotFound', `The key pair '${missing}' does not exist`)
      return { KeyPairs: (input.KeyNames ?? []).map((KeyName) => ({ KeyName })) }
    })
    this.sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/dstack-ci/GitHubActions', UserId: 'AROA:GitHubActions' })
    this.iam.on(GetInstanceProfileCommand).callsFake((input: { InstanceProfileName?: string }) => {
      if (this.missingProfiles.has(input.InstanceProfileName ?? '')) throw awsError('NoSuchEntity', `Instance Profile ${input.InstanceProfileName} cannot be found.`, 404)
      return { InstanceProfile: { InstanceProfileName: input.InstanceProfileName, Roles: [{ RoleName: 'dstack-runner-role', Arn: 'arn:aws:iam::123456789012:role/dstack-runner-role' }] } }
    })
    this.iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { PolicySourceArn?: string; ActionNames?: string[] }) => ({
      EvaluationResults: (input.ActionNames ?? []).map((a) => ({ EvalActionName: a, EvalDecision: this.deniedActions.has(`${input.PolicySourceArn}|${a}`) ? 'implicitDeny' : 'allowed' }))
    }))
    this.quotas.on(GetServiceQuotaCommand).callsFake((input: { QuotaCode?: string }) => ({ Quota: { QuotaCode: input.QuotaCode, QuotaName: input.QuotaCode, Value: this.quotaValues.get(input.QuotaCode ?? '') ?? 64 } }))
    this.ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake(async (input: { Filters?: { Name: string; Values: string[] }[] }, getClient: () => EC2Client) => {
      const want = input.Filters?.find((f) => f.Name === 'instance-type')?.Values ?? []
      const loc = input.Filters?.find((f) => f.Name === 'location')?.Values
      const zones = this.zonesOf(await getClient().config.region()).filter((z) => !loc || loc.includes(z))
      return { InstanceTypeOfferings: want.flatMap((t) => zones.map((z) => ({ InstanceType: t, Location: z, LocationType: 'availability-zone' }))) }
    })
    this.ec2.on(DescribeSpotPriceHistoryCommand).callsFake(async (input: { InstanceTypes?: string[] }, getClient: () => EC2Client) => {
      const e = this.searchErrors.shift()
      if (e) throw e
      const zones = this.zonesOf(await getClient().config.region())
      return {
      SpotPriceHistory: (input.InstanceTypes ?? []).flatMap((t) =>
        zones.map((z, zi) => ({ InstanceType: t, AvailabilityZone: z, SpotPrice: String(this.o.spotPrices?.[`${t}|${z}`] ?? defaultSpot(t) + zi * 0.01), Timestamp: new Date(), ProductDescription: 'Linux/UNIX' }))
      )
      }
    })
    this.ec2.on(DescribeSubnetsCommand).callsFake((input: { SubnetIds?: string[] }) => ({
      Subnets: (input.SubnetIds ?? []).map((s, i) => ({ SubnetId: s, AvailabilityZone: this.zones[i % this.zones.length], VpcId: 'vpc-0subnets' }))
    }))
    this.ec2.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) => ({
      Images: (input.ImageIds ?? []).map((id) => ({ ImageId: id, RootDeviceName: '/dev/sda1', Architecture: (this.images.get(id) ?? 'x86_64') as never, BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 75 } }] }))
    }))
    this.ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      const scripted = this.launchScript.shift()
      const err = scripted ? scripted(input) : this.launchRule(input)
      if (err) {
        this.launches.push({ input, result: err.name })
        throw err
      }
      const count = input.MinCount ?? 1
      const zone = input.Placement?.AvailabilityZone ?? 'us-east-1a'
      const pg = input.Placement?.GroupName
      if (pg && (!this.placementGroups.has(pg) || this.placementGroups.get(pg)!.deleted)) {
        this.launches.push({ input, result: 'InvalidPlacementGroup.Unknown' })
        throw awsError('InvalidPlacementGroup.Unknown', `The Placement Group '${pg}' is unknown.`)
      }
      const slot = `${String(input.InstanceType)}|${zone}`
      const left = this.capacity.get(slot)
      if (left !== undefined && left < count) {
        this.launches.push({ input, result: 'InsufficientInstanceCapacity' })
        throw awsError('InsufficientInstanceCapacity', `We currently do not have sufficient ${String(input.InstanceType)} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`, 500)
      }
      if (left !== undefined) this.capacity.set(slot, left - count)
      const tags = Object.fromEntries((input.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key!, t.Value!]))
      const nic = input.NetworkInterfaces?.[0]
      const ids: string[] = []
      for (let k = 0; k < count; k++) {
        const id = `i-${(++this.seq).toString(16).padStart(17, '0')}`
        ids.push(id)
        this.instances.set(id, {
          id,
          type: String(input.InstanceType),
          zone,
          subnetId: input.SubnetId ?? nic?.SubnetId,
          market: input.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand',
          state: 'pending',
          tags,
          input,
          onlineAfter: this.nextOnlineAfter,
          infoCalls: 0,
          reclaimBeforeOnline: this.reclaimBeforeOnline(input),
          privateIp: `127.0.0.${(this.instances.size % 250) + 2}`,
          ...(pg ? { placementGroup: pg } : {}),
          securityGroupIds: input.SecurityGroupIds ?? nic?.Groups ?? []
        })
      }
      if (this.nextConsoleOutput !== undefined) for (const id of ids) this.consoleOutput.set(id, this.nextConsoleOutput)
      this.launches.push({ input, result: ids.join(',') })
      return { OwnerId: '123456789012', Instances: ids.map((id, k) => ({ InstanceId: id, AmiLaunchIndex: k, PrivateIpAddress: this.instances.get(id)!.privateIp, State: { Name: 'pending' } })) }
    })
    this.ec2.on(CreatePlacementGroupCommand).callsFake((input: { GroupName?: string; Strategy?: string; TagSpecifications?: { Tags?: { Key?: string; Value?: string }[] }[] }) => {
      const name = input.GroupName ?? ''
      if (this.placementGroups.get(name)?.deleted === false) throw awsError('InvalidPlacementGroup.Duplicate', `The Placement Group '${name}' already exists.`)
      this.placementGroups.set(name, { id: `pg-${(++this.seq).toString(16).padStart(17, '0')}`, name, tags: tagMap(input.TagSpecifications), ingress: [], egress: [], deleted: false })
      return { PlacementGroup: { GroupName: name, Strategy: input.Strategy, State: 'available' } }
    })
    this.ec2.on(DeletePlacementGroupCommand).callsFake((input: { GroupName?: string }) => {
      const g = this.placementGroups.get(input.GroupName ?? '')
      if (!g || g.deleted) throw awsError('InvalidPlacementGroup.Unknown', `The Placement Group '${input.GroupName}' is unknown.`)
      if ([...this.instances.values()].some((i) => i.placementGroup === g.name && i.state !== 'terminated')) throw awsError('InvalidPlacementGroup.InUse', `The placement group '${g.name}' is in use and may not be deleted.`)
      g.deleted = true
      return {}
    })
    this.ec2.on(DescribePlacementGroupsCommand).callsFake((input: { Filters?: { Name: string; Values: string[] }[] }) => ({
      PlacementGroups: [...this.placementGroups.values()].filter((g) => !g.deleted && matchesTags(g.tags, input.Filters)).map((g) => ({ GroupName: g.name, GroupId: g.id, Strategy: 'cluster', State: 'available', Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value })) }))
    }))
    this.ec2.on(CreateSecurityGroupCommand).callsFake((input: { GroupName?: string; VpcId?: string; TagSpecifications?: { Tags?: { Key?: string; Value?: string }[] }[] }) => {
      const dup = [...this.createdSecurityGroups.values()].find((g) => !g.deleted && g.name === input.GroupName && g.vpcId === input.VpcId)
      if (dup) throw awsError('InvalidGroup.Duplicate', `The security group '${input.GroupName}' already exists for VPC '${input.VpcId ?? 'vpc-0default'}'`)
      const id = `sg-${(++this.seq).toString(16).padStart(17, '0')}`
      this.createdSecurityGroups.set(id, { id, name: input.GroupName ?? '', ...(input.VpcId ? { vpcId: input.VpcId } : {}), tags: tagMap(input.TagSpecifications), ingress: [], egress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }], deleted: false })
      return { GroupId: id }
    })
    this.ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake((input: { GroupId?: string; IpPermissions?: IpPermission[] }) => {
      const g = this.createdSecurityGroups.get(input.GroupId ?? '')
      if (!g || g.deleted) throw awsError('InvalidGroup.NotFound', `The security group '${input.GroupId}' does not exist`)
      g.ingress.push(...(input.IpPermissions ?? []))
      return { Return: true }
    })
    this.ec2.on(AuthorizeSecurityGroupEgressCommand).callsFake((input: { GroupId?: string; IpPermissions?: IpPermission[] }) => {
      const g = this.createdSecurityGroups.get(input.GroupId ?? '')
      if (!g || g.deleted) throw awsError('InvalidGroup.NotFound', `The security group '${input.GroupId}' does not exist`)
      g.egress.push(...(input.IpPermissions ?? []))
      return { Return: true }
    })
    this.ec2.on(DeleteSecurityGroupCommand).callsFake((input: { GroupId?: string }) => {
      const g = this.createdSecurityGroups.get(input.GroupId ?? '')
      if (!g || g.deleted) throw awsError('InvalidGroup.NotFound', `The security group '${input.GroupId}' does not exist`)
      if ([...this.instances.values()].some((i) => i.securityGroupIds.includes(g.id) && i.state !== 'terminated')) throw awsError('DependencyViolation', `resource ${g.id} has a dependent object`)
      g.deleted = true
      return {}
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
        if (f.Name.startsWith('tag:')) list = list.filter((i) => f.Values.includes(i.tags[f.Name.slice(4)] ?? '\u0000'))
      }
      return {
        Reservations: list.map((i) => ({
          Instances: [{ InstanceId: i.id, InstanceType: i.type as never, PrivateIpAddress: i.privateIp, State: { Name: i.state }, ...(i.reasonCode ? { StateReason: { Code: i.reasonCode, Message: i.reasonCode } } : {}), Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })) }]
        }))
      }
    })
    this.ec2.on(GetConsoleOutputCommand).callsFake((input: { InstanceId?: string }) => {
      const i = this.instances.get(input.InstanceId ?? '')
      if (!i) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceId}' does not exist`)
      const text = this.consoleOutput.get(i.id)
      return { InstanceId: i.id, Timestamp: new Date(), ...(text !== undefined ? { Output: Buffer.from(text).toString('base64') } : {}) }
    })
    this.ec2.on(CreateTagsCommand).callsFake((input: { Resources?: string[]; Tags?: { Key?: string; Value?: string }[] }) => {
      for (const id of input.Resources ?? []) {
        const i = this.instances.get(id)
        if (!i) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`)
        for (const t of input.Tags ?? []) i.tags[t.Key!] = t.Value ?? ''
      }
      return {}
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
      if (input.Name?.startsWith('/aws/service/deeplearning/ami/arm64/')) return { Parameter: { Name: input.Name, Value: DEFAULT_AMI_IDS.arm } }
      if (input.Name?.startsWith('/aws/service/deeplearning/ami/x86_64/')) return { Parameter: { Name: input.Name, Value: DEFAULT_AMI_IDS.x86 } }
      if (input.Name?.startsWith('/aws/service/')) throw awsError('ParameterNotFound')
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
      const ids = input.InstanceIds ?? []
      for (const id of ids) {
        const i = this.instances.get(id)
        if (!i || i.state !== 'running') throw awsError('InvalidInstanceId', 'Instances not in a valid state for account')
      }
      // SSM's command ids are UUIDs (the service model's CommandId is 36 characters)
      const commandId = `00000000-0000-4000-8000-${String(++this.seq).padStart(12, '0')}`
      for (const id of ids) {
        const cmd: FakeCommand = { id: commandId, instanceId: id, input, status: 'Pending', responseCode: -1, invisibleFor: this.invisibleFor, stdout: '', stderr: '' }
        if (!this.commands.has(commandId)) this.commands.set(commandId, cmd)
        this.invocations.push(cmd)
        this.sink?.start(cmd, this.instances.get(id)!, this.parameters)
      }
      const lost = this.sendScript.shift()
      if (lost) throw lost
      return { Command: { CommandId: commandId, Status: 'Pending' } }
    })
    this.ssm.on(ListCommandInvocationsCommand).callsFake((input: { CommandId?: string; Details?: boolean }) => {
      const e = this.pollErrors.shift()
      if (e) throw e
      return {
        CommandInvocations: this.invocations.filter((c) => c.id === input.CommandId).map((c) => ({
          CommandId: c.id,
          InstanceId: c.instanceId,
          Status: c.status,
          StatusDetails: c.status,
          ...(input.Details ? { CommandPlugins: [{ Name: 'aws:runShellScript', Status: c.status, ResponseCode: c.responseCode, Output: c.stdout.slice(0, 2500) }] } : {})
        }))
      }
    })
    this.ssm.on(ListCommandsCommand).callsFake((input: { InstanceId?: string }) => ({
      Commands: this.invocations.filter((c) => !input.InstanceId || c.instanceId === input.InstanceId).map((c) => ({ CommandId: c.id, Comment: c.input.Comment, InstanceIds: c.input.InstanceIds, Status: c.status }))
    }))
    this.ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string; InstanceId?: string }) => {
      const e = this.pollErrors.shift()
      if (e) throw e
      const c = this.invocation(input.CommandId ?? '', input.InstanceId)
      if (!c) throw awsError('InvocationDoesNotExist')
      if (c.invisibleFor > 0) {
        c.invisibleFor--
        throw awsError('InvocationDoesNotExist')
      }
      const ended = !['Pending', 'InProgress'].includes(c.status)
      const out = c.input.OutputS3BucketName ? `https://s3.amazonaws.com/${c.input.OutputS3BucketName}/${c.input.OutputS3KeyPrefix}/${c.id}/${c.instanceId}/awsrunShellScript/0.awsrunShellScript` : undefined
      return {
        CommandId: c.id,
        InstanceId: c.instanceId,
        Status: c.status,
        StatusDetails: c.status === 'TimedOut' ? 'Execution Timed Out' : c.status,
        ResponseCode: c.responseCode,
        // like SSM: the first 24,000 / 8,000 characters, and only once the command has ended
        StandardOutputContent: ended ? c.stdout.slice(0, 24000) : '',
        StandardErrorContent: ended ? c.stderr.slice(0, 8000) : '',
        ...(out ? { StandardOutputUrl: `${out}/stdout`, StandardErrorUrl: `${out}/stderr` } : {})
      }
    })
    this.ssm.on(CancelCommandCommand).callsFake((input: { CommandId?: string; InstanceIds?: string[] }) => {
      const all = this.invocations.filter((c) => c.id === input.CommandId)
      if (all.length === 0) throw awsError('InvalidCommandId')
      for (const c of all) if ((!input.InstanceIds?.length || input.InstanceIds.includes(c.instanceId)) && (c.status === 'Pending' || c.status === 'InProgress')) this.sink?.cancel(c)
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

/** us-east-1 on-demand list prices (USD/h): the bundled table plus the older and smaller families */
export const ON_DEMAND: Record<string, number> = {
  ...ON_DEMAND_FALLBACK,
  'g4ad.xlarge': 0.379, 'g4ad.2xlarge': 0.541, 'g4ad.4xlarge': 0.867, 'g4ad.8xlarge': 1.734, 'g4ad.16xlarge': 3.468,
  'g3s.xlarge': 0.75, 'g3.4xlarge': 1.14, 'p2.xlarge': 0.9,
  'g5g.xlarge': 0.42, 'g5g.2xlarge': 0.556, 'g5g.4xlarge': 0.828, 'g5g.8xlarge': 1.372, 'g5g.16xlarge': 2.744,
  'gr6.4xlarge': 1.539, 'gr6.8xlarge': 2.446,
  'm5.xlarge': 0.192, 'c5.2xlarge': 0.34, 'm7g.xlarge': 0.1632
}

function defaultSpot(t: string): number {
  return Math.round((ON_DEMAND[t] ?? 5) * 0.4 * 1000) / 1000
}

function tagMap(specs: { Tags?: { Key?: string; Value?: string }[] }[] | undefined): Record<string, string> {
  return Object.fromEntries((specs?.[0]?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
}

/** EC2's `tag:<key>` and `tag-key` filters (other filters are not about tags) */
function matchesTags(tags: Record<string, string>, filters: { Name: string; Values: string[] }[] | undefined): boolean {
  return (filters ?? []).every((f) => (f.Name.startsWith('tag:') ? f.Values.includes(tags[f.Name.slice(4)] ?? '\u0000') : f.Name === 'tag-key' ? f.Values.some((k) => k in tags) : true))
}
