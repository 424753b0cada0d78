/**
 * The AWS backend's clients pointed at moto's server, with a small named stand-in for the calls moto
 * 5.2 does not implement (they answer HTTP 500 there): SSM DescribeInstanceInformation (every
 * instance is Online: no SSM agent runs in moto), ListCommandInvocations (built from moto's own
 * ListCommands and GetCommandInvocation), CancelCommand, EC2 placement groups, the Pricing API, EC2
 * Service Quotas, and IAM SimulatePrincipalPolicy (evaluated on the principal's real inline policies
 * in moto's IAM, with AWS's rule that a condition on a key the request context lacks is false).
 * Every stand-in answer is checked against the operation's output shape in botocore's service model;
 * every request is checked like all others (aws-model-setup.ts). Everything else goes to moto.
 */
import { SSMClient, ListCommandsCommand, GetCommandInvocationCommand } from '@aws-sdk/client-ssm'
import { IAMClient, ListRolesCommand, ListRolePoliciesCommand, GetRolePolicyCommand, ListUsersCommand, ListUserPoliciesCommand, GetUserPolicyCommand } from '@aws-sdk/client-iam'
import { defaultClientFactory, type AwsClientFactory } from '../../../src/backends/aws/index.js'
import { checkResponse, formatViolations, modelForService } from '../../helpers/aws-models.js'
import type { MotoCredentials, MotoServer } from '../../helpers/moto.js'

type Answer = (input: Record<string, unknown>) => Promise<Record<string, unknown>>

export interface StandIn {
  /** `SSM.DescribeInstanceInformation`… in the order the stand-in answered them */
  calls: string[]
  /** every request the backend sent through these clients (to moto or to the stand-in) */
  requests: { call: string; input: Record<string, unknown> }[]
}

