/**
 * The one-step AWS set-up, examples/aws/setup.yml, deployed into moto (an independent AWS emulator)
 * with the very `aws cloudformation deploy` line docs/aws.md gives, by the real aws CLI. Then:
 * - the stack's roles carry exactly the policies of examples/iam (placeholders filled in), its
 *   profiles hold their roles, its bucket exists, encrypted;
 * - what moto's CloudFormation does not deploy (the OIDC identity providers; the bucket's versioning,
 *   public access block and lifecycle rules) is checked by cfn-lint against AWS's own resource
 *   schemas, and the providers are made through IAM from the template's own properties: they are
 *   the principals the trust policies name;
 * - `dstack-run check` (the CLI from the sources) finds what the stack made and passes as the CI
 *   role, also with IAM enforced by moto, and as the pull-request role on the `pr/` store.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { marked, type Tokens } from 'marked'
import { IAMClient, GetRoleCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, GetPolicyCommand, GetPolicyVersionCommand, GetInstanceProfileCommand, CreateOpenIDConnectProviderCommand, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam'
import { S3Client, GetBucketEncryptionCommand } from '@aws-sdk/client-s3'
import { STSClient, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { EC2Client, DescribeImagesCommand } from '@aws-sdk/client-ec2'
import { startMoto, type MotoCredentials, type MotoServer } from '../../helpers/moto.js'
import { awsCliPath, run } from '../../helpers/s3server.js'

const ROOT = process.cwd()
const TEMPLATE = 'examples/aws/setup.yml'
const iamFile = (f: string) => readFileSync(join(ROOT, 'examples/iam', f), 'utf8')

/** the `aws cloudformation deploy …` command of a page's sh blocks, continuation lines joined */
function deployLines(page: string): string[][] {
  const out: string[][] = []
  for (const t of marked.lexer(readFileSync(join(ROOT, page), 'utf8'))) {
    if (t.type !== 'code' || (t as Tokens.Code).lang !== 'sh') continue
    for (const cmd of (t as Tokens.Code).text.replace(/\\\n\s*/g, ' ').split('\n')) {
      if (cmd.startsWith('aws cloudformation deploy ')) out.push(cmd.trim().split(/\s+/))
    }
  }
  return out
}
const parameters = (argv: string[]) => Object.fromEntries(argv.slice(argv.indexOf('--parameter-overrides') + 1).filter((a) => a.includes('=')).map((a) => a.split('=', 2) as [string, string]))

const template = parse(readFileSync(join(ROOT, TEMPLATE), 'utf8')) as {
  Parameters: Record<string, unknown>
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>
}

