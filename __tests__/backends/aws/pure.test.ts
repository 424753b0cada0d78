import { attemptCost } from '../../../src/orchestrate/outcome.js'
import { describe, it, expect } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  classifyLaunchError,
  quotaFor,
  rankCandidates,
  runInstancesInput,
  clientToken,
  renderBootstrap,
  renderStopScript,
  secretEnvPayload,
  secretParameterName,
  execState,
  noCapacityMessage,
  resolveOptions,
  fullKey,
  type Candidate
} from '../../../src/backends/aws/index.js'
import { toTypeInfo, mismatch } from '../../../src/backends/aws/instance-types.js'
import { slots } from '../../../src/backends/aws/placement.js'
import { onDemandUsdFromPriceList } from '../../../src/backends/aws/prices.js'
import { expired } from '../../../src/backends/aws/cleanup.js'
import { backoffMs } from '../../../src/backends/aws/timing.js'
import { onlinePollMs, STATE_POLL_MS, waitForOnline } from '../../../src/backends/aws/ssm.js'
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { EC2Client } from '@aws-sdk/client-ec2'
import { runRegions } from '../../../src/backends/aws/options.js'
import { awsError, GPU_TYPES } from './fake-cloud.js'

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

const cand = (over: Partial<Candidate> = {}): Candidate => ({ region: 'us-east-1', instanceType: 'g5.xlarge', zone: 'us-east-1a', market: 'spot', pricePerHour: 0.4, priceSource: 'x', vcpus: 4, gpuCount: 1, ...over })

describe('classifyLaunchError', () => {
  it.each([
    ['InsufficientInstanceCapacity', 500, 'capacity'],
    ['InsufficientCapacity', 500, 'capacity'],
    ['UnfulfillableCapacity', 400, 'capacity'],
    ['InsufficientHostCapacity', 500, 'capacity'],
    ['SpotMaxPriceTooLow', 400, 'price'],
    ['MaxSpotInstanceCountExceeded', 400, 'spot-quota'],
    ['VcpuLimitExceeded', 400, 'on-demand-quota'],
    ['InstanceLimitExceeded', 400, 'on-demand-quota'],
    ['Unsupported', 400, 'unsupported'],
    ['RequestLimitExceeded', 503, 'retry'],
    ['ThrottlingException', 400, 'retry'],
    ['InternalError', 500, 'retry'],
    ['ServiceUnavailable', 503, 'retry'],
    ['UnauthorizedOperation', 403, 'configuration'],
    ['InvalidParameterValue', 400, 'configuration'],
    ['InvalidParameterCombination', 400, 'configuration'],
    ['InvalidAMIID.NotFound', 400, 'configuration'],
    ['InvalidAMIID.Malformed', 400, 'configuration'],
    ['InvalidSubnetID.NotFound', 400, 'configuration'],
    ['IdempotentParameterMismatch', 400, 'configuration'],
    ['ExpiredToken', 400, 'expired-credentials'],
    ['RequestExpired', 400, 'expired-credentials'],
    ['VPCIdNotSpecified', 400, 'configuration'],
    ['InsufficientFreeAddressesInSubnet', 400, 'configuration'],
    ['VolumeLimitExceeded', 400, 'configuration'],
    ['SomethingNew', 400, 'other']
  ])('%s → %s', (code, status, kind) => {
    expect(classifyLaunchError(awsError(code, 'm', status)).kind).toBe(kind)
  })
})

