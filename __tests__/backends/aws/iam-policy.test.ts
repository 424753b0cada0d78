/**
 * Every AWS operation the backend can call is allowed by examples/iam/ci-role-policy.json: the
 * SDK commands and paginators imported anywhere in src/backends/aws/ are collected from the
 * source, mapped to `service:Action`, and looked up in the policy.
 */
import { describe, it, expect } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const SRC = 'src/backends/aws'
const SERVICE: Record<string, string> = { 'client-ec2': 'ec2', 'client-ssm': 'ssm', 'client-pricing': 'pricing', 'client-sts': 'sts', 'client-iam': 'iam', 'client-service-quotas': 'servicequotas' }
/** operations every principal may call without a policy statement */
const NO_PERMISSION_NEEDED = new Set(['sts:GetCallerIdentity'])

interface Statement {
  Effect: string
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, unknown>>
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

/** `ec2:RunInstances`… for every `XxxCommand` / `paginateXxx` / `waitUntil…` imported from an AWS client */
export function operationsUsed(): Set<string> {
  const ops = new Set<string>()
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
      const service = SERVICE[m[2]!]
      if (!service) throw new Error(`${file}: unknown AWS client ${m[2]}`)
      for (const raw of m[1]!.split(',')) {
        const name = raw.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!
        let op: string | undefined
        if (/^[A-Z]\w*Command$/.test(name)) op = name.replace(/Command$/, '')
        else if (/^paginate[A-Z]/.test(name)) op = name.replace(/^paginate/, '')
        else if (/^waitUntil[A-Z]/.test(name)) op = 'DescribeInstances'
        if (op && !raw.trim().startsWith('type ') && !/CommandInput$|CommandOutput$/.test(name)) ops.add(`${service}:${op}`)
      }
    }
  }
  return ops
}

const policy = JSON.parse(readFileSync('examples/iam/ci-role-policy.json', 'utf8')) as { Statement: Statement[] }
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v])
const allowed = (action: string) => policy.Statement.filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action))

describe('CI role policy', () => {
  const ops = operationsUsed()

  it('finds the operations the backend calls', () => {
    for (const op of ['ec2:RunInstances', 'ec2:TerminateInstances', 'ec2:DescribeInstances', 'ssm:SendCommand', 'ssm:GetCommandInvocation', 'ssm:PutParameter', 'pricing:GetProducts']) expect(ops).toContain(op)
    // preflight and the send-once check
    for (const op of ['sts:GetCallerIdentity', 'servicequotas:GetServiceQuota', 'iam:GetInstanceProfile', 'iam:SimulatePrincipalPolicy', 'ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups', 'ec2:DescribeKeyPairs', 'ssm:ListCommands']) expect(ops).toContain(op)
  })

  it('sees every command the code constructs and every paginator it calls', () => {
    const used = new Set<string>()
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/new ([A-Z]\w*)Command\(|\b(paginate[A-Z]\w*)\(/g)) used.add(m[1] ?? m[2]!.replace(/^paginate/, ''))
    }
    expect(used.size).toBeGreaterThan(10)
    for (const op of used) expect([...ops].some((o) => o.endsWith(`:${op}`))).toBe(true)
  })

  it('allows every operation the backend can call', () => {
    const missing = [...ops].filter((op) => !NO_PERMISSION_NEEDED.has(op) && allowed(op).length === 0)
    expect(missing).toEqual([])
  })

  it('allows what RunInstances implies: tagging at launch and passing the instance role', () => {
    const tag = allowed('ec2:CreateTags')
    expect(tag).toHaveLength(2)
    expect(tag[0]!.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': ['RunInstances', 'CreateSecurityGroup', 'CreatePlacementGroup'] } })
    // keep-on-failure: after launch, only the deadline tags, only on instances that carry dstack:run
    expect(tag[1]!.Condition).toEqual({ Null: { 'aws:ResourceTag/dstack:run': 'false' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['dstack:kept-until', 'dstack:expires-at'] } })
    expect(allowed('iam:PassRole')[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } })
  })

  it('scopes SendCommand to the document and to instances tagged dstack:run', () => {
    const send = allowed('ssm:SendCommand')
    expect(send.flatMap((s) => list(s.Resource))).toEqual(expect.arrayContaining(['arn:aws:ssm:*::document/AWS-RunShellScript', 'arn:aws:ec2:*:*:instance/*']))
    const onInstances = send.find((s) => list(s.Resource).includes('arn:aws:ec2:*:*:instance/*'))!
    expect(onInstances.Condition).toEqual({ StringLike: { 'ssm:resourceTag/dstack:run': '*' } })
    expect(allowed('ec2:TerminateInstances')[0]!.Condition).toEqual({ Null: { 'aws:ResourceTag/dstack:run': 'false' } })
  })

  it('multi-node: creates placement and security groups only with the dstack:run tag, and changes or deletes only groups that carry it', () => {
    for (const op of ['ec2:CreatePlacementGroup', 'ec2:DeletePlacementGroup', 'ec2:CreateSecurityGroup', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:DeleteSecurityGroup', 'ec2:DescribePlacementGroups', 'ssm:ListCommandInvocations']) expect(ops).toContain(op)
    const create = allowed('ec2:CreatePlacementGroup')
    expect(create).toHaveLength(1)
    expect(create[0]!.Condition).toEqual({ Null: { 'aws:RequestTag/dstack:run': 'false' } })
    // the security group itself must carry the tag; the VPC it is created in is not ours to tag
    const sg = allowed('ec2:CreateSecurityGroup')
    expect(sg.find((s) => list(s.Resource).includes('arn:aws:ec2:*:*:security-group/*'))!.Condition).toEqual({ Null: { 'aws:RequestTag/dstack:run': 'false' } })
    expect(sg.filter((s) => !s.Condition).flatMap((s) => list(s.Resource))).toEqual(['arn:aws:ec2:*:*:vpc/*'])
    for (const a of ['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:DeleteSecurityGroup', 'ec2:DeletePlacementGroup']) {
      const st = allowed(a)
      expect(st).toHaveLength(1)
      expect(st[0]!.Condition).toEqual({ Null: { 'aws:ResourceTag/dstack:run': 'false' } })
    }
    expect(allowed('ec2:RunInstances').flatMap((s) => list(s.Resource))).toContain('arn:aws:ec2:*:*:placement-group/*')
  })

  it('limits secret parameters to /dstack/*, for both roles', () => {
    expect(allowed('ssm:GetParametersByPath').flatMap((s) => list(s.Resource))).toEqual(['arn:aws:ssm:*:*:parameter/dstack'])
    for (const a of ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters']) expect(allowed(a).flatMap((s) => list(s.Resource))).toEqual(['arn:aws:ssm:*:*:parameter/dstack/*'])
    const inst = JSON.parse(readFileSync('examples/iam/instance-role-policy.json', 'utf8')) as { Statement: Statement[] }
    const get = inst.Statement.filter((s) => list(s.Action).includes('ssm:GetParameter'))
    expect(get.flatMap((s) => list(s.Resource))).toEqual(['arn:aws:ssm:*:*:parameter/dstack/*'])
  })
})
