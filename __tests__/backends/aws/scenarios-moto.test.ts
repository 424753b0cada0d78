/**
 * The AWS backend against an independent emulator: moto's server on loopback answers EC2, SSM, STS,
 * IAM and S3 as its authors read AWS; a small named stand-in (moto-stand-in.ts) answers only what moto
 * does not implement, and its answers are checked against botocore's service models. Every request
 * is checked against the service models too (aws-model-setup.ts). With IAM enforced, the project's
 * example policies are loaded into moto and must allow exactly what a run does.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EC2Client, DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { SSMClient, ListCommandsCommand, GetParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts'
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand, CreateInstanceProfileCommand, AddRoleToInstanceProfileCommand, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand, DeleteUserPolicyCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam'
import { S3Client, CreateBucketCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3'
import { startMoto, type MotoCredentials, type MotoServer } from '../../helpers/moto.js'
import { takeViolations } from '../../helpers/aws-model-setup.js'
import { AwsBackend } from '../../../src/backends/aws/index.js'
import { checkInstanceProfile } from '../../../src/backends/aws/preflight.js'
import { S3Store } from '../../../src/store/index.js'
import { cacheKeys } from '../../../src/store/caches.js'
import type { MachineInfo, RunSpec, StartRequest } from '../../../src/model/index.js'
import { motoClients } from './moto-stand-in.js'
import { spec, virtualClock } from './harness.js'

const ACCOUNT = '123456789012'
const BUCKET = 'dstack-runs'
const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] })

/** an example policy of examples/iam with this account and bucket */
function examplePolicy(file: string, drop?: string): string {
  const text = readFileSync(`examples/iam/${file}`, 'utf8').replaceAll('ACCOUNT_ID', ACCOUNT).replaceAll('BUCKET', BUCKET).replaceAll('REGION', 'us-east-1').replaceAll('KMS_KEY_ID', 'k')
  const doc = JSON.parse(text) as { Statement: { Sid?: string }[] }
  if (drop) doc.Statement = doc.Statement.filter((s) => s.Sid !== drop)
  return JSON.stringify(doc)
}

let moto: MotoServer
beforeAll(async () => {
  moto = await startMoto()
}, 120_000)
afterAll(async () => {
  await moto?.stop()
})
beforeEach(async () => {
  await moto.relaxIam()
  await moto.reset()
})

/** the CI role with the example CI policy, the instance role and profile; returns the CI role's session keys */
async function ciRole(opts: { path?: string; name?: string } = {}): Promise<{ credentials: MotoCredentials; roleArn: string }> {
  const iam = new IAMClient(moto.clientConfig())
  const name = opts.name ?? 'dstack-ci'
  const role = await iam.send(new CreateRoleCommand({ RoleName: name, ...(opts.path ? { Path: opts.path } : {}), AssumeRolePolicyDocument: TRUST }))
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'ci', PolicyDocument: examplePolicy('ci-role-policy.json') }))
  await iam.send(new CreateRoleCommand({ RoleName: 'dstack-runner', AssumeRolePolicyDocument: TRUST }))
  await iam.send(new PutRolePolicyCommand({ RoleName: 'dstack-runner', PolicyName: 'instance', PolicyDocument: examplePolicy('instance-role-policy.json') }))
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'dstack-runner' }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'dstack-runner', RoleName: 'dstack-runner' }))
  const sts = new STSClient(moto.clientConfig())
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: 'GitHubActions' }))).Credentials!
  iam.destroy()
  sts.destroy()
  return { credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }, roleArn: role.Role!.Arn! }
}

async function motoAmi(): Promise<string> {
  const ec2 = new EC2Client(moto.clientConfig())
  const img = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: ['x86_64'] }] }))).Images!.find((i) => i.RootDeviceName)!
  ec2.destroy()
  return img.ImageId!
}