describe('quotas', () => {
  it('maps families to their vCPU quota group', () => {
    expect(quotaFor('g5.xlarge')).toMatchObject({ group: 'G and VT', spot: { code: 'L-3819A6DF' }, onDemand: { code: 'L-DB2E81BA' } })
    expect(quotaFor('vt1.3xlarge').group).toBe('G and VT')
    expect(quotaFor('p4d.24xlarge')).toMatchObject({ group: 'P', spot: { code: 'L-7212CCBC' }, onDemand: { code: 'L-417A185B' } })
    expect(quotaFor('p5.48xlarge')).toMatchObject({ spot: { code: 'L-C4BD4855' }, onDemand: { code: 'L-417A185B' } })
    expect(quotaFor('inf2.xlarge').group).toBe('Inf')
    expect(quotaFor('m5.large').group).toBe('Standard')
  })

  it('the no-capacity message lists candidates and the exact quota commands', () => {
    const msg = noCapacityMessage(
      [
        { candidate: cand(), code: 'MaxSpotInstanceCountExceeded', message: 'Max spot instance count exceeded' },
        { candidate: cand({ zone: 'us-east-1b' }), code: 'MaxSpotInstanceCountExceeded', message: '', skipped: 'the G and VT spot quota is exhausted' },
        { candidate: cand({ instanceType: 'p3.2xlarge', market: 'on-demand', vcpus: 8 }), code: 'VcpuLimitExceeded', message: 'limit 0' },
        { candidate: cand({ market: 'spot', zone: 'us-east-1c' }), code: 'SpotMaxPriceTooLow', message: 'price' }
      ],
      { spotPolicy: 'spot', maxPrice: 0.1 }
    )
    expect(msg).toContain('g5.xlarge spot in us-east-1a at $0.4000/h: MaxSpotInstanceCountExceeded: Max spot instance count exceeded')
    expect(msg).toContain('skipped (the G and VT spot quota is exhausted)')
    expect(msg).toContain('aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF --desired-value 4 --region us-east-1')
    expect(msg).toContain('--quota-code L-417A185B --desired-value 8')
    expect(msg).toContain('spot_policy: auto')
    expect(msg).toContain('max_price 0.1')
  })
})

