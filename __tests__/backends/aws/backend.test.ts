/** The backend against the EC2/SSM double with a scripted (bash-less) instance: fast checks of each decision. */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreatePlacementGroupCommand, CreateSecurityGroupCommand, DeleteSecurityGroupCommand, DescribeInstanceTypesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { IAMClient } from '@aws-sdk/client-iam'
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import { CancelCommandCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import { GetProductsCommand } from '@aws-sdk/client-pricing'
import { AwsBackend, createAwsBackend } from '../../../src/backends/aws/index.js'
import { NoCapacityError, UserError, type MachineInfo, type StartRequest } from '../../../src/model/index.js'
import { FolderStore } from '../../../src/store/index.js'
import { FakeCloud, awsError, type CommandSink, type FakeCommand } from './fake-cloud.js'
import { spec, virtualClock } from './harness.js'

/** an instance whose command just stays InProgress until told otherwise */
class ScriptedSink implements CommandSink {
  readonly started: FakeCommand[] = []
  start(cmd: FakeCommand): void {
    cmd.status = 'InProgress'
    this.started.push(cmd)
  }
  cancel(cmd: FakeCommand): void {
    cmd.status = 'Cancelled'
  }
  terminate(): void {}
}

let cloud: FakeCloud
let sink: ScriptedSink
let clock: ReturnType<typeof virtualClock>

beforeEach(() => {
  sink = new ScriptedSink()
  cloud = new FakeCloud({ sink })
  cloud.invisibleFor = 0
  clock = virtualClock()
})
afterEach(() => cloud.restore())

type Sendable = { prototype: { send: (...a: unknown[]) => Promise<unknown> } }

/**
 * Holds each answer of the command `held` until every command of `partners` has been sent (or 10,000
 * turns of the event loop passed: one after the other, they would never be), and records what had
 * been sent by then. Wraps the mocked clients' send, so each call still gets the fake's answer.
 */
function holdUntilSent(held: string, partners: string[]): { sentBy: string[][]; restore: () => void } {
  const sent: string[] = []
  const sentBy: string[][] = []
  const undo: (() => void)[] = []
  for (const C of [EC2Client, STSClient, IAMClient, ServiceQuotasClient] as unknown as Sendable[]) {
    const inner = C.prototype.send
    C.prototype.send = async function (this: unknown, ...args: unknown[]) {
      const name = (args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '')
      sent.push(name)
      if (name === held) {
        const missing = () => partners.some((p, i) => sent.filter((x) => x === p).length < partners.slice(0, i + 1).filter((x) => x === p).length)
        for (let turn = 0; turn < 10_000 && missing(); turn++) await new Promise((r) => setImmediate(r))
        sentBy.push([...sent])
      }
      return inner.apply(this, args)
    }
    undo.push(() => void (C.prototype.send = inner))
  }
  return { sentBy, restore: () => undo.reverse().forEach((u) => u()) }
}

function backend(o: Record<string, unknown> = {}): AwsBackend {
  return new AwsBackend({ region: 'us-east-1', instanceProfile: 'dstack-runner', now: clock.now, sleep: clock.sleep, random: () => 0.5, pollMinIntervalMs: 0, env: {}, ...o })
}

function request(over: Partial<StartRequest> = {}): StartRequest & { lines: string[]; machines: MachineInfo[] } {
  const lines: string[] = []
  const machines: MachineInfo[] = []
  return {
    runName: 'calm-fox-1',
    repoId: 'github.com/acme/models',
    attempt: 1,
    spec: spec(),
    store: { kind: 's3', bucket: 'bkt', prefix: 'p' },
    runnerScriptKey: 'github.com/acme/models/runs/calm-fox-1/attempts/1/runner.sh',
    runnerScript: '#!/bin/bash\n',
    secretEnv: {},
    previousAttempts: [],
    onMachine: (m) => void machines.push(m),
    log: (l) => void lines.push(l),
    signal: new AbortController().signal,
    ...over,
    lines,
    machines
  }
}

describe('AwsBackend (scripted instance)', () => {
  it('createAwsBackend accepts the entries\' loose options', () => {
    const b = createAwsBackend({ region: 'us-east-1', subnetIds: [], securityGroupIds: [], ami: undefined, ssmTimeoutSec: 600, instanceProfile: undefined })
    expect(b.name).toBe('aws')
    b.close()
  })

  it('the account preflight does not hold up the AMI and candidate search: they go side by side', async () => {
    const typesListed = () => cloud.ec2.commandCalls(DescribeInstanceTypesCommand).length
    let listedWhenAnswered: number | undefined
    cloud.sts.on(GetCallerIdentityCommand).callsFake(async () => {
      // answers once the search has listed the instance types, or after a bounded number of turns of
      // the event loop (the search goes one step per turn; one after the other, it never started)
      for (let turn = 0; turn < 500 && typesListed() === 0; turn++) await new Promise((r) => setImmediate(r))
      listedWhenAnswered = typesListed()
      return { Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/dstack-ci/GitHubActions', UserId: 'AROA:GitHubActions' }
    })
    const req = request()
    const h = await backend({ openStore: () => { throw new Error('no catalogue cache here') } }).start(req)
    expect(listedWhenAnswered).toBeGreaterThan(0)
    expect(h.machine.instanceType).toBe('g5.xlarge')
    // the AMI still comes first in the log
    expect(req.lines[0]).toMatch(/^AMI ami-/)
    await h.release()
  })

  it('prepare() starts the launch\'s reads early; the first start() of that spec takes them (and their log lines) instead of asking again', async () => {
    const b = backend()
    const s = spec()
    const store = { kind: 's3' as const, bucket: 'bkt', prefix: 'p' }
    b.prepare(s, store)
    // the reads are under way before start() is called
    await new Promise((r) => setImmediate(r))
    expect(cloud.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1)
    const req = request({ spec: s, store })
    const h = await b.start(req)
    expect(h.machine.instanceType).toBe('g5.xlarge')
    expect(cloud.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1)
    expect(cloud.ec2.commandCalls(DescribeInstanceTypesCommand)).toHaveLength(1)
    expect(req.lines.find((l) => /^AMI ami-/.test(l))).toBeDefined()
    expect(req.lines.find((l) => /candidate\(s\), in order/.test(l))).toBeDefined()
    await h.release()
    // taken once: the next start searches again
    const h2 = await b.start(request({ spec: s, store, attempt: 2 }))
    expect(cloud.ec2.commandCalls(DescribeInstanceTypesCommand)).toHaveLength(2)
    await h2.release()
  })

  it('the preflight\'s checks go side by side: the instance profile and the network are asked before the credentials answer', async () => {
    const gate = holdUntilSent('GetCallerIdentity', ['GetInstanceProfile', 'DescribeVpcs'])
    try {
      const h = await backend().start(request())
      await h.release()
    } finally {
      gate.restore()
    }
    expect(gate.sentBy[0]).toEqual(expect.arrayContaining(['GetInstanceProfile', 'DescribeVpcs']))
  })

  it('the vCPU quotas are read at once: the spot and on-demand quotas are both asked before either answers', async () => {
    const gate = holdUntilSent('GetServiceQuota', ['GetServiceQuota', 'GetServiceQuota'])
    try {
      const h = await backend().start(request())
      await h.release()
    } finally {
      gate.restore()
    }
    expect(gate.sentBy[0]!.filter((n) => n === 'GetServiceQuota')).toHaveLength(2)
  })

  it('the quotas do not wait for the preflight: they are asked before the instance role\'s simulation answers', async () => {
    const gate = holdUntilSent('SimulatePrincipalPolicy', ['GetServiceQuota'])
    try {
      const h = await backend().start(request())
      await h.release()
    } finally {
      gate.restore()
    }
    expect(gate.sentBy[0]).toContain('GetServiceQuota')
  })

  it('a cluster: prepare() starts its search early and start() takes it; its placement group and security group, and the group\'s two rules, are created side by side', async () => {
    const b = backend()
    const s = spec({ nodes: 2, artifacts: [] })
    const store = { kind: 's3' as const, bucket: 'bkt', prefix: 'p' }
    b.prepare(s, store)
    await new Promise((r) => setImmediate(r))
    expect(cloud.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1)
    const groups = holdUntilSent('CreatePlacementGroup', ['CreateSecurityGroup'])
    let rules: ReturnType<typeof holdUntilSent> | undefined
    try {
      rules = holdUntilSent('AuthorizeSecurityGroupIngress', ['AuthorizeSecurityGroupEgress'])
      const req = request({ spec: s, store })
      const h = await b.start(req)
      expect(h.machines).toHaveLength(2)
      // the early search was taken, with its log lines
      expect(cloud.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1)
      expect(cloud.ec2.commandCalls(DescribeInstanceTypesCommand)).toHaveLength(1)
      expect(req.lines.find((l) => /^AMI ami-/.test(l))).toBeDefined()
      // the log still names the placement group before the security group
      const pg = req.lines.findIndex((l) => l.startsWith('created cluster placement group'))
      const sg = req.lines.findIndex((l) => l.startsWith('created security group'))
      expect(pg).toBeGreaterThanOrEqual(0)
      expect(sg).toBeGreaterThan(pg)
      await h.release()
    } finally {
      rules?.restore()
      groups.restore()
    }
    expect(groups.sentBy[0]).toContain('CreateSecurityGroup')
    expect(rules!.sentBy[0]).toContain('AuthorizeSecurityGroupEgress')
    expect(cloud.ec2.commandCalls(CreatePlacementGroupCommand)).toHaveLength(1)
  })

  it('a cluster whose placement group is refused: the security group created beside it is deleted, nothing is launched, and the error names the permission', async () => {
    cloud.ec2.on(CreatePlacementGroupCommand).rejects(awsError('UnauthorizedOperation', 'not authorized to perform: ec2:CreatePlacementGroup', 403))
    const req = request({ spec: spec({ nodes: 2, artifacts: [] }) })
    await expect(backend().start(req)).rejects.toThrow(/creating the placement group .*UnauthorizedOperation/)
    const created = cloud.ec2.commandCalls(CreateSecurityGroupCommand)
    expect(created).toHaveLength(1)
    expect(cloud.ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(1)
    expect(cloud.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0)
  })

  it('prepare() for one spec is not used by the start of another, and its failure surfaces in the start that takes it', async () => {
    const b = backend()
    const store = { kind: 's3' as const, bucket: 'bkt', prefix: 'p' }
    b.prepare(spec({ instanceTypes: ['g5.2xlarge'] }), store)
    const h = await b.start(request({ spec: spec(), store }))
    expect(h.machine.instanceType).toBe('g5.xlarge')
    await h.release()
    const failing = spec({ resources: { gpu: { names: ['MI300X'], count: { min: 1 } }, cpu: { min: 2 }, memoryMiB: { min: 1 }, diskMiB: { min: 1 } } })
    b.prepare(failing, store)
    await expect(b.start(request({ spec: failing, store }))).rejects.toThrow(/no EC2 instance type matches this workflow in us-east-1/)
  })

  it('a warm catalogue cache is read in one round trip: its files all at once, not one after the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalogue-'))
    try {
      const folder = new FolderStore(dir)
      const first = await backend({ openStore: () => folder }).start(request())
      await first.release()
      let inFlight = 0
      const asked: number[] = []
      const counting = new Proxy(folder, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown
          if (prop !== 'getText') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
          return async (key: string) => {
            asked.push(++inFlight)
            try {
              await new Promise((r) => setImmediate(r))
              return await folder.getText(key)
            } finally {
              inFlight--
            }
          }
        }
      })
      const before = cloud.ec2.commandCalls(DescribeInstanceTypesCommand).length
      const h = await backend({ openStore: () => counting }).start(request())
      // warm: no instance type listed again, and the types, zones, spot and on-demand prices were asked for together
      expect(cloud.ec2.commandCalls(DescribeInstanceTypesCommand).length).toBe(before)
      expect(Math.max(...asked)).toBe(4)
      await h.release()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('explicit instance_types, availability_zones and spot_policy on-demand narrow the candidates', async () => {
    const req = request({ spec: spec({ instanceTypes: ['g5.2xlarge'], availabilityZones: ['us-east-1b'], spotPolicy: 'on-demand' }) })
    const h = await backend().start(req)
    expect(h.machine).toMatchObject({ instanceType: 'g5.2xlarge', zone: 'us-east-1b', market: 'on-demand', pricePerHour: 1.212 })
    expect(req.lines.find((l) => /candidate\(s\)/.test(l))).toMatch(/^1 candidate\(s\)/)
    await h.release()
  })

  it('no type fits: a UserError naming why', async () => {
    const req = request({ spec: spec({ resources: { gpu: { names: ['MI300X'], count: { min: 1 } }, cpu: { min: 2 }, memoryMiB: { min: 1 }, diskMiB: { min: 1 } } }) })
    await expect(backend().start(req)).rejects.toThrow(/no EC2 instance type matches this workflow in us-east-1/)
  })

  it('an unknown type in instance_types: a UserError that says so', async () => {
    await expect(backend().start(request({ spec: spec({ instanceTypes: ['g9.mega'] }) }))).rejects.toThrow(/instance_types names g9.mega, which EC2 does not sell here/)
  })

  it('the Pricing API failing falls back to the bundled table, and says so', async () => {
    cloud.pricing.on(GetProductsCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform pricing:GetProducts', 400))
    const req = request({ spec: spec({ spotPolicy: 'on-demand' }) })
    const h = await backend().start(req)
    expect(h.machine).toMatchObject({ instanceType: 'g5.xlarge', pricePerHour: 1.006, priceSource: expect.stringContaining('bundled table') })
    expect(req.lines.join('\n')).toMatch(/Pricing API failed .*bundled us-east-1 table/)
    await h.release()
  })

  it('SpotMaxPriceTooLow goes to the next candidate; max_price is sent as MaxPrice', async () => {
    cloud.launchScript = [() => awsError('SpotMaxPriceTooLow', 'Your Spot request price of 0.5 is lower than the minimum required Spot request fulfillment price of 0.6.')]
    const req = request({ spec: spec({ maxPrice: 0.5, spotPolicy: 'spot' }) })
    const h = await backend().start(req)
    const calls = cloud.ec2.commandCalls(RunInstancesCommand)
    expect(calls).toHaveLength(2)
    expect(calls[0]!.args[0].input.InstanceMarketOptions?.SpotOptions?.MaxPrice).toBe('0.5')
    await h.release()
  })

  it('an authorization error stops at once with the message', async () => {
    cloud.launchRule = () => awsError('UnauthorizedOperation', 'You are not authorized to perform this operation. User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: iam:PassRole', 403)
    const err = (await backend().start(request()).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/RunInstances failed for g5.xlarge spot in us-east-1a .*UnauthorizedOperation: .*iam:PassRole/)
    expect(cloud.launches).toHaveLength(1)
  })

  it('throttling beyond the bounded retries counts as a failed candidate', async () => {
    cloud.launchRule = () => awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)
    const err = (await backend({ throttleRetries: 2 }).start(request({ spec: spec({ instanceTypes: ['g5.xlarge'], availabilityZones: ['us-east-1a'], spotPolicy: 'spot' }) })).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(NoCapacityError)
    expect(err.message).toContain('RequestLimitExceeded')
    expect(cloud.launches).toHaveLength(3)
  })

  it('subnets: launches into a subnet (its zone), with the security groups', async () => {
    cloud.securityGroups.add('sg-01')
    const h = await backend({ subnetIds: ['subnet-0a', 'subnet-0b'], securityGroupIds: ['sg-01'] }).start(request())
    const input = cloud.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input
    expect(input).toMatchObject({ SubnetId: 'subnet-0a', SecurityGroupIds: ['sg-01'] })
    expect(input.Placement).toBeUndefined()
    expect(h.machine.zone).toBe('us-east-1a')
    await h.release()
  })

  it('eventual consistency: InvocationDoesNotExist right after SendCommand is "running"', async () => {
    cloud.invisibleFor = 3
    const h = await backend().start(request())
    for (let i = 0; i < 3; i++) expect(await h.poll()).toEqual({ state: 'running' })
    expect(await h.poll()).toEqual({ state: 'running' })
    sink.started[0]!.status = 'Success'
    sink.started[0]!.responseCode = 0
    expect(await h.poll()).toEqual({ state: 'ended', exitCode: 0 })
    await h.release()
  })

  it('cancel: SIGTERM command first; CancelCommand only after the grace period', async () => {
    const b = backend({ cancelGraceSec: 30 })
    const h = await b.start(request())
    await h.cancel('cancelled by the CI job')
    const sends = cloud.ssm.commandCalls(SendCommandCommand)
    expect(sends).toHaveLength(2)
    expect(sends[1]!.args[0].input.Parameters!.commands!.join('\n')).toMatch(/kill -TERM/)
    expect(await h.poll()).toEqual({ state: 'running' })
    expect(cloud.ssm.commandCalls(CancelCommandCommand)).toHaveLength(0)
    clock.advance(31_000)
    expect(await h.poll()).toEqual({ state: 'running' })
    expect(cloud.ssm.commandCalls(CancelCommandCommand)).toHaveLength(1)
    expect(await h.poll()).toMatchObject({ state: 'ended', reason: 'the SSM command was cancelled' })
    await h.release()
    expect(cloud.running()).toEqual([])
  })

  it('an instance that vanishes under a running command is lost', async () => {
    const h = await backend().start(request())
    const inst = cloud.instances.get(h.machine.id)!
    inst.state = 'terminated'
    inst.reasonCode = 'Server.InternalError'
    expect(await h.poll()).toMatchObject({ state: 'ended', lost: true, reason: expect.stringContaining('Server.InternalError') })
    await h.release()
  })

  it('release and releaseMachine are idempotent and delete the secret parameter', async () => {
    const req = request({ secretEnv: { TOKEN: 'x' } })
    const b = backend()
    const h = await b.start(req)
    expect(cloud.parameters.size).toBe(1)
    await h.release()
    await h.release()
    expect(cloud.parameters.size).toBe(0)
    await b.releaseMachine(h.machine)
    await b.releaseMachine({ ...h.machine, id: 'i-00000000000000dead' })
    expect(cloud.running()).toEqual([])
  })

  it('releaseMachine (post step) terminates a recorded machine and its secret', async () => {
    const b = backend()
    const h = await b.start(request({ secretEnv: { TOKEN: 'x' } }))
    await backend().releaseMachine(h.machine)
    expect(cloud.running()).toEqual([])
    expect(cloud.parameters.size).toBe(0)
  })

  it('cleanupExpired terminates only tagged instances past dstack:expires-at; dry run lists them', async () => {
    const b = backend()
    const h1 = await b.start(request())
    clock.advance(2 * 3600_000)
    const h2 = await b.start(request({ runName: 'calm-fox-2', runnerScriptKey: 'github.com/acme/models/runs/calm-fox-2/attempts/1/runner.sh' }))
    const at = Date.parse(cloud.instances.get(h1.machine.id)!.tags['dstack:expires-at']!) + 1
    expect(await b.cleanupExpired({ now: at, dryRun: true })).toEqual({ terminated: [h1.machine.id], deletedSecrets: [], deletedGroups: [] })
    expect(cloud.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0)
    expect(await b.cleanupExpired({ now: at })).toEqual({ terminated: [h1.machine.id], deletedSecrets: [], deletedGroups: [] })
    expect(cloud.running().map((i) => i.id)).toEqual([h2.machine.id])
    await h2.release()
  })

  it('cleanupExpired deletes the secret env of attempts whose CI job died, once no attempt can still read it', async () => {
    const b = backend()
    const dead = await b.start(request({ runName: 'brave-otter-1', runnerScriptKey: 'github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh', secretEnv: { TOKEN: 'x' } }))
    const live = await b.start(request({ runName: 'calm-fox-2', runnerScriptKey: 'github.com/acme/models/runs/calm-fox-2/attempts/1/runner.sh', secretEnv: { TOKEN: 'y' } }))
    const [deadName, liveName] = [...cloud.parameters.keys()]
    expect(deadName).toMatch(/^\/dstack\/[0-9a-f]{12}\/brave-otter-1\/1\/env$/)
    cloud.parameters.set('/dstack/not-ours', 'keep')
    cloud.parameterDates.set('/dstack/not-ours', new Date(0))
    const now = Date.now()
    cloud.parameterDates.set(deadName!, new Date(now - 50 * 3600_000)) // the job was killed two days ago
    expect((await b.cleanupExpired({ now, dryRun: true })).deletedSecrets).toEqual([deadName])
    expect(cloud.parameters.has(deadName!)).toBe(true)
    const res = await b.cleanupExpired({ now })
    expect(res.deletedSecrets).toEqual([deadName])
    expect([...cloud.parameters.keys()].sort()).toEqual(['/dstack/not-ours', liveName].sort())
    await dead.release()
    await live.release()
  })

  it('max_duration above 48 h: executionTimeout capped, and said', async () => {
    const req = request({ spec: spec({ maxDurationSec: 72 * 3600 }) })
    const h = await backend().start(req)
    expect(cloud.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input.Parameters!.executionTimeout).toEqual(['172800'])
    expect(req.lines.join('\n')).toMatch(/SSM stops the runner at 48 h/)
    await h.release()
  })

  it('a store with a custom endpoint: the bootstrap passes it, SSM output goes nowhere', async () => {
    const h = await backend().start(request({ store: { kind: 's3', bucket: 'bkt', prefix: '', endpoint: 'http://minio:9000' } }))
    const input = cloud.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input
    expect(input.Parameters!.commands!.join('\n')).toContain("--endpoint-url 'http://minio:9000'")
    expect(input.OutputS3BucketName).toBeUndefined()
    await h.release()
  })
})
