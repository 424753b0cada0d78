import { describe, it, expect } from '@jest/globals'
import { mockClient } from 'aws-sdk-client-mock'
import { SSMClient, SendCommandCommand } from '@aws-sdk/client-ssm'
import { EC2Client, DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2'
import { checkRequest, loadModel } from './aws-models.js'
import { commandViolations, takeViolations } from './aws-model-setup.js'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${String(i).padStart(17, '0')}`)

describe('service models', () => {
  it('finds the models of every service the backend calls', () => {
    for (const s of ['ec2', 'ssm', 's3', 'iam', 'sts', 'pricing', 'service-quotas']) {
      const m = loadModel(s)
      expect(Object.keys(m.operations).length).toBeGreaterThan(3)
    }
  })

  it('names the call and the field of each broken rule', () => {
    const ssm = loadModel('ssm')
    const fields = (op: string, input: unknown) => checkRequest(ssm, op, input).map((v) => `${v.call} ${v.field}`)
    expect(fields('SendCommand', { DocumentName: 'AWS-RunShellScript', InstanceIds: ids(50) })).toEqual([])
    expect(fields('SendCommand', { DocumentName: 'AWS-RunShellScript', InstanceIds: ids(51) })).toEqual(['SSM.SendCommand InstanceIds'])
    expect(fields('SendCommand', { InstanceIds: ids(1) })).toEqual(['SSM.SendCommand DocumentName'])
    expect(fields('SendCommand', { DocumentName: 'AWS-RunShellScript', TimeoutSeconds: 5 })).toEqual(['SSM.SendCommand TimeoutSeconds'])
    expect(fields('SendCommand', { DocumentName: 'AWS-RunShellScript', Comment: 'x'.repeat(101) })).toEqual(['SSM.SendCommand Comment'])
    expect(fields('PutParameter', { Name: 'n', Value: 'v', Type: 'Secret' })).toEqual(['SSM.PutParameter Type'])
    expect(fields('SendCommand', { DocumentName: 'AWS-RunShellScript', InstanceId: 'i-1' })).toEqual(['SSM.SendCommand InstanceId'])
    const ec2 = loadModel('ec2')
    expect(checkRequest(ec2, 'RunInstances', { MinCount: 1, MaxCount: '1', InstanceType: 'g5.xlarge' }).map((v) => v.field)).toEqual(['MaxCount'])
    expect(checkRequest(ec2, 'RunInstances', { MinCount: 1, MaxCount: 1, InstanceType: 'g5.huge' }).map((v) => v.field)).toEqual(['InstanceType'])
    expect(checkRequest(ec2, 'DescribeInstances', { Filters: [{ Name: 'tag:x', Values: 'y' }] }).map((v) => v.field)).toEqual(['Filters[0].Values'])
  })

  it('refuses a mocked call that breaks a rule, and lets a good one through to the double', async () => {
    const mock = mockClient(SSMClient)
    mock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } })
    const ssm = new SSMClient({ region: 'us-east-1' })
    try {
      await expect(ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids(2) }))).resolves.toMatchObject({ Command: { CommandId: 'c-1' } })
      const bad = ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids(51) }))
      await expect(bad).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('SSM.SendCommand: InstanceIds: has 51 items') })
      expect(mock.commandCalls(SendCommandCommand)).toHaveLength(1)
      // taken here, so this test's end does not fail on the violation it provoked on purpose
      expect(takeViolations().map((v) => `${v.call} ${v.field}`)).toEqual(['SSM.SendCommand InstanceIds'])
    } finally {
      mock.restore()
      ssm.destroy()
    }
  })
})

describe('service model check on real clients', () => {
  it('refuses before any network use', async () => {
    // an endpoint nobody listens on: a refused request never gets that far
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 })
    try {
      await expect(ec2.send(new DescribeInstancesCommand({ MaxResults: '5' as unknown as number }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining('EC2.DescribeInstances: MaxResults: must be an integer')
      })
      expect(takeViolations()).toHaveLength(1)
      expect(commandViolations(ec2 as never, new RunInstancesCommand({ MinCount: 1, MaxCount: 1 }) as never)).toEqual([])
    } finally {
      ec2.destroy()
    }
  })
})