describe('candidates', () => {
  const types = GPU_TYPES.map(toTypeInfo).filter((t) => t !== undefined)
  const res = { gpu: { names: ['A10G'], count: { min: 1 } }, cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 102400 } }

  it('matches resources against instance types', () => {
    const fit = types.filter((t) => !mismatch(t, res, 'x86')).map((t) => t.instanceType)
    // every A10G type of the catalogue, and nothing else
    expect(fit).toEqual(['g5.xlarge', 'g5.2xlarge', 'g5.4xlarge', 'g5.8xlarge', 'g5.16xlarge', 'g5.12xlarge', 'g5.24xlarge', 'g5.48xlarge'])
    expect(mismatch(types.find((t) => t.instanceType === 'g4dn.xlarge')!, res, 'x86')).toBe('GPU T4')
    expect(mismatch(types.find((t) => t.instanceType === 'g5.xlarge')!, { ...res, gpu: { names: [], count: { min: 1 }, memoryMiB: { min: 40000 } } }, 'x86')).toBe('24576 MiB per GPU')
    expect(mismatch(types.find((t) => t.instanceType === 'm5.xlarge')!, { ...res, gpu: undefined }, 'x86')).toBeUndefined()
  })

  it('matches the gpu vendor against the GPU manufacturer', () => {
    const g5 = types.find((t) => t.instanceType === 'g5.xlarge')!
    expect(g5.gpuVendor).toBe('nvidia')
    expect(mismatch(g5, { ...res, gpu: { names: [], vendor: 'nvidia', count: { min: 1 } } }, 'x86')).toBeUndefined()
    expect(mismatch(g5, { ...res, gpu: { names: [], vendor: 'amd', count: { min: 1 } } }, 'x86')).toBe('nvidia GPUs (the workflow asks for amd)')
    const amd = toTypeInfo({ InstanceType: 'g4ad.xlarge', VCpuInfo: { DefaultVCpus: 4 }, MemoryInfo: { SizeInMiB: 16384 }, ProcessorInfo: { SupportedArchitectures: ['x86_64'] }, GpuInfo: { Gpus: [{ Name: 'Radeon Pro V520', Manufacturer: 'AMD', Count: 1, MemoryInfo: { SizeInMiB: 8192 } }] }, SupportedUsageClasses: ['on-demand', 'spot'] })!
    expect(mismatch(amd, { ...res, gpu: { names: [], vendor: 'amd', count: { min: 1 } } }, 'x86')).toBeUndefined()
  })

  it('ranks spot by price first, then on-demand (auto); after an interruption on-demand first; max_price narrows', () => {
    const sl = slots(new Map([['g5.xlarge', ['us-east-1a', 'us-east-1b']], ['g5.2xlarge', ['us-east-1a']]]), undefined)
    const input = {
      region: 'us-east-1',
      types,
      slots: sl,
      spotPrices: new Map([['g5.xlarge|us-east-1a', 0.5], ['g5.xlarge|us-east-1b', 0.3], ['g5.2xlarge|us-east-1a', 0.45]]),
      onDemandPrices: new Map([['g5.xlarge', { pricePerHour: 1.006, priceSource: 'api' }], ['g5.2xlarge', { pricePerHour: 1.212, priceSource: 'api' }]]),
      spotPolicy: 'auto' as const
    }
    const d = (cs: Candidate[]) => cs.map((c) => `${c.market} ${c.instanceType} ${c.zone} ${c.pricePerHour}`)
    expect(d(rankCandidates([input]))).toEqual([
      'spot g5.xlarge us-east-1b 0.3',
      'spot g5.2xlarge us-east-1a 0.45',
      'spot g5.xlarge us-east-1a 0.5',
      'on-demand g5.xlarge us-east-1a 1.006',
      'on-demand g5.xlarge us-east-1b 1.006',
      'on-demand g5.2xlarge us-east-1a 1.212'
    ])
    expect(d(rankCandidates([{ ...input, preferOnDemand: true }]))[0]).toBe('on-demand g5.xlarge us-east-1a 1.006')
    expect(rankCandidates([{ ...input, spotPolicy: 'spot' }]).every((c) => c.market === 'spot')).toBe(true)
    expect(rankCandidates([{ ...input, spotPolicy: 'on-demand' }]).every((c) => c.market === 'on-demand')).toBe(true)
    expect(d(rankCandidates([{ ...input, maxPrice: 0.46 }]))).toEqual(['spot g5.xlarge us-east-1b 0.3', 'spot g5.2xlarge us-east-1a 0.45'])
  })

  it('ranks several regions in the order given: a region in full (spot, then on-demand) before the next, even when the next is cheaper', () => {
    const region = (name: string, spot: number, od: number) => ({
      region: name,
      types,
      slots: slots(new Map([['g5.xlarge', [`${name}a`]]]), undefined),
      spotPrices: new Map([[`g5.xlarge|${name}a`, spot]]),
      onDemandPrices: new Map([['g5.xlarge', { pricePerHour: od, priceSource: 'api' }]]),
      spotPolicy: 'auto' as const
    })
    const d = (cs: Candidate[]) => cs.map((c) => `${c.market} ${c.zone}`)
    expect(d(rankCandidates([region('eu-west-1', 0.6, 1.2), region('us-east-1', 0.3, 1.0)]))).toEqual(['spot eu-west-1a', 'on-demand eu-west-1a', 'spot us-east-1a', 'on-demand us-east-1a'])
    expect(d(rankCandidates([{ ...region('eu-west-1', 0.6, 1.2), preferOnDemand: true }, { ...region('us-east-1', 0.3, 1.0), preferOnDemand: true }]))).toEqual(['on-demand eu-west-1a', 'spot eu-west-1a', 'on-demand us-east-1a', 'spot us-east-1a'])
  })

  it('with subnets, one slot per subnet in a zone that offers the type', () => {
    const s = slots(new Map([['g5.xlarge', ['us-east-1a']]]), new Map([['subnet-1', 'us-east-1a'], ['subnet-2', 'us-east-1b'], ['subnet-3', 'us-east-1a']]))
    expect(s).toEqual([
      { instanceType: 'g5.xlarge', zone: 'us-east-1a', subnetId: 'subnet-1' },
      { instanceType: 'g5.xlarge', zone: 'us-east-1a', subnetId: 'subnet-3' }
    ])
  })

  it('reads on-demand USD from a Pricing API price list entry', () => {
    const entry = JSON.stringify({ terms: { OnDemand: { a: { priceDimensions: { b: { pricePerUnit: { USD: '1.0060000000' } }, c: { pricePerUnit: { USD: '0.0000000000' } } } } } } })
    expect(onDemandUsdFromPriceList(entry)).toBe(1.006)
    expect(onDemandUsdFromPriceList('not json')).toBeUndefined()
  })
})

