/**
 * The trust boundaries of examples/iam (README "Trust boundaries"), checked on the policy files
 * themselves, next to the completeness check of iam-policy.test.ts: the instance role has only what
 * the SSM agent needs, reads only the secret parameter tagged with its own instance, writes only into
 * run folders and caches, and pull requests get roles of their own.
 */
import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { SECRET_TAG } from '../../../src/backends/aws/secret-parameter.js'

interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Condition?: Record<string, Record<string, unknown>>
}
const read = (f: string) => JSON.parse(readFileSync(`examples/iam/${f}`, 'utf8')) as { Statement: Statement[] }
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
const actions = (p: { Statement: Statement[] }, effect: 'Allow' | 'Deny' = 'Allow') => p.Statement.filter((s) => s.Effect === effect).flatMap((s) => list(s.Action))
const statementsFor = (p: { Statement: Statement[] }, action: string, effect: 'Allow' | 'Deny' = 'Allow') => p.Statement.filter((s) => s.Effect === effect && list(s.Action).includes(action))

/** what the SSM agent needs to register and run commands, and nothing of Parameter Store */
const AGENT = [
  'ssm:UpdateInstanceInformation',
  'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply',
  'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'
]

describe.each([
  ['instance-role-policy.json', ''],
  ['instance-role-policy-pull-request.json', 'pr/']
])('%s', (file, prefix) => {
  const policy = read(file)

  it('grants the SSM agent\'s calls only: no wildcards, no Parameter Store on "*"', () => {
    const all = actions(policy)
    for (const a of AGENT) expect(all).toContain(a)
    expect(all.filter((a) => a.includes('*'))).toEqual([])
    const onEverything = policy.Statement.filter((s) => s.Effect === 'Allow' && list(s.Resource).includes('*')).flatMap((s) => list(s.Action))
    expect(onEverything.sort()).toEqual([...AGENT].sort())
  })

  it('writes only in run folders and caches (deletes only in run folders: checkpoints and artifacts are mirrored with sync --delete), never what the CI writes', () => {
    // a trusted role may save both caches; the pull-request role only the untrusted one, which trusted runs never read
    const caches = prefix ? [`arn:aws:s3:::BUCKET/${prefix}*/untrusted-caches/*`] : ['arn:aws:s3:::BUCKET/*/caches/*', 'arn:aws:s3:::BUCKET/*/untrusted-caches/*']
    expect(statementsFor(policy, 's3:PutObject').flatMap((s) => list(s.Resource))).toEqual([`arn:aws:s3:::BUCKET/${prefix}*/runs/*`, ...caches])
    expect(statementsFor(policy, 's3:DeleteObject').flatMap((s) => list(s.Resource))).toEqual([`arn:aws:s3:::BUCKET/${prefix}*/runs/*`])
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      const denied = statementsFor(policy, action, 'Deny').flatMap((s) => list(s.Resource))
      for (const key of ['code/*', '*/tags/*', '*/runs/*/run.json', '*/runs/*/attempts/*/runner.sh']) expect(denied).toContain(`arn:aws:s3:::BUCKET/${prefix}${key}`)
    }
  })
})

