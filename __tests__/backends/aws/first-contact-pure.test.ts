/** Pure parts of issue 8: AMI fit over the whole catalogue, failure classes, stderr tails, preflight helpers. */
import { describe, it, expect } from '@jest/globals'
import { defaultAmiMismatch, amiArch, DEFAULT_AMI_FAMILIES } from '../../../src/backends/aws/ami-fit.js'
import { toTypeInfo } from '../../../src/backends/aws/instance-types.js'
import { configurationFix, quotaConsoleUrl, quotaFor } from '../../../src/backends/aws/errors.js'
import { launchFailure, QuotaError, type TriedCandidate } from '../../../src/backends/aws/launch.js'
import { stderrTail, execState } from '../../../src/backends/aws/ssm.js'
import { principalArn, instanceRoleProbeKeys, checkQuotas, checkNetwork } from '../../../src/backends/aws/preflight.js'
import { mockClient } from 'aws-sdk-client-mock'
import { ServiceQuotasClient, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas'
import { EC2Client, DescribeVpcsCommand } from '@aws-sdk/client-ec2'
import type { Candidate } from '../../../src/backends/aws/candidates.js'
import { awsError } from './fake-cloud.js'
import { cancelWaitSec, CANCEL_WAIT_SEC } from '../../../src/entry/cancel-wait.js'
import { NoCapacityError, UserError } from '../../../src/model/index.js'
import { CATALOGUE } from './fake-cloud.js'

const types = CATALOGUE.map((t) => toTypeInfo(t)!)

describe('the default AMIs and the GPU catalogue', () => {
  it('keeps exactly the families the release notes list, per architecture, and every non-GPU type', () => {
    const kept = new Set(types.filter((t) => t.gpuCount > 0 && !defaultAmiMismatch(t)).map((t) => t.instanceType.split('.')[0]))
    expect([...kept].sort()).toEqual([...DEFAULT_AMI_FAMILIES.x86, ...DEFAULT_AMI_FAMILIES.arm].sort())
    for (const t of types.filter((x) => x.gpuCount === 0)) expect(defaultAmiMismatch(t)).toBeUndefined()
  })
  it('catalogue, AMI family list and quota table agree: every GPU family has a quota code per market and an AMI decision, every listed family is in the catalogue', () => {
    const gpuFamilies = [...new Set(types.filter((t) => t.gpuCount > 0).map((t) => t.instanceType.split('.')[0]!))]
    for (const f of gpuFamilies) {
      const q = quotaFor(`${f}.xlarge`)
      expect([f, q.spot?.code, q.onDemand?.code]).toEqual([f, expect.stringMatching(/^L-[0-9A-F]{8}$/), expect.stringMatching(/^L-[0-9A-F]{8}$/)])
      // an AMI decision: supported (listed) or left out with a reason
      const t = types.find((x) => x.instanceType.startsWith(`${f}.`))!
      const listed = DEFAULT_AMI_FAMILIES[t.arch].includes(f)
      expect([f, listed || Boolean(defaultAmiMismatch(t))]).toEqual([f, true])
    }
    for (const f of [...DEFAULT_AMI_FAMILIES.x86, ...DEFAULT_AMI_FAMILIES.arm]) expect(gpuFamilies).toContain(f)
    // P spot quotas per generation (AWS General Reference, EC2 service quotas)
    expect(['p3', 'p3dn', 'p4d', 'p4de'].map((f) => quotaFor(`${f}.24xlarge`).spot?.code)).toEqual(['L-7212CCBC', 'L-7212CCBC', 'L-7212CCBC', 'L-7212CCBC'])
    expect(['p5', 'p5e', 'p5en', 'p6-b200', 'p6-b300'].map((f) => quotaFor(`${f}.48xlarge`).spot?.code)).toEqual(['L-C4BD4855', 'L-C4BD4855', 'L-C4BD4855', 'L-C4BD4855', 'L-C4BD4855'])
    expect(quotaFor('p5.48xlarge').onDemand?.code).toBe('L-417A185B')
  })
  it('says why a type is left out', () => {
    const why = (name: string) => defaultAmiMismatch(types.find((t) => t.instanceType === name)!)
    expect(why('g4ad.xlarge')).toMatch(/^amd GPUs: the default AMI has NVIDIA drivers only/)
    expect(why('p3.2xlarge')).toMatch(/^p3 is not supported by the default x86_64 AMI/)
    expect(why('g3s.xlarge')).toMatch(/^g3s is not supported/)
    expect(why('g5g.xlarge')).toBeUndefined()
  })
  it('the catalogue has every current GPU family with its manufacturer, GPU, memory and architecture', () => {
    const fams = new Set(types.filter((t) => t.gpuCount > 0).map((t) => t.instanceType.split('.')[0]))
    for (const f of ['g4dn', 'g4ad', 'g5', 'g5g', 'g6', 'g6e', 'g7e', 'gr6', 'p3', 'p3dn', 'p4d', 'p4de', 'p5', 'p5e', 'p5en', 'p6-b200', 'p6-b300', 'g3', 'p2']) expect(fams).toContain(f)
    expect(types.filter((t) => /^(inf|trn)/.test(t.instanceType)).every((t) => t.gpuCount === 0)).toBe(true)
    expect(types.find((t) => t.instanceType === 'g5g.xlarge')).toMatchObject({ arch: 'arm', gpuVendor: 'nvidia', gpuName: 'T4g' })
    expect(types.find((t) => t.instanceType === 'g6e.12xlarge')).toMatchObject({ gpuCount: 4, gpuName: 'L40S', gpuMemoryMiB: 45776, vcpus: 48 })
    expect(amiArch('arm64')).toBe('arm')
    expect(amiArch('i386')).toBeUndefined()
  })
})

describe('three classes of launch failure', () => {
  const c = { region: 'us-east-1', instanceType: 'g5.xlarge', zone: 'us-east-1a', market: 'spot' as const, priceSource: 'x', vcpus: 4, gpuCount: 1 }
  const t = (code: string, kind?: TriedCandidate['kind']): TriedCandidate => ({ candidate: c, code, message: code, ...(kind ? { kind } : {}) })
  it('capacity anywhere → NoCapacityError (the run retries it)', () => {
    expect(launchFailure([t('MaxSpotInstanceCountExceeded', 'spot-quota'), t('InsufficientInstanceCapacity', 'capacity')], { spotPolicy: 'auto' })).toBeInstanceOf(NoCapacityError)
    expect(launchFailure([t('Server.SpotInstanceTermination', 'capacity')], { spotPolicy: 'auto' })).toBeInstanceOf(NoCapacityError)
  })
  it('only quotas → QuotaError, a UserError (never retried)', () => {
    const e = launchFailure([t('MaxSpotInstanceCountExceeded', 'spot-quota'), t('VcpuLimitExceeded', 'on-demand-quota')], { spotPolicy: 'auto' })
    expect(e).toBeInstanceOf(QuotaError)
    expect(e).toBeInstanceOf(UserError)
    expect(e.message).toContain(quotaConsoleUrl('L-3819A6DF', 'us-east-1'))
  })
  it('anything else → a UserError listing the candidates', () => {
    const e = launchFailure([t('SomethingNew', 'other')], { spotPolicy: 'auto' })
    expect(e).toBeInstanceOf(UserError)
    expect(e).not.toBeInstanceOf(NoCapacityError)
  })
  it('configuration errors name the input to change', () => {
    expect(configurationFix('VPCIdNotSpecified', 'eu-west-1')).toMatch(/eu-west-1 has no default VPC: set `subnet-ids`/)
    expect(configurationFix('InvalidGroup.NotFound', 'eu-west-1')).toMatch(/`security-group-ids` does not exist in eu-west-1/)
    expect(configurationFix('InvalidKeyPair.NotFound', 'eu-west-1')).toMatch(/key pairs belong to one region/)
    expect(configurationFix('InsufficientFreeAddressesInSubnet', 'r')).toMatch(/`subnet-ids`/)
  })
})

describe('failures carry their stderr tail', () => {
  it('keeps the last lines, bounded, and where the full output is', () => {
    const stderr = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n')
    const tail = stderrTail({ status: 'Failed', stderr, stderrUrl: 'https://s3.amazonaws.com/b/k/stderr' })
    expect(tail).toMatch(/^; its stderr ends with:\nline 28\n/)
    expect(tail).toMatch(/line 39 \(full output: https:\/\/s3\.amazonaws\.com\/b\/k\/stderr\)$/)
    expect(stderrTail({ status: 'Failed', stderr: 'x'.repeat(5000) }).length).toBeLessThan(1600)
    expect(stderrTail({ status: 'Failed' })).toBe('')
    expect(execState({ status: 'Failed', responseCode: 1, stderr: 'fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden' }, undefined, false)).toMatchObject({ reason: expect.stringContaining('(403)') })
  })
})

describe('preflight helpers', () => {
  it('simulates the role behind an assumed-role session', () => {
    expect(principalArn('arn:aws:sts::123456789012:assumed-role/dstack-ci/GitHubActions')).toBe('arn:aws:iam::123456789012:role/dstack-ci')
    expect(principalArn('arn:aws:iam::123456789012:user/alice')).toBe('arn:aws:iam::123456789012:user/alice')
    // IAM Identity Center roles live under a path the session ARN does not carry
    expect(principalArn('arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice')).toBe('arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd')
  })

  it('simulates the instance role on keys the example policy matches: the runner script read, a status file written under runs/', () => {
    expect(instanceRoleProbeKeys('bkt', 'dstack/')).toEqual({
      read: 'arn:aws:s3:::bkt/dstack/dstack-check/repo/runs/check-run/attempts/1/runner.sh',
      write: 'arn:aws:s3:::bkt/dstack/dstack-check/repo/runs/check-run/attempts/1/status.json'
    })
    // the example instance policy writes only into `BUCKET/*/runs/*`
    expect(/^arn:aws:s3:::bkt\/.*\/runs\/.*$/.test(instanceRoleProbeKeys('bkt', '').write)).toBe(true)
  })

  it('a check that errs is a row, never a stack trace: a missing quota says so, other errors say "could not check"', async () => {
    const mock = mockClient(ServiceQuotasClient)
    const client = new ServiceQuotasClient({ region: 'us-east-1' })
    const cand = (instanceType: string, market: 'spot' | 'on-demand') => ({ instanceType, market, region: 'us-east-1', zone: 'us-east-1a', vcpus: 192 }) as unknown as Candidate
    try {
      mock.on(GetServiceQuotaCommand, { QuotaCode: 'L-C4BD4855' }).rejects(awsError('NoSuchResourceException', 'The request failed because the specified service quota does not exist.'))
      mock.on(GetServiceQuotaCommand, { QuotaCode: 'L-417A185B' }).rejects(awsError('ServiceException', 'boom', 500))
      const { rows, kept } = await checkQuotas(() => client, [cand('p5.48xlarge', 'spot'), cand('p5.48xlarge', 'on-demand')])
      expect(rows).toEqual([
        { check: 'spot vCPU quota in us-east-1', status: 'warn', detail: expect.stringMatching(/^All P5 Spot Instance Requests \(L-C4BD4855\) is not a quota of us-east-1/), fix: expect.stringContaining('L-C4BD4855') },
        { check: 'on-demand vCPU quota in us-east-1', status: 'warn', detail: expect.stringMatching(/^could not check: ServiceException: boom \(read it yourself: aws service-quotas get-service-quota .*L-417A185B.*\)$/) }
      ])
      expect(kept).toHaveLength(2)
    } finally {
      mock.restore()
      client.destroy()
    }
    const ec2Mock = mockClient(EC2Client)
    const ec2 = new EC2Client({ region: 'us-east-1' })
    try {
      ec2Mock.on(DescribeVpcsCommand).rejects(awsError('OptInRequired', 'You are not subscribed to this service.'))
      expect(await checkNetwork(ec2, 'us-east-1', { subnetIds: [], securityGroupIds: [] })).toEqual([{ check: 'default VPC in us-east-1', status: 'warn', detail: expect.stringMatching(/^could not check: OptInRequired: .*\(is us-east-1 enabled/) }])
    } finally {
      ec2Mock.restore()
      ec2.destroy()
    }
  })
  it('the post step waits DSTACK_CANCEL_WAIT_SEC, else 120 s', () => {
    expect(cancelWaitSec({})).toBe(CANCEL_WAIT_SEC)
    expect(cancelWaitSec({ DSTACK_CANCEL_WAIT_SEC: '30' })).toBe(30)
    expect(cancelWaitSec({ DSTACK_CANCEL_WAIT_SEC: 'soon' })).toBe(CANCEL_WAIT_SEC)
  })
})