describe('launch input', () => {
  const ami = { imageId: 'ami-0123456789abcdef0', source: 'x', rootDeviceName: '/dev/sda1', rootSnapshotGiB: 75 }
  const ctx = { runName: 'r-1', repoId: 'github.com/a/b', attempt: 2, ami, diskMiB: 50 * 1024, maxDurationSec: 3600, marginSec: 600, securityGroupIds: ['sg-1'], tags: { team: 'ml' }, now: Date.parse('2026-01-01T00:00:00Z') }

  it('spot with max price, subnet, instance profile by ARN, root volume never below the snapshot', () => {
    const i = runInstancesInput({ ...ctx, maxPrice: 0.5, instanceProfile: 'arn:aws:iam::1:instance-profile/x' }, cand({ subnetId: 'subnet-1' }))
    expect(i).toMatchObject({
      SubnetId: 'subnet-1',
      SecurityGroupIds: ['sg-1'],
      IamInstanceProfile: { Arn: 'arn:aws:iam::1:instance-profile/x' },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', MaxPrice: '0.5' } },
      BlockDeviceMappings: [{ Ebs: { VolumeSize: 75, VolumeType: 'gp3' } }]
    })
    expect(i.Placement).toBeUndefined()
    const tags = Object.fromEntries(i.TagSpecifications![0]!.Tags!.map((t) => [t.Key, t.Value]))
    expect(tags).toEqual({ team: 'ml', Name: 'dstack-r-1-2', 'dstack:run': 'r-1', 'dstack:repo': 'github.com/a/b', 'dstack:attempt': '2', 'dstack:expires-at': '2026-01-01T01:10:00.000Z' })
  })

  it('on-demand has no market options; client tokens differ per candidate and attempt, ≤ 64 chars', () => {
    const od = runInstancesInput(ctx, cand({ market: 'on-demand' }))
    expect(od.InstanceMarketOptions).toBeUndefined()
    const a = clientToken(ctx, cand())
    expect(a.length).toBeLessThanOrEqual(64)
    expect(clientToken(ctx, cand({ zone: 'us-east-1b' }))).not.toBe(a)
    expect(clientToken({ ...ctx, attempt: 3 }, cand())).not.toBe(a)
    expect(clientToken(ctx, cand())).toBe(a)
  })
})

