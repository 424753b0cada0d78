/**
 * Preflight of `public-ip: false`: an instance without a public address reaches SSM, SSM messages,
 * EC2 messages (the agent) and S3 (the runner, the store) only through VPC endpoints or a NAT
 * gateway. Per subnet and service one row: an interface endpoint with private DNS in the subnet's
 * VPC, for S3 also a gateway endpoint on the subnet's route table, or a default route to a NAT
 * gateway; otherwise a failure with the command that creates what is missing.
 *
 * Reads: DescribeSubnets, DescribeRouteTables, DescribeVpcEndpoints (one call each for every
 * subnet). `reachRows` is the pure part.
 */
import { DescribeRouteTablesCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand, type EC2Client, type RouteTable, type VpcEndpoint } from '@aws-sdk/client-ec2'
import type { CheckRow } from './check-rows.js'
import { errorCode, errorMessage } from './errors.js'

/** the services an instance without a public address must reach, and their names in rows */
export const PRIVATE_SERVICES = [
  { service: 'ssm', label: 'SSM' },
  { service: 'ssmmessages', label: 'SSM messages' },
  { service: 'ec2messages', label: 'EC2 messages' },
  { service: 's3', label: 'S3' }
] as const

export interface SubnetFacts {
  subnetId: string
  vpcId?: string
}

const DENIED = /AccessDenied|UnauthorizedOperation|NotAuthorized/

/** the route table of a subnet: its own association, else its VPC's main table */
export function routeTableOf(subnet: SubnetFacts, tables: RouteTable[]): RouteTable | undefined {
  return (
    tables.find((t) => (t.Associations ?? []).some((a) => a.SubnetId === subnet.subnetId)) ??
    tables.find((t) => t.VpcId === subnet.vpcId && (t.Associations ?? []).some((a) => a.Main))
  )
}

/** where the subnet's default route goes (`nat-…`, `igw-…`, `tgw-…`…), when it has a working one */
function defaultRoute(t: RouteTable | undefined): string | undefined {
  const r = (t?.Routes ?? []).find((x) => x.DestinationCidrBlock === '0.0.0.0/0' && x.State !== 'blackhole')
  return r ? (r.NatGatewayId ?? r.TransitGatewayId ?? r.GatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.VpcPeeringConnectionId ?? 'a target') : undefined
}

/**
 * Pure: the rows for every subnet and service. `storeRegion`: the store bucket's region; a gateway
 * or interface endpoint reaches buckets of its own region only.
 */
export function reachRows(region: string, subnets: SubnetFacts[], tables: RouteTable[], endpoints: VpcEndpoint[], storeRegion?: string): CheckRow[] {
  const rows: CheckRow[] = []
  const live = endpoints.filter((e) => !['deleted', 'deleting', 'failed', 'rejected', 'expired'].includes(String(e.State ?? '').toLowerCase()))
  for (const s of subnets) {
    const table = routeTableOf(s, tables)
    const out = defaultRoute(table)
    const tableName = table?.RouteTableId ?? '<route table>'
    for (const { service, label } of PRIVATE_SERVICES) {
      const check = `${label} from ${s.subnetId} in ${region}`
      const name = `com.amazonaws.${region}.${service}`
      const mine = live.filter((e) => e.VpcId === s.vpcId && e.ServiceName === name)
      const iface = mine.find((e) => e.VpcEndpointType === 'Interface')
      const gateway = mine.find((e) => e.VpcEndpointType === 'Gateway' && table?.RouteTableId && (e.RouteTableIds ?? []).includes(table.RouteTableId))
      const otherRegionStore = service === 's3' && storeRegion && storeRegion !== region
      if (!otherRegionStore && iface?.PrivateDnsEnabled) {
        rows.push({ check, status: 'ok', detail: `interface endpoint ${iface.VpcEndpointId} with private DNS in ${s.vpcId}` })
        continue
      }
      if (!otherRegionStore && gateway) {
        rows.push({ check, status: 'ok', detail: `gateway endpoint ${gateway.VpcEndpointId} on ${tableName}` })
        continue
      }
      if (out?.startsWith('nat-')) {
        rows.push({ check, status: 'ok', detail: `through the NAT gateway ${out} (0.0.0.0/0 in ${tableName})` })
        continue
      }
      if (out && !out.startsWith('igw-')) {
        rows.push({ check, status: 'warn', detail: `0.0.0.0/0 in ${tableName} goes to ${out}: not checked beyond it`, fix: `make sure ${out} leads to ${name} over HTTPS, or create the endpoint: ${createCommand(region, s, service, tableName)}` })
        continue
      }
      const found = iface
        ? `the interface endpoint ${iface.VpcEndpointId} has private DNS off, so the instance resolves the public name`
        : otherRegionStore
          ? `the store's bucket is in ${storeRegion}: endpoints in ${region} do not reach it, and there is no NAT route`
          : `no endpoint for ${name} in ${s.vpcId ?? 'its VPC'}${service === 's3' ? ` on ${tableName}` : ''}, and no NAT route${out ? ` (0.0.0.0/0 goes to ${out}, which needs a public address)` : ''}`
      const fix = iface && !otherRegionStore
        ? `aws ec2 modify-vpc-endpoint --region ${region} --vpc-endpoint-id ${iface.VpcEndpointId} --private-dns-enabled`
        : otherRegionStore
          ? `add a NAT gateway route (0.0.0.0/0) to ${tableName}, or keep the store in ${region}`
          : `${createCommand(region, s, service, tableName)}; or a NAT gateway route 0.0.0.0/0 in ${tableName}; or deploy examples/aws/setup.yml with CreateEndpoints=true`
      rows.push({ check, status: 'fail', detail: `missing endpoint: ${label} is not reachable without a public address: ${found}`, fix })
    }
  }
  return rows
}