describe('secret env: readable by the instance it was made for only', () => {
  const inst = read('instance-role-policy.json')

  it('ssm:GetParameter only on /dstack/* parameters tagged with the caller\'s own instance ARN', () => {
    const get = statementsFor(inst, 'ssm:GetParameter')
    expect(get).toHaveLength(1)
    expect(list(get[0]!.Resource)).toEqual(['arn:aws:ssm:*:*:parameter/dstack/*'])
    expect(get[0]!.Condition).toEqual({
      StringEquals: { [`aws:ResourceTag/${SECRET_TAG.instanceArn}`]: '${ec2:SourceInstanceARN}' },
      Null: { 'ec2:SourceInstanceARN': 'false' }
    })
    expect(actions(inst)).not.toContain('ssm:GetParameters')
    expect(actions(inst)).not.toContain('ssm:GetParametersByPath')
  })

  it('kms:Decrypt only of the dstack key, only for /dstack/* parameters, only through SSM', () => {
    const dec = statementsFor(inst, 'kms:Decrypt')
    expect(dec).toHaveLength(1)
    expect(list(dec[0]!.Resource)).toEqual(['arn:aws:kms:REGION:ACCOUNT_ID:key/KMS_KEY_ID'])
    expect(dec[0]!.Condition).toEqual({
      StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': 'arn:aws:ssm:*:*:parameter/dstack/*' },
      StringEquals: { 'kms:ViaService': 'ssm.REGION.amazonaws.com' }
    })
  })

  it('the CI role may tag the parameters it creates and encrypt them with the dstack key', () => {
    const ci = read('ci-role-policy.json')
    expect(statementsFor(ci, 'ssm:AddTagsToResource').flatMap((s) => list(s.Resource))).toEqual(['arn:aws:ssm:*:*:parameter/dstack/*'])
    const enc = statementsFor(ci, 'kms:Encrypt')
    expect(enc).toHaveLength(1)
    expect(list(enc[0]!.Action)).toContain('kms:GenerateDataKey')
    expect(enc[0]!.Condition).toEqual({ StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': 'arn:aws:ssm:*:*:parameter/dstack/*' } })
  })

  it('the set-up never attaches AmazonSSMManagedInstanceCore (it allows ssm:GetParameter on every parameter)', () => {
    const readme = readFileSync('examples/iam/README.md', 'utf8')
    expect(readme).not.toMatch(/attach-role-policy[^\n]*AmazonSSMManagedInstanceCore/)
    expect(readme).toContain('file://instance-role-policy.json')
  })
})

describe('pull requests get roles of their own', () => {
  const sub = (p: { Statement: Statement[] }) => p.Statement.flatMap((s) => Object.values(s.Condition ?? {}).flatMap((c) => list((c as Record<string, string | string[]>)['token.actions.githubusercontent.com:sub'])))

  it('the main CI role trusts the main branch only; the pull-request role pull_request only', () => {
    expect(sub(read('github-oidc-trust-policy.json'))).toEqual(['repo:OWNER/REPO:ref:refs/heads/main'])
    expect(sub(read('github-oidc-trust-policy-pull-request.json'))).toEqual(['repo:OWNER/REPO:pull_request'])
    for (const f of ['github-oidc-trust-policy.json', 'github-oidc-trust-policy-pull-request.json']) {
      expect(JSON.stringify(read(f))).not.toContain('StringLike') // no wildcard subjects
    }
  })

  it('the pull-request CI role passes only the pull-request instance role, makes no secrets, writes only under pr/', () => {
    const pr = read('ci-role-policy-pull-request.json')
    expect(statementsFor(pr, 'iam:PassRole').flatMap((s) => list(s.Resource))).toEqual(['arn:aws:iam::ACCOUNT_ID:role/dstack-runner-pr'])
    expect(statementsFor(pr, 'iam:PassRole', 'Deny').flatMap((s) => list(s.Resource))).toEqual(['arn:aws:iam::ACCOUNT_ID:role/dstack-runner'])
    expect(actions(pr, 'Deny')).toEqual(expect.arrayContaining(['ssm:PutParameter', 's3:PutObject', 's3:DeleteObject']))
    const s3deny = statementsFor(pr, 's3:PutObject', 'Deny')[0]!
    expect(list(s3deny.NotResource)).toEqual(['arn:aws:s3:::BUCKET/pr/*'])
  })

  it('the pull-request instance role reads no parameter and decrypts nothing', () => {
    const all = actions(read('instance-role-policy-pull-request.json'))
    expect(all.filter((a) => a.startsWith('ssm:') && a !== 'ssm:UpdateInstanceInformation')).toEqual([])
    expect(all.filter((a) => a.startsWith('kms:'))).toEqual([])
  })
})
