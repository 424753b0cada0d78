/**
 * Releasing a cluster when EC2 is slow to let go: instances that stay `shutting-down` for a while,
 * groups still "in use" after their instances are gone, an instance EC2 has forgotten, and a group
 * that never frees (the error names it, every other step still runs). A virtual clock: no waiting.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { mockClient } from 'aws-sdk-client-mock'
import { DeletePlacementGroupCommand, DeleteSecurityGroupCommand, DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import { DeleteParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { releaseCluster } from '../../../src/backends/aws/cluster-handle.js'
import { awsError } from './fake-cloud.js'
import { virtualClock } from './harness.js'

const ec2Mock = mockClient(EC2Client)
const ssmMock = mockClient(SSMClient)
let clock: ReturnType<typeof virtualClock>
let lines: string[]

beforeEach(() => {
  ec2Mock.reset()
  ssmMock.reset()
  clock = virtualClock()
  lines = []
  ssmMock.on(DeleteParameterCommand).resolves({})
})
afterEach(() => {
  ec2Mock.reset()
  ssmMock.reset()
})

const resources = (over: Partial<Parameters<typeof releaseCluster>[0][number]> = {}) => [{
  region: 'us-east-1',
  ec2: new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  ssm: new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  instanceIds: ['i-0000000000000000a', 'i-0000000000000000b'],
  placementGroups: ['dstack-r-1-us-east-1a-12345678'],
  securityGroups: ['sg-0123'],
  secretParameters: ['/dstack/0123456789ab/r/1/env-0', '/dstack/0123456789ab/r/1/env-1'],
  ...over
}]
const deps = () => ({ now: clock.now, sleep: clock.sleep, credentialsSince: clock.now(), log: (l: string) => void lines.push(l) })
const described = (state: 'shutting-down' | 'terminated') => ({ Reservations: [{ Instances: ['i-0000000000000000a', 'i-0000000000000000b'].map((InstanceId) => ({ InstanceId, State: { Name: state } })) }] })

describe('releasing a cluster', () => {
  it('waits while the instances shut down and while EC2 still counts the groups as used, then deletes them', async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({})
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(described('shutting-down')).resolvesOnce(described('shutting-down')).resolves(described('terminated'))
    ec2Mock.on(DeletePlacementGroupCommand).rejectsOnce(awsError('InvalidPlacementGroup.InUse')).resolves({})
    ec2Mock.on(DeleteSecurityGroupCommand).rejectsOnce(awsError('DependencyViolation')).rejectsOnce(awsError('DependencyViolation')).resolves({})
    const start = clock.now()
    await releaseCluster(resources(), deps())
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(3)
    expect(ec2Mock.commandCalls(DeletePlacementGroupCommand)).toHaveLength(2)
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(3)
    expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input.Name)).toEqual(['/dstack/0123456789ab/r/1/env-0', '/dstack/0123456789ab/r/1/env-1'])
    expect(clock.now() - start).toBeGreaterThan(0)
    expect(lines).toEqual(expect.arrayContaining(['deleted placement group dstack-r-1-us-east-1a-12345678', 'deleted security group sg-0123']))
  })

  it('an instance EC2 has forgotten does not stop the others from being terminated', async () => {
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] }).rejects(awsError('InvalidInstanceID.NotFound'))
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-0000000000000000a'] }).rejects(awsError('InvalidInstanceID.NotFound'))
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-0000000000000000b'] }).resolves({})
    ec2Mock.on(DescribeInstancesCommand).resolves(described('terminated'))
    ec2Mock.on(DeletePlacementGroupCommand).resolves({})
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({})
    await releaseCluster(resources(), deps())
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([['i-0000000000000000a', 'i-0000000000000000b'], ['i-0000000000000000a'], ['i-0000000000000000b']])
  })

  it('a group that never frees: the error names it after the bounded wait, and the other steps still ran', async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({})
    ec2Mock.on(DescribeInstancesCommand).resolves(described('terminated'))
    ec2Mock.on(DeletePlacementGroupCommand).rejects(awsError('InvalidPlacementGroup.InUse'))
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({})
    const err = (await releaseCluster(resources(), deps()).catch((e: unknown) => e)) as Error
    expect(err.message).toMatch(/could not delete placement group dstack-r-1-us-east-1a-12345678: InvalidPlacementGroup.InUse/)
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(1)
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(2)
  })

  it('groups already gone and a second release are fine (idempotent)', async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({})
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'))
    ec2Mock.on(DeletePlacementGroupCommand).rejects(awsError('InvalidPlacementGroup.Unknown'))
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('InvalidGroup.NotFound'))
    ssmMock.on(DeleteParameterCommand).rejects(awsError('ParameterNotFound'))
    await releaseCluster(resources(), deps())
    await releaseCluster(resources(), deps())
  })

  it('expired credentials become the clear error, after every step was tried', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired'))
    ec2Mock.on(DescribeInstancesCommand).resolves(described('terminated'))
    ec2Mock.on(DeletePlacementGroupCommand).resolves({})
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({})
    const err = (await releaseCluster(resources(), deps()).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('ExpiredCredentialsError')
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(1)
  })
})