function createCommand(region: string, s: SubnetFacts, service: string, table: string): string {
  const vpc = s.vpcId ?? '<vpc>'
  if (service === 's3') return `aws ec2 create-vpc-endpoint --region ${region} --vpc-id ${vpc} --service-name com.amazonaws.${region}.s3 --route-table-ids ${table}`
  return `aws ec2 create-vpc-endpoint --region ${region} --vpc-id ${vpc} --vpc-endpoint-type Interface --service-name com.amazonaws.${region}.${service} --subnet-ids ${s.subnetId} --security-group-ids <a group allowing HTTPS from the subnet> --private-dns-enabled`
}

/** the rows of `public-ip: false` for these subnets (a read that is not allowed: one warning) */
export async function checkPrivateReach(ec2: EC2Client, region: string, subnetIds: string[], storeRegion?: string): Promise<CheckRow[]> {
  if (subnetIds.length === 0) return []
  const check = `private network in ${region}`
  try {
    const sn = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }))
    const subnets: SubnetFacts[] = (sn.Subnets ?? []).map((x) => ({ subnetId: x.SubnetId ?? '?', ...(x.VpcId ? { vpcId: x.VpcId } : {}) }))
    const vpcs = [...new Set(subnets.map((x) => x.vpcId).filter((v): v is string => Boolean(v)))]
    if (vpcs.length === 0) return [{ check, status: 'warn', detail: 'the subnets name no VPC: endpoints not checked' }]
    const tables: RouteTable[] = []
    const endpoints: VpcEndpoint[] = []
    let token: string | undefined
    do {
      const rt = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: vpcs }], ...(token ? { NextToken: token } : {}) }))
      tables.push(...(rt.RouteTables ?? []))
      token = rt.NextToken
    } while (token)
    do {
      const ep = await ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: vpcs }], ...(token ? { NextToken: token } : {}) }))
      endpoints.push(...(ep.VpcEndpoints ?? []))
      token = ep.NextToken
    } while (token)
    return reachRows(region, subnets, tables, endpoints, storeRegion)
  } catch (e) {
    if (DENIED.test(errorCode(e))) {
      return [{ check, status: 'warn', detail: `not verified: ${errorCode(e)}`, fix: 'allow ec2:DescribeSubnets, ec2:DescribeRouteTables and ec2:DescribeVpcEndpoints to the CI role to have the endpoints checked (examples/iam/ci-role-policy.json)' }]
    }
    const why = `${errorCode(e)}: ${errorMessage(e)}`.split('\n')[0]!.slice(0, 200)
    return [{ check, status: 'warn', detail: `could not check the endpoints: ${why}`, fix: `see docs/aws.md#private-subnets for what a subnet without public addresses needs` }]
  }
}