function request(s: RunSpec, over: Partial<StartRequest> = {}): StartRequest & { lines: string[]; machines: MachineInfo[] } {
  const lines: string[] = []
  const machines: MachineInfo[] = []
  return {
    runName: 'brave-otter-1',
    repoId: 'github.com/acme/models',
    attempt: 1,
    spec: s,
    store: { kind: 's3', bucket: BUCKET, prefix: 'dstack', region: 'us-east-1' },
    runnerScriptKey: 'github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh',
    runnerScript: '#!/bin/bash\necho hi\n',
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

async function backendOn(credentials: MotoCredentials) {
  const s3 = new S3Client(moto.clientConfig())
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  const { clients, standIn } = motoClients(moto, credentials)
  const clock = virtualClock()
  const backend = new AwsBackend({ region: 'us-east-1', ami: await motoAmi(), instanceProfile: 'dstack-runner', clientFactory: clients, now: clock.now, sleep: clock.sleep, random: () => 0.5, pollMinIntervalMs: 0, env: {}, openStore: (loc) => new S3Store({ bucket: BUCKET, prefix: loc.kind === 's3' ? loc.prefix : '', client: s3 }) })
  return { backend, standIn, s3 }
}

async function until<T>(poll: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await poll()
    if (done(v)) return v
  }
  throw new Error('never done')
}

describe('the AWS backend against moto', () => {
  it('moto single node: preflight, search, launch, secret parameter, SendCommand, polling, release and cleanup', async () => {
    const { credentials } = await ciRole()
    const { backend, standIn } = await backendOn(credentials)
    const req = request(spec({ instanceTypes: ['g5.xlarge', 'g5.2xlarge'], secretEnv: { HF_TOKEN: 'hf_secret' } }), { secretEnv: { HF_TOKEN: 'hf_secret' } })
    const rows = (await backend.preflightRows(['us-east-1'])).rows
    expect(rows.filter((r) => r.status !== 'ok')).toEqual([])
    const handle = await backend.start(req)
    const id = handle.machine.id
    expect(handle.machine).toMatchObject({ backend: 'aws', region: 'us-east-1', volumeGiB: 100, publicIpv4: true })
    expect(handle.machine.instanceType).toMatch(/^g5\./)
    const ec2 = new EC2Client(moto.clientConfig())
    const ssm = new SSMClient(moto.clientConfig())
    const sent = (await ssm.send(new ListCommandsCommand({ InstanceId: id }))).Commands!
    expect(sent).toHaveLength(1)
    expect(sent[0]!.DocumentName).toBe('AWS-RunShellScript')
    const param = sent[0]!.Parameters!.commands!.join('\n').match(/--name '([^']+)'/)![1]!
    expect((await ssm.send(new GetParameterCommand({ Name: param, WithDecryption: true }))).Parameter!.Value).toBeTruthy()
    const state = await until(() => handle.poll(), (s) => s.state === 'ended')
    expect(state).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!
    expect(['shutting-down', 'terminated']).toContain(inst.State!.Name)
    await expect(ssm.send(new GetParameterCommand({ Name: param }))).rejects.toMatchObject({ name: 'ParameterNotFound' })
    expect(await backend.cleanupExpired({ now: Date.now() + 30 * 86400_000 })).toMatchObject({ deletedSecrets: [] })
    // moto answered everything but what it does not implement
    expect(new Set(standIn.calls)).toEqual(new Set(['IAM.SimulatePrincipalPolicy', 'Service Quotas.GetServiceQuota', 'Pricing.GetProducts', 'SSM.DescribeInstanceInformation', 'EC2.DescribePlacementGroups']))
    ec2.destroy()
    ssm.destroy()
  }, 300_000)

  it('moto cluster: 2 nodes launched together, one command to both, polled per node, released', async () => {
    const { credentials } = await ciRole()
    const { backend, standIn } = await backendOn(credentials)
    const handle = await backend.start(request(spec({ nodes: 2, instanceTypes: ['g5.xlarge', 'g5.2xlarge'] })))
    const ids = (handle as unknown as { machines: MachineInfo[] }).machines.map((m) => m.id)
    expect(ids).toHaveLength(2)
    const ssm = new SSMClient(moto.clientConfig())
    const cmds = (await ssm.send(new ListCommandsCommand({}))).Commands!.filter((c) => c.DocumentName === 'AWS-RunShellScript')
    expect(cmds).toHaveLength(1)
    expect([...cmds[0]!.InstanceIds!].sort()).toEqual([...ids].sort())
    expect(await until(() => handle.poll(), (s) => s.state === 'ended')).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    expect(standIn.calls).toContain('SSM.ListCommandInvocations')
    ssm.destroy()
  }, 300_000)

  it('fifty one nodes: one bootstrap command per 50 instance ids (SendCommand\'s limit), every node polled', async () => {
    const { credentials } = await ciRole()
    const { backend, standIn } = await backendOn(credentials)
    const handle = await backend.start(request(spec({ nodes: 51, instanceTypes: ['g5.xlarge'] })))
    const ssm = new SSMClient(moto.clientConfig())
    const sends = standIn.requests.filter((r) => r.call === 'SSM.SendCommand').map((r) => r.input.InstanceIds as string[])
    expect(sends.map((ids) => ids.length)).toEqual([50, 1])
    expect(new Set(sends.flat()).size).toBe(51)
    // moto accepted both, and every node's invocation succeeded
    const cmds = (await ssm.send(new ListCommandsCommand({}))).Commands!.filter((c) => c.DocumentName === 'AWS-RunShellScript')
    expect(cmds).toHaveLength(2)
    expect(await until(() => handle.poll(), (s) => s.state === 'ended')).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    ssm.destroy()
  }, 300_000)

  it('passrole context: the example CI policy lets preflight pass the instance role only with iam:PassedToService, as real AWS evaluates it', async () => {
    const { credentials, roleArn } = await ciRole()
    const { clients } = motoClients(moto, credentials)
    const sts = 'arn:aws:sts::123456789012:assumed-role/dstack-ci/GitHubActions'
    const { rows } = await checkInstanceProfile(clients.iam(), 'dstack-runner', sts)
    expect(rows.map((r) => [r.check, r.status])).toEqual([['instance profile', 'ok'], ['pass the instance role', 'ok']])
    // the same simulation without the context AWS gives RunInstances: denied, as the example policy intends
    const bare = await clients.iam().send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: ['iam:PassRole'], ResourceArns: [`arn:aws:iam::${ACCOUNT}:role/dstack-runner`] }))
    expect(bare.EvaluationResults![0]!.EvalDecision).toBe('implicitDeny')
    clients.destroy()
  })

  it('sso role: preflight simulates the role under /aws-reserved/sso.amazonaws.com/, read with iam:GetRole', async () => {
    const name = 'AWSReservedSSO_AdministratorAccess_0123456789abcdef'
    const { credentials, roleArn } = await ciRole({ name, path: '/aws-reserved/sso.amazonaws.com/' })
    expect(roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${name}`)
    const { clients } = motoClients(moto, credentials)
    const { rows } = await checkInstanceProfile(clients.iam(), 'dstack-runner', `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/alice@example.com`)
    expect(rows[1]).toMatchObject({ check: 'pass the instance role', status: 'ok', detail: expect.stringContaining(roleArn) })
    // a role under another path that GetRole cannot read: a row that says so, never a stack trace
    const { rows: unknown } = await checkInstanceProfile(clients.iam(), 'dstack-runner', `arn:aws:sts::${ACCOUNT}:assumed-role/gone-role/s`)
    expect(unknown[1]).toMatchObject({ check: 'pass the instance role', status: 'warn', detail: expect.stringMatching(/^could not check: NoSuchEntity: .*\(.+\)$/) })
    clients.destroy()
  })

  it('service models: a request that breaks the SSM model is refused before moto sees it', async () => {
    const ssm = new SSMClient(moto.clientConfig())
    const ids = Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(17, '0')}`)
    await expect(ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids }))).rejects.toMatchObject({ name: 'ValidationException' })
    expect(takeViolations().map((v) => `${v.call} ${v.field}`)).toEqual(['SSM.SendCommand InstanceIds'])
    expect(moto.output()).not.toContain('SendCommand')
    ssm.destroy()
  })
})