describe('bootstrap', () => {
  it('is a few lines, quotes every value and passes bash -n', async () => {
    const lines = renderBootstrap({ bucket: 'b', scriptKey: "p/it's/runner.sh", scriptSha256: 'c'.repeat(64), s3Region: 'eu-west-1', region: 'us-east-1', secretParameter: '/dstack/x/r/1/env' })
    expect(lines[0]).toBe('#!/bin/bash')
    expect(lines).toContain('export HOME=/root')
    expect(lines.join('\n')).toContain(`'s3://b/p/it'\\''s/runner.sh'`)
    expect(lines[lines.length - 1]).toMatch(/exec bash "\$D\/runner.sh" .*\| tail -c 8000 >&2$/)
    expect(lines.length).toBeLessThan(15)
    expect((await bash(`bash -n <<'X'\n${lines.join('\n')}\nX`)).code).toBe(0)
    // POSIX too, in case an agent runs it with sh despite the shebang
    expect((await bash(`sh -n <<'X'\n${lines.join('\n')}\nX`)).code).toBe(0)
    expect((await bash(`bash -n <<'X'\n${renderStopScript().join('\n')}\nX`)).code).toBe(0)
    expect(renderBootstrap({ bucket: 'b', scriptKey: 'k', scriptSha256: 'c'.repeat(64), s3Region: 'r', region: 'r' }).join('\n')).not.toContain('ssm get-parameter')
  })

  it('passes on the END of the runner stderr (SSM keeps the first 8,000 characters), its stdout, its exit code and its pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-'))
    try {
      // the runner: 20,000 characters of stderr, its error last; one line of stdout; exit 7
      writeFileSync(join(dir, 'runner.sh'), 'echo "pid $$"; for i in $(seq 1 2000); do printf "noise%04d\\n" "$i" >&2; done; echo "the real error" >&2; exit 7\n')
      const lines = renderBootstrap({ bucket: 'bkt', scriptKey: 'k', scriptSha256: 'c'.repeat(64), s3Region: 'r', region: 'r' })
      // the lines after the integrity check: what runs the runner
      const run = lines.slice(lines.findIndex((l) => l.startsWith('exec 3>&1')))
      // HOME: a bash whose stdin is a socket (node's pipes) reads ~/.bashrc; keep the machine's out of it
      const r = await bash(['set -euo pipefail', `D=${dir}`, ...run].join('\n'), { HOME: dir })
      expect(r.code).toBe(7)
      expect(r.stderr.length).toBe(8000)
      expect(r.stderr.endsWith('noise2000\nthe real error\n')).toBe(true)
      expect(r.stdout).toBe(`pid ${readFileSync(join(dir, 'runner.pid'), 'utf8').trim()}\n`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('secret payload round-trips through eval without touching disk', async () => {
    const env = { A: "it's \"quoted\" $HOME `x`", B: 'line1\nline2' }
    const payload = secretEnvPayload(env)
    const r = await bash(`eval "$(printf %s "$P" | base64 -d)"; printf '%s|%s' "$A" "$B"`, { P: payload })
    expect(r.stdout).toBe(`${env.A}|${env.B}`)
    expect(() => secretEnvPayload({ 'BAD-NAME': 'x' })).toThrow(/not valid/)
    expect(() => secretEnvPayload({ BIG: 'x'.repeat(9000) })).toThrow(/at most 8192/)
    expect(secretParameterName('github.com/a/b', 'run-1', 2)).toMatch(/^\/dstack\/[0-9a-f]{12}\/run-1\/2\/env$/)
  })

  it('joins the store prefix and the key once', () => {
    expect(fullKey('pfx', 'github.com/a/b/runs/r/attempts/1/runner.sh')).toBe('pfx/github.com/a/b/runs/r/attempts/1/runner.sh')
    expect(fullKey('pfx/', 'pfx/k')).toBe('pfx/k')
    expect(fullKey('', 'k')).toBe('k')
  })
})

describe('exec state', () => {
  const running = { state: 'running', tags: {} }
  it.each([
    [{ status: 'InProgress' }, running, false, { state: 'running' }],
    [{ status: 'Delayed' }, running, false, { state: 'running' }],
    [{ status: 'Success', responseCode: 0 }, running, false, { state: 'ended', exitCode: 0 }],
    [{ status: 'Failed', responseCode: 3 }, running, false, { state: 'ended', exitCode: 3 }],
    [{ status: 'Failed', responseCode: 75 }, running, false, { state: 'ended', interrupted: true }],
    [{ status: 'Cancelled' }, running, false, { state: 'ended' }],
    [{ status: 'TimedOut', statusDetails: 'Execution Timed Out' }, running, false, { state: 'ended' }],
    [{ status: 'Undeliverable' }, running, false, { state: 'ended', lost: true }],
    [{ status: 'InProgress' }, { state: 'terminated', reasonCode: 'Server.SpotInstanceTermination', tags: {} }, true, { state: 'ended', interrupted: true }],
    [{ status: 'InProgress' }, { state: 'terminated', reasonCode: 'Client.InstanceInitiatedShutdown', tags: {} }, false, { state: 'ended', lost: true }],
    [undefined, running, false, { state: 'running' }]
  ])('%j on %j', (inv, inst, spot, want) => {
    expect(execState(inv as never, inst, spot)).toMatchObject(want)
  })
})

describe('cost', () => {
  it('bills per second with a 60 s minimum; spot reclaimed by EC2 in its first hour is free; volume and address too', () => {
    const t0 = '2026-01-01T00:00:00Z'
    expect(attemptCost(3.6, t0, '2026-01-01T00:00:10Z', 'succeeded')).toBe(0.06)
    expect(attemptCost(3.6, t0, '2026-01-01T00:10:00Z', 'succeeded')).toBeCloseTo(0.6)
    expect(attemptCost(3.6, t0, '2026-01-01T00:10:00Z', 'interrupted', true)).toBe(0)
    expect(attemptCost(3.6, t0, '2026-01-01T02:00:00Z', 'interrupted', true)).toBeCloseTo(7.2)
    // the root volume and the public address are billed for the same seconds, reclaimed or not
    expect(attemptCost(3.6, t0, '2026-01-01T00:10:00Z', 'interrupted', true, { volumeGiB: 730, publicIpv4: true })).toBeCloseTo((730 * 0.08 * 600) / (730 * 3600) + (0.005 * 600) / 3600, 4)
  })
})

describe('waiting for the node in SSM', () => {
  /** the real waitForOnline on a simulated clock: the node comes Online `onlineAtMs` after the wait began */
  async function seenAfter(onlineAtMs: number): Promise<{ lagMs: number; looks: number; looksAt: number[]; statesAt: number[] }> {
    let now = 0
    const looksAt: number[] = []
    const statesAt: number[] = []
    const ssm = { send: async () => (looksAt.push(now), { InstanceInformationList: now >= onlineAtMs ? [{ InstanceId: 'i-0', PingStatus: 'Online' }] : [] }) } as unknown as SSMClient
    const ec2 = { send: async () => (statesAt.push(now), { Reservations: [{ Instances: [{ InstanceId: 'i-0', State: { Name: 'running' } }] }] }) } as unknown as EC2Client
    const r = await waitForOnline(ssm, ec2, 'i-0', { sleep: async (ms) => void (now += ms), now: () => now, signal: new AbortController().signal, timeoutSec: 600 })
    expect(r).toEqual({ kind: 'online' })
    return { lagMs: now - onlineAtMs, looks: looksAt.length, looksAt, statesAt }
  }

  it.each([25_000, 61_000, 100_000])('a node that boots in %i ms is seen within one 1 s look of coming Online (every second of the wait is billed)', async (boot) => {
    const { lagMs } = await seenAfter(boot)
    expect(lagMs).toBeGreaterThanOrEqual(0)
    expect(lagMs).toBeLessThan(1000)
  })

  it('the quick looks are SSM requests only: the instance state is read at most every 3 s', async () => {
    const { looksAt, statesAt } = await seenAfter(100_000)
    expect(looksAt.filter((t) => t >= 15_000 && t < 100_000).length).toBeGreaterThanOrEqual(80)
    for (let i = 1; i < statesAt.length; i++) expect(statesAt[i] - statesAt[i - 1]).toBeGreaterThanOrEqual(STATE_POLL_MS)
  })

  it('before a node can have booted, and after two minutes, it is looked for at a quiet pace', async () => {
    const { looksAt } = await seenAfter(600_000 - 1)
    expect(looksAt.filter((t) => t < 15_000)).toHaveLength(5)
    // after two minutes: 7.5 s and 10 s apart, far fewer than one every 3 s
    expect(looksAt.filter((t) => t >= 120_000).length).toBeLessThan(480_000 / 3000 / 2)
    expect(onlinePollMs(0)).toBe(3000)
    expect(onlinePollMs(20_000)).toBe(1000)
    expect(onlinePollMs(400_000)).toBe(10_000)
  })
})

describe('options, cleanup and timing', () => {
  it('defaults and validation', () => {
    const o = resolveOptions({ env: { AWS_REGION: 'eu-west-1' } })
    // no ami: the default DLAMI parameter of the workflow's architecture, chosen at start (ami-fit.ts)
    expect(o).toMatchObject({ regions: ['eu-west-1'], ssmTimeoutSec: 600, cancelGraceSec: 120 })
    expect(o.ami).toBeUndefined()
    expect(resolveOptions({ region: 'us-east-1', subnetIds: 'subnet-1, subnet-2' as never, env: {} }).subnetIds).toEqual(['subnet-1', 'subnet-2'])
    expect(() => resolveOptions({ region: 'nowhere', env: {} })).toThrow(/region is not valid/)
    expect(() => resolveOptions({ ami: 'ami-xyz!', env: {} })).toThrow(/ami is not valid/)
    expect(() => resolveOptions({ regions: ['us-east-1', 'us-west-2'], subnetIds: ['subnet-1'], env: {} })).toThrow(/one region/)
    expect(runRegions(['us-east-1'], [])).toEqual(['us-east-1'])
    expect(runRegions([], ['eu-west-1'])).toEqual(['eu-west-1'])
    expect(runRegions(['us-east-1', 'us-west-2'], ['us-west-2'])).toEqual(['us-west-2'])
    expect(() => runRegions([], [])).toThrow(/no AWS region/)
  })

  it('expired instances by their tag', () => {
    const now = Date.parse('2026-01-01T12:00:00Z')
    const got = expired(
      [
        { instanceId: 'i-1', tags: { 'dstack:run': 'a', 'dstack:expires-at': '2026-01-01T11:00:00.000Z' } },
        { instanceId: 'i-2', tags: { 'dstack:run': 'b', 'dstack:expires-at': '2026-01-01T13:00:00.000Z' } },
        { instanceId: 'i-3', tags: { 'dstack:run': 'c' } }
      ],
      now
    )
    expect(got.map((g) => g.instanceId)).toEqual(['i-1'])
  })

  it('backoff is jittered and capped', () => {
    expect(backoffMs(0, () => 0)).toBe(500)
    expect(backoffMs(0, () => 0.999)).toBeLessThanOrEqual(1000)
    expect(backoffMs(10, () => 0.999)).toBeLessThanOrEqual(20_000)
  })
})
