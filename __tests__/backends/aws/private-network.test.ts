import { describe, it, expect, afterEach } from '@jest/globals'
import { mockClient } from 'aws-sdk-client-mock'
import { EC2Client, DescribeRouteTablesCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand, type RouteTable, type VpcEndpoint } from '@aws-sdk/client-ec2'
import { checkPrivateReach, reachRows } from '../../../src/backends/aws/private-network.js'
import { awsError } from './fake-cloud.js'

const R = 'us-east-1'
const subnet = { subnetId: 'subnet-0a', vpcId: 'vpc-01' }
const table = (routes: RouteTable['Routes'] = [], main = false): RouteTable => ({ RouteTableId: 'rtb-0a', VpcId: 'vpc-01', Associations: [main ? { Main: true } : { SubnetId: 'subnet-0a' }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' }, ...routes] })
const iface = (svc: string, dns = true): VpcEndpoint => ({ VpcEndpointId: `vpce-${svc}`, VpcEndpointType: 'Interface', VpcId: 'vpc-01', ServiceName: `com.amazonaws.${R}.${svc}`, State: 'Available', PrivateDnsEnabled: dns })
const s3gw: VpcEndpoint = { VpcEndpointId: 'vpce-s3', VpcEndpointType: 'Gateway', VpcId: 'vpc-01', ServiceName: `com.amazonaws.${R}.s3`, State: 'Available', RouteTableIds: ['rtb-0a'] }
const byCheck = (rows: ReturnType<typeof reachRows>) => Object.fromEntries(rows.map((r) => [r.check, r]))

describe('private subnets: SSM, SSM messages, EC2 messages and S3', () => {
  it('interface endpoints with private DNS and an S3 gateway endpoint on the route table: ok', () => {
    const rows = reachRows(R, [subnet], [table()], [iface('ssm'), iface('ssmmessages'), iface('ec2messages'), s3gw])
    expect(rows.map((r) => `${r.status} ${r.check}: ${r.detail}`)).toEqual([
      'ok SSM from subnet-0a in us-east-1: interface endpoint vpce-ssm with private DNS in vpc-01',
      'ok SSM messages from subnet-0a in us-east-1: interface endpoint vpce-ssmmessages with private DNS in vpc-01',
      'ok EC2 messages from subnet-0a in us-east-1: interface endpoint vpce-ec2messages with private DNS in vpc-01',
      'ok S3 from subnet-0a in us-east-1: gateway endpoint vpce-s3 on rtb-0a'
    ])
  })

  it('a NAT route reaches everything; the main table counts for a subnet without its own', () => {
    const rows = reachRows(R, [subnet], [table([{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-01', State: 'active' }], true)], [])
    expect(rows.every((r) => r.status === 'ok' && r.detail.includes('NAT gateway nat-01'))).toBe(true)
  })

  it('a missing endpoint is one failing row with the command that creates it', () => {
    const rows = byCheck(reachRows(R, [subnet], [table([{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-01', State: 'active' }])], [iface('ssm'), iface('ec2messages'), iface('ssmmessages', false)]))
    expect(rows['SSM from subnet-0a in us-east-1']!.status).toBe('ok')
    const msg = rows['SSM messages from subnet-0a in us-east-1']!
    expect(msg.status).toBe('fail')
    expect(msg.detail).toContain('private DNS off')
    expect(msg.fix).toBe('aws ec2 modify-vpc-endpoint --region us-east-1 --vpc-endpoint-id vpce-ssmmessages --private-dns-enabled')
    const s3 = rows['S3 from subnet-0a in us-east-1']!
    expect(s3.status).toBe('fail')
    expect(s3.detail).toBe('missing endpoint: S3 is not reachable without a public address: no endpoint for com.amazonaws.us-east-1.s3 in vpc-01 on rtb-0a, and no NAT route (0.0.0.0/0 goes to igw-01, which needs a public address)')
    expect(s3.fix).toContain('aws ec2 create-vpc-endpoint --region us-east-1 --vpc-id vpc-01 --service-name com.amazonaws.us-east-1.s3 --route-table-ids rtb-0a')
  })

  it('a gateway endpoint on another route table does not count; a transit gateway is a warning', () => {
    const other = { ...s3gw, RouteTableIds: ['rtb-other'] }
    expect(byCheck(reachRows(R, [subnet], [table()], [other]))['S3 from subnet-0a in us-east-1']!.status).toBe('fail')
    const tgw = reachRows(R, [subnet], [table([{ DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: 'tgw-01', State: 'active' }])], [])
    expect(tgw.every((r) => r.status === 'warn' && r.detail.includes('tgw-01'))).toBe(true)
    // a store in another region is not reached through this region's endpoints
    expect(byCheck(reachRows(R, [subnet], [table()], [s3gw], 'eu-west-1'))['S3 from subnet-0a in us-east-1']!.detail).toContain('in eu-west-1')
  })

  describe('the reads', () => {
    const ec2 = mockClient(EC2Client)
    afterEach(() => {
      ec2.reset()
    })

    it('one call each, valid for EC2, filtered by the subnets\' VPC', async () => {
      ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-0a', VpcId: 'vpc-01' }] })
      ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [table()] })
      ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [iface('ssm'), iface('ssmmessages'), iface('ec2messages'), s3gw] })
      const rows = await checkPrivateReach(new EC2Client({ region: R }), R, ['subnet-0a'])
      expect(rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok'])
      expect(ec2.commandCalls(DescribeVpcEndpointsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'vpc-id', Values: ['vpc-01'] }] })
      expect(ec2.commandCalls(DescribeRouteTablesCommand)).toHaveLength(1)
    })

    it('a role without the reads gets a warning naming them', async () => {
      ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-0a', VpcId: 'vpc-01' }] })
      ec2.on(DescribeRouteTablesCommand).rejects(awsError('UnauthorizedOperation'))
      const rows = await checkPrivateReach(new EC2Client({ region: R }), R, ['subnet-0a'])
      expect(rows).toEqual([expect.objectContaining({ status: 'warn', check: 'private network in us-east-1', fix: expect.stringContaining('ec2:DescribeVpcEndpoints') })])
    })
  })
})