interface Statement {
  Effect: 'Allow' | 'Deny'
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])
const glob = (pattern: string, value: string, caseless = false) => {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.split('?').map((x) => x.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('.')).join('.*')}$`, caseless ? 'i' : '')
  return re.test(value)
}

/** IAM's evaluation of one request on identity policies: explicit deny > allow > implicit deny */
export function evaluate(statements: Statement[], action: string, resource: string, context: Map<string, string[]>): 'allowed' | 'explicitDeny' | 'implicitDeny' {
  const matches = (s: Statement) => {
    const actionOk = s.Action ? list(s.Action).some((a) => glob(a, action, true)) : !list(s.NotAction).some((a) => glob(a, action, true))
    const resourceOk = s.Resource ? list(s.Resource).some((r) => glob(r, resource)) : !list(s.NotResource).some((r) => glob(r, resource))
    return actionOk && resourceOk && conditionsHold(s.Condition ?? {}, context)
  }
  if (statements.some((s) => s.Effect === 'Deny' && matches(s))) return 'explicitDeny'
  return statements.some((s) => s.Effect === 'Allow' && matches(s)) ? 'allowed' : 'implicitDeny'
}

function conditionsHold(cond: Record<string, Record<string, string | string[]>>, context: Map<string, string[]>): boolean {
  return Object.entries(cond).every(([op, keys]) =>
    Object.entries(keys).every(([key, want]) => {
      const have = context.get(key.toLowerCase())
      const wants = list(want)
      switch (op) {
        case 'StringEquals':
          return have !== undefined && have.some((h) => wants.includes(h))
        case 'StringLike':
          return have !== undefined && have.some((h) => wants.some((w) => glob(w, h)))
        case 'Null':
          return wants.includes('true') ? have === undefined : have !== undefined
        default:
          // an operator this stand-in does not know: never silently allow
          return false
      }
    })
  )
}

/** a client factory on moto with the stand-in; `credentials` act as the CI principal */
export function motoClients(moto: MotoServer, credentials: MotoCredentials = moto.credentials): { clients: AwsClientFactory; standIn: StandIn } {
  const standIn: StandIn = { calls: [], requests: [] }
  const inner = defaultClientFactory({ endpoint: moto.endpoint, credentials, maxAttempts: 2 })
  const raw = { ssm: new SSMClient(moto.clientConfig(moto.credentials)), iam: new IAMClient(moto.clientConfig(moto.credentials)) }
  const placementGroups = new Map<string, Record<string, unknown>>()

  const answers: Record<string, Answer> = {
    'SSM.DescribeInstanceInformation': async (input) => {
      const ids = list((input.Filters as { Key: string; Values: string[] }[] | undefined)?.find((f) => f.Key === 'InstanceIds')?.Values)
      return { InstanceInformationList: ids.map((id) => ({ InstanceId: id, PingStatus: 'Online', PlatformType: 'Linux' })) }
    },
    'SSM.ListCommandInvocations': async (input) => {
      const commandId = String(input.CommandId)
      const cmd = (await raw.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands?.[0]
      const invocations = []
      for (const id of cmd?.InstanceIds ?? []) {
        const inv = await raw.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }))
        invocations.push({ CommandId: commandId, InstanceId: id, Status: inv.Status, StatusDetails: inv.StatusDetails, CommandPlugins: [{ Name: 'aws:runShellScript', Status: inv.Status, ResponseCode: inv.ResponseCode }] })
      }
      return { CommandInvocations: invocations }
    },
    'SSM.CancelCommand': async () => ({}),
    'EC2.CreatePlacementGroup': async (input) => {
      const g = { GroupName: input.GroupName, Strategy: input.Strategy, State: 'available', GroupId: `pg-${String(placementGroups.size + 1).padStart(17, '0')}`, Tags: (input.TagSpecifications as { Tags?: unknown[] }[] | undefined)?.[0]?.Tags ?? [] }
      placementGroups.set(String(input.GroupName), g)
      return { PlacementGroup: g }
    },
    'EC2.DescribePlacementGroups': async (input) => ({ PlacementGroups: list(input.GroupNames as string[] | undefined).length ? list(input.GroupNames as string[]).flatMap((n) => (placementGroups.has(n) ? [placementGroups.get(n)!] : [])) : [...placementGroups.values()] }),
    'EC2.DeletePlacementGroup': async (input) => {
      placementGroups.delete(String(input.GroupName))
      return {}
    },
    'Pricing.GetProducts': async () => ({ FormatVersion: 'aws_v1', PriceList: [] }),
    'Service Quotas.GetServiceQuota': async (input) => ({ Quota: { ServiceCode: 'ec2', QuotaCode: input.QuotaCode, QuotaName: `quota ${String(input.QuotaCode)}`, Value: 4096, Unit: 'None', Adjustable: true } }),
    'IAM.SimulatePrincipalPolicy': async (input) => {
      const statements = await principalStatements(raw.iam, String(input.PolicySourceArn))
      const context = new Map<string, string[]>()
      for (const c of list(input.ContextEntries as { ContextKeyName: string; ContextKeyValues: string[] }[] | undefined)) context.set(c.ContextKeyName.toLowerCase(), c.ContextKeyValues)
      const resources = list(input.ResourceArns as string[] | undefined)
      const results = list(input.ActionNames as string[]).flatMap((action) =>
        (resources.length ? resources : ['*']).map((resource) => ({ EvalActionName: action, EvalResourceName: resource, EvalDecision: evaluate(statements, action, resource, context) }))
      )
      return { EvaluationResults: results, IsTruncated: false }
    }
  }

  const made = new WeakSet<object>()
  function withStandIn<T extends { config: { serviceId?: string }; middlewareStack: { add: (...a: never[]) => void } }>(client: T): T {
    if (made.has(client)) return client
    made.add(client)
    const serviceId = client.config.serviceId ?? '?'
    const add = client.middlewareStack.add as unknown as (mw: unknown, o: unknown) => void
    add.call(
      client.middlewareStack,
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '')
        standIn.requests.push({ call: `${serviceId}.${operation}`, input: args.input })
        const answer = answers[`${serviceId}.${operation}`]
        if (!answer) return next(args)
        standIn.calls.push(`${serviceId}.${operation}`)
        const output = await answer(args.input)
        const broken = checkResponse(modelForService(serviceId)!, operation, output)
        if (broken.length) throw new Error(`the moto stand-in's answer breaks the service model:\n${formatViolations(broken)}`)
        return { output: { ...output, $metadata: { httpStatusCode: 200 } }, response: {} }
      },
      { step: 'initialize', name: 'motoStandIn', priority: 'high' }
    )
    return client
  }

  const clients: AwsClientFactory = {
    ec2: (r) => withStandIn(inner.ec2(r)),
    launchEc2: (r) => withStandIn(inner.launchEc2(r)),
    ssm: (r) => withStandIn(inner.ssm(r)),
    sendSsm: (r) => withStandIn(inner.sendSsm(r)),
    pricing: () => withStandIn(inner.pricing()),
    sts: (r) => withStandIn(inner.sts(r)),
    iam: () => withStandIn(inner.iam()),
    quotas: (r) => withStandIn(inner.quotas(r)),
    destroy() {
      inner.destroy()
      raw.ssm.destroy()
      raw.iam.destroy()
    }
  }
  return { clients, standIn }
}

/** the inline policies of the role or user `arn` in moto's IAM; NoSuchEntity (as AWS answers) when there is none with that exact ARN */
async function principalStatements(iam: IAMClient, arn: string): Promise<Statement[]> {
  const docs: string[] = []
  const role = (await iam.send(new ListRolesCommand({}))).Roles?.find((r) => r.Arn === arn)
  if (role) {
    for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName! }))).PolicyNames ?? []) docs.push((await iam.send(new GetRolePolicyCommand({ RoleName: role.RoleName!, PolicyName: name }))).PolicyDocument!)
  } else {
    const user = (await iam.send(new ListUsersCommand({}))).Users?.find((u) => u.Arn === arn)
    if (!user) throw Object.assign(new Error(`The principal ${arn} does not exist`), { name: 'NoSuchEntity', $fault: 'client', $metadata: { httpStatusCode: 404 } })
    for (const name of (await iam.send(new ListUserPoliciesCommand({ UserName: user.UserName! }))).PolicyNames ?? []) docs.push((await iam.send(new GetUserPolicyCommand({ UserName: user.UserName!, PolicyName: name }))).PolicyDocument!)
  }
  return docs.flatMap((d) => list((JSON.parse(decodeURIComponent(d)) as { Statement: Statement | Statement[] }).Statement))
}
