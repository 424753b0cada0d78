/**
 * Scenarios of issue 4 ("Done means"): EC2 and SSM are doubles; the SSM SendCommand double hands
 * the real bootstrap to a simulated instance that runs it, and the real runner script it fetches,
 * with bash and the real aws CLI against s3rver. Each scenario ends by checking that no instance is
 * left running and that no log line or artifact was lost. `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { RunInstancesCommand, TerminateInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2'
import { CancelCommandCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import { NoCapacityError, UserError } from '../../../src/model/index.js'
import { ExpiredCredentialsError } from '../../../src/backends/aws/index.js'
import { QuotaError } from '../../../src/backends/aws/index.js'
import { awsError } from './fake-cloud.js'
import { startHarness, spec, until, PREFIX, REPO, RUN, type Harness } from './harness.js'

let h: Harness

beforeEach(async () => {
  h = await startHarness()
})

afterEach(async () => {
  await h.close()
})

const spot = (i: RunInstancesCommandInput) => i.InstanceMarketOptions?.MarketType === 'spot'

async function expectNothingLeft(): Promise<void> {
  await h.sim.idle()
  expect(h.cloud.running().map((i) => `${i.id} ${i.state}`)).toEqual([])
}

async function expectCompleteAttempt(n: number): Promise<void> {
  const logs = await h.logs(n)
  for (const l of ['line 1', 'line 2', 'line 3']) expect(logs).toContain(l)
  const status = await h.status(n)
  expect(status).toMatchObject({ phase: 'done', status: 'succeeded', exitCode: 0 })
  const artifacts = await h.keys(`${PREFIX}/${REPO}/runs/${RUN}/artifacts`)
  expect(artifacts).toEqual(expect.arrayContaining([`${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/r.txt`, `${PREFIX}/${REPO}/runs/${RUN}/artifacts.json`]))
}

describe('aws backend scenarios', () => {
  it('happy path: cheapest spot candidate, bootstrap fetches the runner, secrets via SecureString, logs and artifacts stored', async () => {
    const s = spec({ commands: ['for i in 1 2 3; do echo "line $i"; done', 'echo "token has ${#HF_TOKEN} chars"', 'mkdir -p out && echo result > out/r.txt'], secretEnv: { HF_TOKEN: '${{ secrets.HF_TOKEN }}' } })
    // the bootstrap's own aws CLI fetches runner.sh here (elsewhere the wrapper's curl stands in for it)
    h.sim.realBootstrapCli = true
    const req = await h.request(1, s, { secretEnv: { HF_TOKEN: "s3cr3t 'quoted' $value" } })
    const backend = h.backend()
    const handle = await backend.start(req)
    expect(req.machines).toHaveLength(1)
    expect(handle.machine).toMatchObject({ backend: 'aws', instanceType: 'g5.xlarge', market: 'spot', region: 'us-east-1', zone: 'us-east-1a', priceSource: 'ec2:DescribeSpotPriceHistory' })
    const exec = await h.watch(handle)
    expect(exec).toEqual({ state: 'ended', exitCode: 0 })
    await handle.release()

    // the launch
    const input = h.cloud.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input
    expect(input).toMatchObject({
      InstanceType: 'g5.xlarge',
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
      IamInstanceProfile: { Name: 'dstack-runner' },
      Placement: { AvailabilityZone: 'us-east-1a' },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time' } },
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 100, VolumeType: 'gp3', DeleteOnTermination: true } }]
    })
    expect(input.InstanceMarketOptions?.SpotOptions?.MaxPrice).toBeUndefined()
    const tags = Object.fromEntries(input.TagSpecifications![0]!.Tags!.map((t) => [t.Key, t.Value]))
    expect(tags).toMatchObject({ 'dstack:run': RUN, 'dstack:repo': REPO, 'dstack:attempt': '1', Name: `dstack-${RUN}-1` })
    // launched at the clock's start (nothing slept before the launch): now + max_duration + margin
    expect(tags['dstack:expires-at']).toBe(new Date(Date.parse('2026-11-26T12:00:00Z') + (3600 + 900) * 1000).toISOString())
    expect(input.TagSpecifications!.map((t) => t.ResourceType)).toEqual(['instance', 'volume'])

    // the command: a few lines, no secret in it, full output to the attempt's ssm/ folder
    const send = h.cloud.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input
    const commands = send.Parameters!.commands!
    expect(commands.length).toBeLessThan(15)
    expect(JSON.stringify(send)).not.toContain('s3cr3t')
    expect(send).toMatchObject({ DocumentName: 'AWS-RunShellScript', OutputS3BucketName: 'runs-bucket', OutputS3KeyPrefix: `${PREFIX}/${REPO}/runs/${RUN}/attempts/1/ssm` })
    expect(send.Parameters!.executionTimeout).toEqual([String(3600 + 900)])
    expect(send.Comment!.length).toBeLessThanOrEqual(100)

    // the secret reached the job's environment, and its parameter is gone
    const logs = await h.logs(1)
    expect(logs).toContain(`token has ${"s3cr3t 'quoted' $value".length} chars`)
    expect(h.cloud.parameters.size).toBe(0)
    expect(h.cloud.deletedParameters).toHaveLength(1)
    expect(h.cloud.deletedParameters[0]).toMatch(/^\/dstack\/[0-9a-f]{12}\/brave-otter-1\/1\/env$/)

    await expectCompleteAttempt(1)
    await expectNothingLeft()
  })

  it('capacity errors across candidates, then success in the next zone/type', async () => {
    h.cloud.launchScript = [
      () => awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient g5.xlarge capacity in the Availability Zone you requested (us-east-1a).', 500),
      () => awsError('InsufficientInstanceCapacity', 'no capacity in us-east-1b', 500),
      () => awsError('Unsupported', 'Your requested instance type (g5.2xlarge) is not supported in your requested Availability Zone (us-east-1a).')
    ]
    const req = await h.request(1, spec())
    const handle = await h.backend().start(req)
    expect(handle.machine).toMatchObject({ instanceType: 'g5.2xlarge', market: 'spot', zone: 'us-east-1b' })
    expect(h.cloud.launches.map((l) => `${l.input.InstanceType} ${l.input.Placement?.AvailabilityZone} ${l.result.startsWith('i-') ? 'ok' : l.result}`)).toEqual([
      'g5.xlarge us-east-1a InsufficientInstanceCapacity',
      'g5.xlarge us-east-1b InsufficientInstanceCapacity',
      'g5.2xlarge us-east-1a Unsupported',
      'g5.2xlarge us-east-1b ok'
    ])
    // one SDK call per candidate: the launch client does not retry capacity errors
    expect(h.cloud.ec2.commandCalls(RunInstancesCommand)).toHaveLength(4)
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    await expectCompleteAttempt(1)
    await expectNothingLeft()
  })

  it('spot quota exhausted: skips every spot candidate of the family and falls back to on-demand', async () => {
    h.cloud.launchRule = (i) => (spot(i) ? awsError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded') : undefined)
    const req = await h.request(1, spec())
    const handle = await h.backend().start(req)
    expect(handle.machine).toMatchObject({ instanceType: 'g5.xlarge', market: 'on-demand', pricePerHour: 1.006, priceSource: 'pricing:GetProducts' })
    expect(h.cloud.launches.filter((l) => spot(l.input))).toHaveLength(1)
    expect(h.cloud.launches[1]!.input.InstanceMarketOptions).toBeUndefined()
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    await expectCompleteAttempt(1)
    await expectNothingLeft()
  })

  it('every candidate stopped by a quota: a QuotaError (not retried) lists each one and says which quota to raise', async () => {
    h.cloud.launchRule = (i) => (spot(i) ? awsError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded') : awsError('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 0 allows'))
    const req = await h.request(1, spec())
    const err = (await h.backend().start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(QuotaError)
    expect(err).not.toBeInstanceOf(NoCapacityError)
    expect(err.message).toContain('g5.xlarge spot in us-east-1a')
    expect(err.message).toContain('MaxSpotInstanceCountExceeded')
    expect(err.message).toContain('VcpuLimitExceeded')
    expect(err.message).toContain('aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF')
    expect(err.message).toContain('--quota-code L-DB2E81BA')
    expect(err.message).toContain('https://us-east-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-3819A6DF')
    expect(err.message).toMatch(/skipped \(the G and VT spot quota is exhausted\)/)
    // the A10G types of the catalogue that fit the (default, 64 vCPU) quotas × 2 zones × 2 markets: preflight dropped g5.24xlarge and g5.48xlarge
    expect(err.message.split('\n').filter((l) => l.startsWith('  - g5.'))).toHaveLength(24)
    expect(err.message).not.toContain('g5.48xlarge')
    // two launches only: one per quota
    expect(h.cloud.launches).toHaveLength(2)
    await expectNothingLeft()
  })

  it('spot reclaimed before it came Online: terminated, next candidate', async () => {
    let first = true
    h.cloud.reclaimBeforeOnline = () => {
      const r = first
      first = false
      return r
    }
    const req = await h.request(1, spec())
    const handle = await h.backend().start(req)
    expect(req.machines).toHaveLength(2)
    expect(req.lines.join('\n')).toMatch(/terminated \(Server\.SpotInstanceTermination\) before it came Online/)
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    await expectCompleteAttempt(1)
    await expectNothingLeft()
  })

  it('never Online in SSM: the instance is terminated and the error names the likely causes', async () => {
    h.cloud.nextOnlineAfter = Infinity
    const req = await h.request(1, spec())
    const err = (await h.backend({ ssmTimeoutSec: 300 }).start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toContain('did not come Online in SSM within 300 s')
    expect(err.message).toContain('AmazonSSMManagedInstanceCore')
    expect(err.message).toMatch(/ssmmessages/)
    expect(err.message).toMatch(/AMI has no SSM agent/)
    expect(h.cloud.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1)
    await expectNothingLeft()
  })

  it('interruption mid-run: attempt 1 ends interrupted with its logs kept; attempt 2 prefers on-demand and succeeds', async () => {
    const s = spec({ commands: ['echo "line 1"', 'if [ "$DSTACK_ATTEMPT" = 1 ]; then sleep 60; fi', 'echo "line 2"; echo "line 3"', 'mkdir -p out && echo result > out/r.txt'] })
    const backend = h.backend()
    const req1 = await h.request(1, s)
    const h1 = await backend.start(req1)
    expect(h1.machine.market).toBe('spot')
    await until(() => h.jobLog(h1.machine.id, 1).includes('line 1'))
    h.sim.onExit = (_cmd, inst) => {
      if (inst.id === h1.machine.id) h.cloud.reclaim(inst.id)
    }
    h.sim.announceInterruption(h1.machine.id)
    const e1 = await h.watch(h1)
    expect(e1).toMatchObject({ state: 'ended', interrupted: true })
    await h1.release()
    const st1 = await h.status(1)
    expect(st1).toMatchObject({ status: 'interrupted', reason: expect.stringContaining('spot interruption notice') })
    expect(await h.logs(1)).toContain('line 1')
    expect(h.cloud.instances.get(h1.machine.id)).toMatchObject({ state: 'terminated', reasonCode: 'Server.SpotInstanceTermination' })

    const req2 = await h.request(2, s, { previousAttempts: [{ n: 1, startedAt: new Date().toISOString(), status: 'interrupted', machine: h1.machine }] })
    const h2 = await backend.start(req2)
    expect(req2.lines.join('\n')).toMatch(/attempt 1 was interrupted .*on-demand first/)
    expect(h2.machine.market).toBe('on-demand')
    expect(await h.watch(h2)).toMatchObject({ state: 'ended', exitCode: 0 })
    await h2.release()
    await expectCompleteAttempt(2)
    // both attempts' logs are kept
    expect(await h.logs(1)).toContain('line 1')
    await expectNothingLeft()
  })

  it('cancel during launch: the instance that was just created is terminated', async () => {
    const ac = new AbortController()
    h.cloud.launchRule = () => {
      ac.abort()
      return undefined
    }
    const req = await h.request(1, spec(), { signal: ac.signal })
    await expect(h.backend().start(req)).rejects.toThrow(/cancelled while starting a machine/)
    expect(h.cloud.launches).toHaveLength(1)
    await expectNothingLeft()
  })

  it('cancel while waiting for SSM: terminated, no command sent', async () => {
    const ac = new AbortController()
    h.cloud.nextOnlineAfter = Infinity
    const clock = h.clock
    let sleeps = 0
    const backend = h.backend({
      sleep: async (ms) => {
        if (++sleeps === 3) ac.abort()
        await clock.sleep(ms)
      }
    })
    const req = await h.request(1, spec(), { signal: ac.signal })
    await expect(backend.start(req)).rejects.toThrow(/cancelled while waiting for i-\w+ to come Online/)
    expect(req.machines).toHaveLength(1)
    expect(h.cloud.ssm.commandCalls(SendCommandCommand)).toHaveLength(0)
    await expectNothingLeft()
  })

  it('cancel during the command: SIGTERM through a second command, the runner saves logs and status', async () => {
    const s = spec({ commands: ['echo "line 1"; echo "line 2"; echo "line 3"', 'mkdir -p out && echo partial > out/r.txt', 'sleep 60'] })
    const req = await h.request(1, s)
    const handle = await h.backend().start(req)
    await until(() => h.jobLog(handle.machine.id, 1).includes('line 3'))
    await handle.cancel('cancelled by the CI job')
    const exec = await h.watch(handle)
    expect(exec).toMatchObject({ state: 'ended', exitCode: 143 })
    await handle.release()
    const sends = h.cloud.ssm.commandCalls(SendCommandCommand)
    expect(sends).toHaveLength(2)
    expect(sends[1]!.args[0].input.Parameters!.commands!.join('\n')).toContain('kill -TERM')
    // the runner stopped within the grace period, so SSM's hard cancel was not needed
    expect(h.cloud.ssm.commandCalls(CancelCommandCommand)).toHaveLength(0)
    expect(await h.status(1)).toMatchObject({ status: 'cancelled' })
    const logs = await h.logs(1)
    for (const l of ['line 1', 'line 2', 'line 3']) expect(logs).toContain(l)
    expect(await h.keys(`${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/`)).toHaveLength(1)
    await expectNothingLeft()
  })

  it('throttling bursts: RequestLimitExceeded ×3 then success, same ClientToken; throttled polls are ignored', async () => {
    const throttle = () => awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)
    h.cloud.launchScript = [throttle, throttle, throttle]
    const req = await h.request(1, spec())
    const handle = await h.backend().start(req)
    const calls = h.cloud.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)
    expect(calls).toHaveLength(4)
    expect(new Set(calls.map((c) => c.ClientToken)).size).toBe(1)
    expect(new Set(calls.map((c) => `${c.InstanceType} ${c.Placement?.AvailabilityZone}`)).size).toBe(1)
    expect(req.lines.filter((l) => l.startsWith('RequestLimitExceeded from RunInstances; retrying'))).toHaveLength(3)
    h.cloud.pollErrors = [awsError('ThrottlingException', 'Rate exceeded', 400), awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)]
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    await expectCompleteAttempt(1)
    await expectNothingLeft()
  })

  it('expired credentials while watching: a clear error; release still terminates', async () => {
    const s = spec({ commands: ['echo "line 1"; echo "line 2"; echo "line 3"', 'sleep 60'] })
    const req = await h.request(1, s)
    const handle = await h.backend().start(req)
    // the lines shipped so far are in the store before the credentials expire
    await until(async () => (await h.logs(1)).includes('line 3'))
    h.clock.advance(3600_000)
    h.cloud.pollErrors = [awsError('ExpiredToken', 'The security token included in the request is expired', 400)]
    const err = (await handle.poll().catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(ExpiredCredentialsError)
    expect(err.message).toMatch(/AWS credentials expired after 1h 0m \d+s .*raise role-duration-seconds/)
    expect(err.message).toContain('terminates itself at max_duration')
    await handle.release()
    const logs = await h.logs(1)
    for (const l of ['line 1', 'line 2', 'line 3']) expect(logs).toContain(l)
    await expectNothingLeft()
  })
})
