/**
 * Scenarios of issue 8 ("the first run on a real AWS account succeeds, or fails in seconds saying
 * what to change"). The EC2 double answers DescribeInstanceTypes from the real GPU catalogue
 * (fixtures/instance-types.json); SSM hands the real bootstrap to a simulated instance that runs it
 * and the real runner with bash and the real aws CLI against s3rver. Nothing waits on the clock:
 * the backend's sleeps run on a virtual clock, and the rest waits for events (status.json, a line
 * in the job log, a process exit). `npm run e2e` runs this file.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach, jest } from '@jest/globals'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { DescribeInstanceTypesCommand, DescribeInstanceTypeOfferingsCommand, DescribeSpotPriceHistoryCommand, RunInstancesCommand, TerminateInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2'
import { GetParameterCommand, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm'
import { GetProductsCommand } from '@aws-sdk/client-pricing'
import { NoCapacityError, UserError } from '../../../src/model/index.js'
import { CANCEL_GRACE_SEC, DEFAULT_AMI_PARAMETERS, QuotaError, RUNNER_KILL_AFTER_SEC } from '../../../src/backends/aws/index.js'
import { attemptCost, attemptOutcome, runWorkflow } from '../../../src/orchestrate/index.js'
import { RunStore, S3Store } from '../../../src/store/index.js'
import { main as cli } from '../../../src/entry/cli.js'
import { post } from '../../../src/entry/action-post.js'
import { CANCEL_WAIT_SEC, deferReleaseOnCancel, STATE_ATTEMPTS, type AttemptRef } from '../../../src/entry/cancel-wait.js'
import { STATE_MACHINES } from '../../../src/ci/github.js'
import { RUNNER_BODY } from '../../../src/runner/body.generated.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { awsError, DEFAULT_AMI_IDS } from './fake-cloud.js'
import { startHarness, spec, until, PREFIX, REPO, RUN, type Harness } from './harness.js'

// a safety net for a busy machine, not a speed target: every wait below ends on an event
jest.setTimeout(300_000)

let h: Harness

beforeEach(async () => {
  h = await startHarness()
})

afterEach(async () => {
  await h.close()
})

const spot = (i: RunInstancesCommandInput) => i.InstanceMarketOptions?.MarketType === 'spot'
const launchedTypes = () => h.cloud.launches.map((l) => String(l.input.InstanceType))
/** `gpu: 1`: any GPU, any vendor, any name */
const anyGpu = { gpu: { names: [], count: { min: 1 } }, cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } }

async function expectNothingLeft(): Promise<void> {
  await h.sim.idle()
  expect(h.cloud.running().map((i) => `${i.id} ${i.state}`)).toEqual([])
}

/** process.env for code that builds its own clients (the CLI, the post step): s3rver credentials and the action's state */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await f()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