describe('the example IAM policies, enforced by moto', () => {
  /** an IAM user with exactly one example policy (moto enforces users' policies), and its keys */
  async function userWith(name: string, policy: string): Promise<MotoCredentials> {
    const iam = new IAMClient(moto.clientConfig())
    await iam.send(new CreateUserCommand({ UserName: name }))
    await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: name, PolicyDocument: policy }))
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!
    iam.destroy()
    return { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! }
  }

  it('policies enforced: the instance role uploads checkpoints and artifacts with deletes under exactly its example policy, and fails clearly without its delete statement', async () => {
    const s3 = new S3Client(moto.clientConfig())
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    const ci = await userWith('ci', examplePolicy('ci-role-policy.json'))
    const instance = await userWith('instance', examplePolicy('instance-role-policy.json'))
    const partial = await userWith('instance-without-deletes', examplePolicy('instance-role-policy.json', 'CheckpointsAndArtifactsMirrorTheJobsFolders'))
    const runs = `dstack/github.com/acme/models/runs/brave-otter-1`
    const dir = mkdtempSync(join(tmpdir(), 'moto-sync-'))
    try {
      await moto.enforceIam()
      // the CI role writes the runner script and reads the store
      const ciStore = new S3Store({ bucket: BUCKET, prefix: 'dstack', client: new S3Client(moto.clientConfig(ci)) })
      await ciStore.put('github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh', '#!/bin/bash\n', { contentType: 'text/plain' })
      expect(await ciStore.getText('github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh')).toBe('#!/bin/bash\n')
      // the instance: the writes `aws s3 sync --delete` makes for checkpoints (put the new one, delete
      // the one the job removed), with the instance role's keys. Sent with the SDK: under enforcement
      // moto 5.2 refuses the signature of a ListObjectsV2 with a prefix, which the CLI's sync begins with
      // (the listing itself is allowed by RunStoreBucket and checked by iam-policy-trust.test.ts)
      const mirror = async (keys: MotoCredentials) => {
        const c = new S3Client(moto.clientConfig(keys))
        try {
          await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${runs}/checkpoints/step-200.pt`, Body: 'b' }))
          await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${runs}/checkpoints/step-100.pt` }))
        } finally {
          c.destroy()
        }
      }
      await mirror(instance)
      await expect(mirror(partial)).rejects.toMatchObject({ name: 'AccessDenied' })
      // and the instance may never write what the CI writes
      const instanceS3 = new S3Client(moto.clientConfig(instance))
      await expect(instanceS3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${runs}/attempts/1/runner.sh`, Body: 'evil' }))).rejects.toMatchObject({ name: 'AccessDenied' })
      instanceS3.destroy()
    } finally {
      await moto.relaxIam()
      rmSync(dir, { recursive: true, force: true })
      s3.destroy()
    }
  })

  it('policies enforced: each instance role saves a cache where the runner saves it (the store\'s own cache keys), and the pull-request role only into untrusted-caches/', async () => {
    const s3 = new S3Client(moto.clientConfig())
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined)
    const trustedRole = await userWith('instance-caches', examplePolicy('instance-role-policy.json'))
    const prRole = await userWith('instance-caches-pr', examplePolicy('instance-role-policy-pull-request.json'))
    const withoutCaches = await userWith('instance-no-cache-statement', examplePolicy('instance-role-policy.json', 'SaveCachesAfterTheJobSucceeded'))
    const repo = 'github.com/acme/models'
    // what the runner puts: `<entry>.tar.zst` then `<entry>.json` (runner body cache.sh, keys from the plan)
    const save = async (keys: MotoCredentials, prefix: string, trusted: boolean) => {
      const c = new S3Client(moto.clientConfig(keys))
      const base = `${prefix}/${cacheKeys.entryBase(repo, 'train', '~/.cache/pip', 'pip-abc123', trusted)}`
      try {
        await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${base}.tar.zst`, Body: 'archive' }))
        await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${base}.json`, Body: '{}' }))
      } finally {
        c.destroy()
      }
    }
    try {
      await moto.enforceIam()
      await save(trustedRole, 'dstack', true)
      await save(trustedRole, 'dstack', false)
      await save(prRole, 'pr', false)
      await expect(save(prRole, 'pr', true)).rejects.toMatchObject({ name: 'AccessDenied' })
      await expect(save(prRole, 'dstack', false)).rejects.toMatchObject({ name: 'AccessDenied' })
      await expect(save(withoutCaches, 'dstack', true)).rejects.toMatchObject({ name: 'AccessDenied' })
    } finally {
      await moto.relaxIam()
      s3.destroy()
    }
  })
})