describe('cloudformation template (examples/aws/setup.yml) in moto', () => {
  let moto: MotoServer
  let params: Record<string, string>
  let account: string
  let keyId: string
  const aws = (args: string[], env: Record<string, string> = moto.env()) =>
    run(awsCliPath(), ['--endpoint-url', moto.endpoint, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeoutMs: 180_000 })

  let deployed: { code: number | null; out: string }
  let resources: { LogicalResourceId: string; ResourceType: string; PhysicalResourceId: string }[] = []
  // the stack is deployed once, with the documented line; the tests below look at what it made
  beforeAll(async () => {
    moto = await startMoto()
    account = (await new STSClient(moto.clientConfig()).send(new GetCallerIdentityCommand({}))).Account!
    const [argv] = deployLines('docs/aws.md')
    params = parameters(argv!)
    const r = await aws(argv!.slice(1).map((a) => (a === TEMPLATE ? join(ROOT, TEMPLATE) : a)))
    deployed = { code: r.code, out: r.stdout + r.stderr }
    const listed = await aws(['cloudformation', 'list-stack-resources', '--stack-name', argv![argv!.indexOf('--stack-name') + 1]!, '--output', 'json'])
    if (listed.code === 0) resources = (JSON.parse(listed.stdout) as { StackResourceSummaries: typeof resources }).StackResourceSummaries
    keyId = resources.find((x) => x.LogicalResourceId === 'SecretEnvKey')?.PhysicalResourceId ?? ''
  }, 240_000)
  afterAll(async () => {
    await moto?.stop()
  })

  it('is what scripts/aws-template.mjs makes from examples/iam', async () => {
    const r = await run(process.execPath, [join(ROOT, 'scripts/aws-template.mjs'), '--check'], { cwd: ROOT })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('the deploy lines of the README and docs/aws.md name only the template\'s parameters', () => {
    const lines = ['README.md', 'docs/aws.md'].flatMap(deployLines)
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const argv of lines) {
      expect(argv).toEqual(expect.arrayContaining(['--template-file', TEMPLATE, '--capabilities', 'CAPABILITY_NAMED_IAM']))
      for (const p of Object.keys(parameters(argv))) expect({ p, known: p in template.Parameters }).toEqual({ p, known: true })
    }
  })

  it('deploys with the `aws cloudformation deploy` line of docs/aws.md', () => {
    expect(params).toMatchObject({ GitHubRepository: expect.any(String), GitLabProject: expect.any(String), BucketName: expect.any(String) })
    expect(deployed).toEqual({ code: 0, out: expect.stringContaining('Successfully created/updated stack') })
    const made = Object.fromEntries(resources.filter((x) => x.PhysicalResourceId).map((x) => [x.LogicalResourceId, x.PhysicalResourceId]))
    // what moto's CloudFormation deploys; the OIDC providers are checked below
    expect(made).toMatchObject({ CiRole: 'dstack-ci', PullRequestRole: 'dstack-ci-pr', InstanceRole: 'dstack-runner', InstanceProfile: 'dstack-runner', PullRequestInstanceRole: 'dstack-runner-pr', PullRequestInstanceProfile: 'dstack-runner-pr', RunStore: params.BucketName })
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/)
  })

  /** an examples/iam file with its placeholders filled in as the stack fills them */
  const filled = (f: string) =>
    JSON.parse(
      iamFile(f)
        .replaceAll('ACCOUNT_ID', account)
        .replaceAll('REGION', moto.region)
        .replaceAll('KMS_KEY_ID', keyId)
        .replaceAll('OWNER/REPO', params.GitHubRepository!)
        .replaceAll('GROUP/PROJECT', params.GitLabProject!)
        .replaceAll('refs/heads/main', `refs/heads/${params.Branch ?? 'main'}`)
        .replaceAll('ref:main', `ref:${params.Branch ?? 'main'}`)
        .replace(/arn:aws:s3:::BUCKET/g, `arn:aws:s3:::${params.BucketName}`)
    ) as { Statement: unknown[] }

  it('its roles carry exactly the policies and trust of examples/iam', async () => {
    const iam = new IAMClient(moto.clientConfig())
    // the policies attached to a role (customer-managed, one per examples/iam file), by name; no inline ones
    const attached = async (role: string) => {
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []).toEqual([])
      const list = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []
      return Promise.all(
        list.sort((a, b) => a.PolicyName!.localeCompare(b.PolicyName!)).map(async (a) => {
          const version = (await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn! }))).Policy!.DefaultVersionId!
          return JSON.parse(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn!, VersionId: version }))).PolicyVersion!.Document!)) as unknown
        })
      )
    }
    const trust = async (role: string) => JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!)) as unknown
    expect(await attached('dstack-runner')).toEqual([filled('instance-role-policy.json')])
    expect(await attached('dstack-runner-pr')).toEqual([filled('instance-role-policy-pull-request.json')])
    expect(await attached('dstack-ci')).toEqual([filled('ci-role-policy.json')])
    expect(await attached('dstack-ci-pr')).toEqual([filled('ci-role-policy.json'), filled('ci-role-policy-pull-request.json')])
    expect(await trust('dstack-runner')).toEqual(filled('instance-trust-policy.json'))
    expect(await trust('dstack-ci')).toEqual({ Version: '2012-10-17', Statement: [...filled('github-oidc-trust-policy.json').Statement, ...filled('gitlab-oidc-trust-policy.json').Statement] })
    expect(await trust('dstack-ci-pr')).toEqual(filled('github-oidc-trust-policy-pull-request.json'))
    for (const p of ['dstack-runner', 'dstack-runner-pr']) {
      expect((await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: p }))).InstanceProfile!.Roles!.map((r) => r.RoleName)).toEqual([p])
    }
    // every policy file of examples/iam is in the stack
    expect(readdirSync(join(ROOT, 'examples/iam')).filter((f) => f.endsWith('.json')).sort()).toEqual(
      ['ci-role-policy-pull-request.json', 'ci-role-policy.json', 'github-oidc-trust-policy-pull-request.json', 'github-oidc-trust-policy.json', 'gitlab-oidc-trust-policy.json', 'instance-role-policy-pull-request.json', 'instance-role-policy.json', 'instance-trust-policy.json']
    )
  })

  it('passes cfn-lint (AWS\'s resource schemas), which refuses a template with a mistake', async () => {
    // moto deploys only part of AWS::S3::Bucket and no AWS::IAM::OIDCProvider: AWS's own resource
    // schemas check every property of every resource; a copy with a misspelt lifecycle field must fail
    const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'))
    try {
      const broken = join(dir, 'broken.yml')
      writeFileSync(broken, readFileSync(join(ROOT, TEMPLATE), 'utf8').replace('ExpirationInDays: 7', 'ExpirationInDayz: 7'))
      const r = await run('cfn-lint', ['--format', 'parseable', join(ROOT, TEMPLATE), broken], { cwd: ROOT, timeoutMs: 120_000 })
      const problems = r.stdout.split('\n').filter(Boolean)
      expect(problems.filter((l) => !l.startsWith(broken))).toEqual([])
      expect(problems.join('\n')).toMatch(/ExpirationInDayz/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 150_000)

  it('its bucket is encrypted; versioned, private, with lifecycle rules for old versions, pull-request runs and the price cache', async () => {
    const s3 = new S3Client(moto.clientConfig())
    const enc = (await s3.send(new GetBucketEncryptionCommand({ Bucket: params.BucketName! }))).ServerSideEncryptionConfiguration!.Rules!
    expect(enc[0]!.ApplyServerSideEncryptionByDefault!.SSEAlgorithm).toBe('AES256')
    // the rest as the template says it (moto does not apply it; cfn-lint checked its form above)
    const bucket = template.Resources.RunStore!.Properties as { VersioningConfiguration: unknown; PublicAccessBlockConfiguration: Record<string, boolean>; LifecycleConfiguration: { Rules: Record<string, unknown>[] } }
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' })
    expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true])
    const byId = Object.fromEntries(bucket.LifecycleConfiguration.Rules.map((r) => [r.Id, r]))
    expect(byId['pull-request-runs']).toMatchObject({ Status: 'Enabled', Prefix: 'pr/', ExpirationInDays: { Ref: 'PullRequestRunDays' } })
    expect(byId['price-cache']).toMatchObject({ Status: 'Enabled', Prefix: 'cache/' })
    expect(byId['old-versions']).toMatchObject({ Status: 'Enabled', NoncurrentVersionExpirationInDays: { Ref: 'NoncurrentDays' } })
  })

  it('its OIDC providers (not deployed by moto\'s CloudFormation) are valid for IAM and are what the trust policies name', async () => {
    const iam = new IAMClient(moto.clientConfig())
    const providers = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::OIDCProvider')
    expect(providers.map((p) => p.Properties.Url).sort()).toEqual(['https://gitlab.com', 'https://token.actions.githubusercontent.com'])
    const existing = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? []
    const arns: string[] = existing.map((p) => p.Arn!)
    if (existing.length === 0) {
      for (const p of providers) {
        const made = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: p.Properties.Url as string, ClientIDList: p.Properties.ClientIdList as string[], ThumbprintList: p.Properties.ThumbprintList as string[] | undefined }))
        arns.push(made.OpenIDConnectProviderArn!)
      }
    }
    const federated = JSON.stringify(JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: 'dstack-ci' }))).Role!.AssumeRolePolicyDocument!)))
    for (const arn of arns) expect(federated).toContain(`"Federated":"${arn}"`)
    for (const p of providers) expect(p.Properties.ClientIdList).toEqual(['sts.amazonaws.com'])
  })

  /** the CLI from the sources, as a user runs it, with these credentials and moto as every endpoint */
  async function check(creds: MotoCredentials, args: string[]): Promise<{ code: number | null; rows: { check: string; status: string; detail: string }[]; err: string }> {
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME!, ...moto.env(creds), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_NO_WARNINGS: '1' }
    const r = await run(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/entry/cli-index.ts'), 'check', '--backend', 'aws', '--json', ...args], { cwd: ROOT, env, timeoutMs: 120_000 })
    let rows: { check: string; status: string; detail: string }[] = []
    try {
      rows = JSON.parse(r.stdout) as typeof rows
    } catch {
      throw new Error(`check printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`)
    }
    return { code: r.code, rows, err: r.stderr }
  }

  async function assume(role: string): Promise<MotoCredentials> {
    const out = await new STSClient(moto.clientConfig()).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: 'ci-job', WebIdentityToken: 'header.payload.signature' }))
    const c = out.Credentials!
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }
  }

  it('dstack-run check passes as the CI role it made, and as the pull-request role on pr/', async () => {
    const ami = (await new EC2Client(moto.clientConfig()).send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!
    const ci = await assume('dstack-ci')
    const pr = await assume('dstack-ci-pr')
    const lines = (rows: { check: string; status: string; detail: string }[]) => rows.map((r) => `${r.status} ${r.check}: ${r.detail}`)

    // what the stack made is what check looks for: the profile with its role, the store
    const found = await check(ci, ['--store', `s3://${params.BucketName}/ci`, '--instance-profile', 'dstack-runner', '--ami', ami])
    expect(lines(found.rows)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ok credentials: \S+assumed-role\/dstack-ci\/ci-job/),
        expect.stringMatching(/^ok instance profile: dstack-runner → \S+:role\/dstack-runner$/),
        expect.stringMatching(/^ok store: s3:\/\/\S+\/ci is writable/)
      ])
    )
    expect(lines(found.rows).filter((l) => l.startsWith('fail'))).toEqual([])
    expect(found.code).toBe(0)

    // and the roles' policies allow it, with moto enforcing IAM. moto judges S3 requests by their
    // resource and every other service's as if on `*`, so only the store's rows say something about
    // resource-scoped statements (others may read "not verified: AccessDenied", a warning)
    await moto.enforceIam()
    try {
      const trusted = await check(ci, ['--store', `s3://${params.BucketName}/ci`, '--instance-profile', 'dstack-runner', '--ami', ami])
      expect(lines(trusted.rows)).toEqual(expect.arrayContaining([expect.stringMatching(/^ok credentials: \S+assumed-role\/dstack-ci\/ci-job/), expect.stringMatching(/^ok store: /)]))
      expect(lines(trusted.rows).filter((l) => l.startsWith('fail'))).toEqual([])
      expect(trusted.code).toBe(0)

      const prRun = await check(pr, ['--store', `s3://${params.BucketName}/pr`, '--instance-profile', 'dstack-runner-pr', '--ami', ami])
      expect(lines(prRun.rows)).toEqual(expect.arrayContaining([expect.stringMatching(/^ok credentials: \S+assumed-role\/dstack-ci-pr\/ci-job/), expect.stringMatching(/^ok store: s3:\/\/\S+\/pr is writable/)]))
      expect(prRun.code).toBe(0)
      // that the pull-request role cannot write outside pr/ is a Deny with NotResource, which moto
      // does not evaluate (it treats a statement without Resource as matching): iam-policy-trust.test.ts
      // checks it on the policy files
    } finally {
      await moto.relaxIam()
    }
  }, 300_000)
})