describe('first contact with a real account', () => {
  it('amd excluded: `gpu: 1` with the default AMI never picks AMD g4ad or the NVIDIA generations the AMI cannot drive', async () => {
    const req = await h.request(1, spec({ resources: anyGpu }))
    const handle = await h.backend().start(req)
    // g4ad.xlarge (AMD Radeon Pro V520) is the cheapest GPU in the catalogue; g4dn.xlarge is the cheapest the DLAMI drives
    expect(handle.machine).toMatchObject({ instanceType: 'g4dn.xlarge', market: 'spot' })
    expect(launchedTypes().filter((t) => /^(g4ad|g3s?|p2|p3|p3dn)\./.test(t))).toEqual([])
    const left = req.lines.find((l) => /left out \d+ type\(s\) the AMI cannot drive/.test(l)) ?? ''
    for (const fam of ['g4ad', 'g3', 'g3s', 'p2', 'p3', 'p3dn']) expect(left.split(/[(), ]+/)).toContain(fam)
    await handle.release()

    // the workflow asks for AMD: no default AMI drives it → an error naming `ami`, before any launch
    const amd = await h.request(2, spec({ resources: { ...anyGpu, gpu: { names: [], vendor: 'amd', count: { min: 1 } } } }))
    const err = (await h.backend().start(amd).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/asks for amd GPUs .*NVIDIA drivers only/)
    expect(err.hint).toMatch(/set `ami` to an AMI with the amd drivers/)
    expect(h.cloud.launches).toHaveLength(1)

    // with the user's own AMI, AMD types are theirs to pick
    h.cloud.images.set('ami-0aaaaaaaaaaaaaaaa', 'x86_64')
    const own = await h.request(3, spec({ resources: { ...anyGpu, gpu: { names: [], vendor: 'amd', count: { min: 1 } } } }))
    const h3 = await h.backend({ ami: 'ami-0aaaaaaaaaaaaaaaa' }).start(own)
    expect(h3.machine.instanceType).toBe('g4ad.xlarge')
    await h3.release()
    await expectNothingLeft()
  })

  it('arm64 ami: an arm workflow gets the arm64 DLAMI and g5g; a user AMI decides the architecture; a mismatch fails before launching', async () => {
    const arm = spec({ resources: { ...anyGpu, cpu: { min: 2, arch: 'arm' } } })
    const req = await h.request(1, arm)
    const handle = await h.backend().start(req)
    expect(handle.machine.instanceType).toBe('g5g.xlarge')
    const input = h.cloud.ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input
    expect(input.ImageId).toBe(DEFAULT_AMI_IDS.arm)
    expect(h.cloud.ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toContain(DEFAULT_AMI_PARAMETERS.arm)
    await handle.release()

    // the user's arm64 AMI, no arch in the workflow: the candidates follow the AMI
    h.cloud.images.set('ami-0a1b2c3d4e5f60718', 'arm64')
    const own = await h.request(2, spec({ resources: anyGpu }))
    const h2 = await h.backend({ ami: 'ami-0a1b2c3d4e5f60718' }).start(own)
    expect(h2.machine.instanceType).toMatch(/^g5g\./)
    await h2.release()

    // an x86_64 AMI for an arm workflow: the error names `ami`, nothing launches
    const launches = h.cloud.launches.length
    const bad = await h.request(3, arm)
    const err = (await h.backend({ ami: DEFAULT_AMI_IDS.x86 }).start(bad).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/`ami` ami-0123456789abcdef0 .* is x86_64 in us-east-1, but the workflow asks for arm64/)
    expect(h.cloud.launches).toHaveLength(launches)
    await expectNothingLeft()
  })

  it('quota fails fast: vCPU quotas of 0 stop the start before any launch, and a quota error is never retried', async () => {
    h.cloud.quotaValues.set('L-3819A6DF', 0)
    h.cloud.quotaValues.set('L-DB2E81BA', 0)
    const req = await h.request(1, spec())
    const err = (await h.backend().start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(QuotaError)
    expect(err.message).toContain('All G and VT Spot Instance Requests (L-3819A6DF) is 0 vCPUs')
    expect(err.message).toContain('https://us-east-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-DB2E81BA')
    expect(h.cloud.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0)

    // Service Quotas says there is room, RunInstances says otherwise: one launch per quota, one attempt, no retry for an hour
    h.cloud.quotaValues.clear()
    h.cloud.launchRule = (i) => (spot(i) ? awsError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded') : awsError('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 0 allows'))
    const repo = makeRepo({ '.dstack/train.dstack.yml': 'type: task\nname: train\ncommands:\n  - echo hi\nresources:\n  gpu: A10G\nspot_policy: auto\nregions: [us-east-1]\n' })
    try {
      const objects = new S3Store({ bucket: h.s3.bucket, prefix: PREFIX, region: 'us-east-1', client: h.s3.client })
      const rec = await runWorkflow({ repoDir: repo.dir, workflow: 'train', args: [], environ: {}, backend: h.backend(), store: new RunStore(objects), storeLocation: objects.location, signal: new AbortController().signal, emit: () => undefined, pollIntervalMs: 50, now: h.clock.now, sleep: h.clock.sleep })
      expect(rec.attempts).toHaveLength(1)
      expect(rec.status).toBe('failed')
      expect(rec.reason).toMatch(/vCPU quotas stopped every launch/)
      expect(rec.reason).toContain('L-3819A6DF')
      expect(h.cloud.launches).toHaveLength(2)
    } finally {
      repo.cleanup()
    }
    await expectNothingLeft()
  })

  it('no default vpc: preflight stops the start naming `subnet-ids`; if it slips through, VPCIdNotSpecified fails at once', async () => {
    h.cloud.defaultVpc = false
    const req = await h.request(1, spec())
    const err = (await h.backend().start(req).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/FAIL {2}default VPC in us-east-1: this region has no default VPC/)
    expect(err.message).toMatch(/fix: set `subnet-ids` to subnets of us-east-1 .*create-default-vpc/)
    expect(h.cloud.launches).toHaveLength(0)

    // without the preflight (e.g. a role that cannot DescribeVpcs), RunInstances' own error: one launch, no capacity retry
    h.cloud.launchRule = () => awsError('VPCIdNotSpecified', 'No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.')
    const err2 = (await h.backend({ preflight: false }).start(await h.request(2, spec())).catch((e: unknown) => e)) as UserError
    expect(err2).toBeInstanceOf(UserError)
    expect(err2).not.toBeInstanceOf(NoCapacityError)
    expect(err2.message).toContain('VPCIdNotSpecified')
    expect(err2.hint).toMatch(/no default VPC: set `subnet-ids`/)
    expect(h.cloud.launches).toHaveLength(1)
    await expectNothingLeft()
  })

  it('preflight: `dstack-run check --backend aws` prints one row per check with its fix, and exits 1 when one fails', async () => {
    const repo = makeRepo({ '.dstack/train.dstack.yml': 'type: task\nname: train\ncommands:\n  - echo hi\nresources:\n  gpu: A10G\nregions: [us-east-1]\n' })
    const check = async (extra: string[]) => {
      let out = ''
      let err = ''
      const io = { environ: { AWS_REGION: 'us-east-1' }, cwd: repo.dir, out: { write: (s: string) => ((out += s), true) }, err: { write: (s: string) => ((err += s), true) }, signal: new AbortController().signal }
      const code = await withEnv(h.s3.env, () => cli(['check', '--backend', 'aws', 'train', '--store', `s3://${h.s3.bucket}/${PREFIX}`, '--endpoint', h.s3.endpoint, ...extra], io))
      return { code, out, err }
    }
    try {
      h.cloud.missingProfiles.add('no-such-profile')
      h.cloud.quotaValues.set('L-3819A6DF', 0)
      const bad = await check(['--instance-profile', 'no-such-profile', '--security-group-ids', 'sg-0abc'])
      expect(bad.code).toBe(1)
      expect(bad.out).toMatch(/^ok {4}credentials: arn:aws:sts::123456789012:assumed-role\/dstack-ci\/GitHubActions \(account 123456789012\) in us-east-1$/m)
      expect(bad.out).toMatch(/^FAIL {2}instance profile: no-such-profile does not exist\n {6}fix: create it: aws iam create-instance-profile/m)
      expect(bad.out).toMatch(/^FAIL {2}security groups in us-east-1: InvalidGroup.NotFound/m)
      expect(bad.out).toMatch(/^ok {4}default VPC in us-east-1: vpc-0default$/m)
      expect(bad.out).toMatch(/^ok {4}AMI in us-east-1: ami-0123456789abcdef0 from \/aws\/service\/deeplearning\/ami\/x86_64\//m)
      expect(bad.out).toMatch(/^ok {4}store: s3:\/\/runs-bucket\/dstack is writable$/m)
      expect(bad.out).toMatch(/^FAIL {2}spot vCPU quota in us-east-1: All G and VT Spot Instance Requests \(L-3819A6DF\) is 0 vCPUs; the smallest matching type needs 4\n {6}fix: request at least 4: https:\/\/us-east-1\.console\.aws\.amazon\.com\/servicequotas\/home\/services\/ec2\/quotas\/L-3819A6DF$/m)
      // the task's A10G types (gpu without a count is 1..: the 8 g5 sizes) × 2 zones × 2 markets; the spot
      // half is dropped, and so are g5.24xlarge and g5.48xlarge (96 and 192 vCPUs) under the 64 vCPU on-demand quota
      expect(bad.out).toMatch(/^ok {4}candidates: 12 of 32 fit the quotas; first: g5.xlarge on-demand in us-east-1a/m)
      expect(bad.err).toContain('3 check(s) failed')
      // the check wrote nothing it did not delete
      expect(await h.keys(`${PREFIX}/.dstack-check/`)).toEqual([])
      expect(h.cloud.launches).toHaveLength(0)

      h.cloud.securityGroups.add('sg-0abc')
      h.cloud.quotaValues.clear()
      const good = await check(['--instance-profile', 'dstack-runner', '--security-group-ids', 'sg-0abc'])
      expect(good.out).not.toMatch(/^FAIL/m)
      expect(good.out).toMatch(/^ok {4}pass the instance role: iam:PassRole on arn:aws:iam::123456789012:role\/dstack-runner-role to ec2.amazonaws.com is allowed for arn:aws:iam::123456789012:role\/dstack-ci$/m)
      expect(good.out).toMatch(/^ok {4}instance role: arn:aws:iam::123456789012:role\/dstack-runner-role may read s3:\/\/runs-bucket\/dstack\/, write and delete under its runs\/ folders, and register with SSM$/m)

      // the first-run mistake of the bootstrap (no s3:GetObject for the instance) is named before anything launches
      h.cloud.deniedActions.add('arn:aws:iam::123456789012:role/dstack-runner-role|s3:GetObject')
      const noRead = await check(['--instance-profile', 'dstack-runner', '--security-group-ids', 'sg-0abc'])
      expect(noRead.out).toMatch(/^warn {2}instance role: arn:aws:iam::123456789012:role\/dstack-runner-role is not allowed s3:GetObject \(implicitDeny\) by its own policies \(checked on s3:\/\/runs-bucket\/dstack\/[^ ]*\/runs\/[^ ]*\/runner.sh and [^)]*\)\n {6}fix: attach AmazonSSMManagedInstanceCore and examples\/iam\/instance-role-policy.json/m)
      h.cloud.deniedActions.clear()
      expect(good.err).toContain('ready: no check failed')
      expect(good.code).toBe(0)

      // security groups belong to one region: a start across two regions leaves out the one without them
      h.cloud.securityGroups.add('us-east-1/sg-0e1')
      const req = await h.request(1, spec({ regions: [] }))
      const handle = await h.backend({ regions: ['us-east-1', 'us-west-2'], securityGroupIds: ['sg-0e1'] }).start(req)
      expect(handle.machine.region).toBe('us-east-1')
      expect(req.lines.join('\n')).toMatch(/preflight: FAIL {2}security groups in us-west-2: InvalidGroup.NotFound/)
      expect(req.lines).toContain('preflight: leaving out us-west-2 (see above)')
      expect(h.cloud.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.SecurityGroupIds)).toEqual([['sg-0e1']])
      await handle.release()
    } finally {
      repo.cleanup()
    }
  })

  it('bootstrap stderr: a bootstrap that cannot fetch the runner fails with its stderr tail and where the full output is', async () => {
    h.sim.realBootstrapCli = true // the real CLI's own error reaches the reason
    const req = await h.request(1, spec())
    // what a role without s3:GetObject, or a wrong key, looks like from the instance
    await h.s3.client.send(new DeleteObjectCommand({ Bucket: h.s3.bucket, Key: `${PREFIX}/${REPO}/runs/${RUN}/attempts/1/runner.sh` }))
    const handle = await h.backend().start(req)
    const exec = await h.watch(handle, 240_000)
    await handle.release()
    expect(exec).toMatchObject({ state: 'ended', exitCode: 1 })
    const reason = exec.state === 'ended' ? exec.reason ?? '' : ''
    expect(reason).toMatch(/^the runner exited with 1; its stderr ends with:\n/)
    expect(reason).toMatch(/404|does not exist|Not Found/)
    const ssmOut = `(full output: https://s3.amazonaws.com/runs-bucket/${PREFIX}/${REPO}/runs/${RUN}/attempts/1/ssm/`
    expect(reason).toContain(ssmOut)
    // SSM's command ids are UUIDs
    expect(reason.slice(reason.indexOf(ssmOut) + ssmOut.length)).toMatch(/^[0-9a-f-]{36}\//)
    expect(reason).toMatch(/awsrunShellScript\/0\.awsrunShellScript\/stderr\)$/)
    // the runner never started, so the outcome comes from the backend, and carries the same words
    expect(await h.status(1)).toBeUndefined()
    expect(attemptOutcome(undefined, exec, false)).toMatchObject({ status: 'failed', reason })
    await expectNothingLeft()
  })

  it('interrupted cost: stopping on the notice and terminating is billed; $0 only when EC2 itself reclaimed the instance', async () => {
    const s = spec({ commands: ['echo "line 1"', 'sleep 60'] })
    const backend = h.backend()
    // 1. the runner stops on the interruption notice and exits 75; the instance is still running, we terminate it: billed
    const r1 = await h.request(1, s)
    const h1 = await backend.start(r1)
    await until(() => h.jobLog(h1.machine.id, 1).includes('line 1'), 120_000)
    h.sim.announceInterruption(h1.machine.id)
    const e1 = await h.watch(h1, 240_000)
    expect(e1).toMatchObject({ state: 'ended', interrupted: true })
    expect(e1.state === 'ended' && e1.reclaimed).toBeFalsy()
    expect(h.cloud.instances.get(h1.machine.id)!.state).toBe('running')
    await h1.release()
    const o1 = attemptOutcome(await h.status(1) as never, e1, false)
    expect(o1).toMatchObject({ status: 'interrupted' })
    const started = h1.machine.launchedAt!
    const tenMinutes = new Date(Date.parse(started) + 600_000).toISOString()
    expect(attemptCost(h1.machine.pricePerHour!, started, tenMinutes, o1.status, o1.reclaimed)).toBeCloseTo((h1.machine.pricePerHour! * 600) / 3600, 4)
    expect(h.cloud.instances.get(h1.machine.id)).toMatchObject({ state: 'terminated', reasonCode: 'Client.UserInitiatedShutdown' })

    // 2. EC2 reclaims the instance under the running job (state reason Server.SpotInstanceTermination): not billed
    const r2 = await h.request(2, s)
    const h2 = await backend.start(r2)
    await until(() => h.jobLog(h2.machine.id, 2).includes('line 1'), 120_000)
    h.cloud.reclaim(h2.machine.id)
    const e2 = await h.watch(h2, 240_000)
    expect(e2).toMatchObject({ state: 'ended', interrupted: true, reclaimed: true })
    await h2.release()
    const o2 = attemptOutcome(await h.status(2) as never, e2, false)
    expect(o2).toMatchObject({ status: 'interrupted', reclaimed: true })
    expect(attemptCost(h2.machine.pricePerHour!, h2.machine.launchedAt!, new Date(Date.parse(h2.machine.launchedAt!) + 600_000).toISOString(), o2.status, o2.reclaimed)).toBe(0)
    await expectNothingLeft()
  })

  it('cancel keeps artifacts: the main step leaves the machine to the post step, which waits for the runner to save, then terminates', async () => {
    // the cancel timings agree: the runner's SIGKILL delay, the backend's CancelCommand grace, the post step's bound
    expect(RUNNER_BODY).toContain(`KILL_AFTER="\${DSTACK_KILL_AFTER:-${RUNNER_KILL_AFTER_SEC}}"`)
    expect(CANCEL_WAIT_SEC).toBe(CANCEL_GRACE_SEC)
    expect(h.backend().options.cancelGraceSec).toBe(CANCEL_GRACE_SEC)

    const s = spec({ commands: ['echo "line 1"; echo "line 2"; echo "line 3"', 'mkdir -p out && echo partial > out/r.txt', 'sleep 60'] })
    const req = await h.request(1, s)
    const ac = new AbortController()
    const lines: string[] = []
    const main = deferReleaseOnCancel(h.backend(), ac.signal, (l) => void lines.push(l))
    const handle = await main.start(req)
    await until(() => h.jobLog(handle.machine.id, 1).includes('line 3'), 120_000)

    // the CI job is cancelled: the main step asks the runner to stop and, being about to be killed, does not terminate
    ac.abort()
    await handle.cancel('cancelled by the CI job')
    await handle.release()
    expect(lines.join('\n')).toMatch(/leaving i-\w+ to the post step/)
    expect(h.cloud.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0)

    // the post step (GitHub runs it after a cancellation) with what the main step saved
    const ref: AttemptRef = { machineId: handle.machine.id, store: { kind: 's3', bucket: h.s3.bucket, prefix: PREFIX, region: 'us-east-1', endpoint: h.s3.endpoint }, repoId: REPO, run: RUN, attempt: 1 }
    const terminatedAt: (string | undefined)[] = []
    h.sim.onExit = () => undefined
    const state = { [`STATE_${STATE_MACHINES}`]: JSON.stringify([handle.machine]), [`STATE_${STATE_ATTEMPTS}`]: JSON.stringify([ref]), AWS_REGION: 'us-east-1', ...h.s3.env, // the bound is a safety net here: the wait ends when status.json says done
      DSTACK_CANCEL_WAIT_SEC: '600' }
    const saved = h.cloud.sink!
    h.cloud.sink = { start: (c, i, p) => saved.start(c, i, p), cancel: (c) => saved.cancel(c), terminate: (i) => { void h.status(1).then((st) => terminatedAt.push(String(st?.phase))); saved.terminate(i) } }
    await withEnv(state, () => post({ pollMs: 100 }))
    await until(() => terminatedAt.length > 0, 120_000)

    // terminated only after status.json said done: artifacts, every log line and the status are in the store
    expect(terminatedAt).toEqual(['done'])
    expect(h.cloud.instances.get(handle.machine.id)!.state).toBe('terminated')
    expect(await h.status(1)).toMatchObject({ phase: 'done', status: 'cancelled' })
    const logs = await h.logs(1)
    for (const l of ['line 1', 'line 2', 'line 3']) expect(logs).toContain(l)
    expect(await h.keys(`${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/`)).toEqual([`${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/r.txt`])
    await expectNothingLeft()
  })

  it('throttled search: RequestLimitExceeded during the search is retried, and the catalogue is then read from the store for a day', async () => {
    const throttle = () => awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)
    h.cloud.searchErrors = [throttle(), throttle(), throttle()]
    const s = spec()
    const r1 = await h.request(1, s)
    const h1 = await h.backend().start(r1)
    expect(h1.machine.instanceType).toBe('g5.xlarge')
    expect(r1.lines.filter((l) => /^RequestLimitExceeded while listing the instance types of us-east-1; retrying/.test(l))).toHaveLength(3)
    await h1.release()
    expect(await h.keys(`${PREFIX}/cache/aws/us-east-1/`)).toEqual(['instance-types-v2-x86_64', 'offerings', 'on-demand-prices', 'spot-prices'].map((n) => `${PREFIX}/cache/aws/us-east-1/${n}.json`))

    const reads = () => [DescribeInstanceTypesCommand, DescribeInstanceTypeOfferingsCommand, DescribeSpotPriceHistoryCommand].map((c) => h.cloud.ec2.commandCalls(c).length).concat(h.cloud.pricing.commandCalls(GetProductsCommand).length)
    const before = reads()
    // a burst of starts (each its own process in CI: a new backend): none reads the catalogue from AWS again
    for (const n of [2, 3, 4]) {
      const hn = await h.backend().start(await h.request(n, s))
      expect(hn.machine.instanceType).toBe('g5.xlarge')
      await hn.release()
    }
    expect(reads()).toEqual(before)

    // a day later the cache is stale: read once more
    h.clock.advance(24 * 3600 * 1000)
    const h5 = await h.backend().start(await h.request(5, s))
    await h5.release()
    expect(h.cloud.ec2.commandCalls(DescribeInstanceTypesCommand).length).toBe(before[0]! + 1)
    await expectNothingLeft()
  })

  it('send once: a lost SendCommand response is checked with ListCommands, not re-sent; a repeated command does not start a second runner', async () => {
    h.cloud.sendScript = [awsError('InternalServerError', 'We encountered an internal error. Please try again.', 500)]
    const req = await h.request(1, spec())
    const handle = await h.backend().start(req)
    expect(h.cloud.ssm.commandCalls(SendCommandCommand)).toHaveLength(1)
    expect(h.cloud.ssm.commandCalls(ListCommandsCommand).length).toBeGreaterThan(0)
    const first = [...h.cloud.commands.values()][0]!
    expect(req.lines.join('\n')).toContain(`SSM already has command ${first.id}: using it instead of sending a second one`)

    // what a blind retry would have done: the same command again, to the same instance, once the
    // first one has claimed it (two commands at the same instant race for the claim: one of them wins)
    const claimed = join(h.sim.instanceDir(handle.machine.id), 'opt-dstack', 'started')
    await until(() => existsSync(claimed), 120_000)
    await new SSMClient({ region: 'us-east-1' }).send(new SendCommandCommand(first.input))
    await until(() => h.sim.outputs.some((o) => o.commandId !== first.id), 120_000)
    const second = h.sim.outputs.find((o) => o.commandId !== first.id)!
    expect(second.code).toBe(3)
    expect(second.stderr).toContain('a runner was already started on this instance: not starting a second one')

    expect(await h.watch(handle, 240_000)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    expect(await h.status(1)).toMatchObject({ phase: 'done', status: 'succeeded' })
    const logs = await h.logs(1)
    expect(logs.match(/^\[dstack\] run brave-otter-1, workflow train, attempt 1/gm)).toHaveLength(1)
    await expectNothingLeft()
  })
})
