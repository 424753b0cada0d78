/** Where a type can launch: zones that offer it (DescribeInstanceTypeOfferings) and the subnets in them. */
import { DescribeSubnetsCommand, paginateDescribeInstanceTypeOfferings, type EC2Client } from '@aws-sdk/client-ec2'

export interface Slot {
  instanceType: string
  zone: string
  subnetId?: string
}

/** `${type}` → zones that offer it, limited to `zones` when given */
export async function offeredZones(ec2: EC2Client, types: string[], zones: string[] | undefined): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (let i = 0; i < types.length; i += 100) {
    const Filters = [{ Name: 'instance-type', Values: types.slice(i, i + 100) }, ...(zones?.length ? [{ Name: 'location', Values: zones }] : [])]
    for await (const page of paginateDescribeInstanceTypeOfferings({ client: ec2, pageSize: 1000 }, { LocationType: 'availability-zone', Filters })) {
      for (const o of page.InstanceTypeOfferings ?? []) {
        if (!o.InstanceType || !o.Location) continue
        out.set(o.InstanceType, [...(out.get(o.InstanceType) ?? []), o.Location])
      }
    }
  }
  for (const v of out.values()) v.sort()
  return out
}

/** subnet id → its zone */
export async function subnetZones(ec2: EC2Client, subnetIds: string[]): Promise<Map<string, string>> {
  if (subnetIds.length === 0) return new Map()
  const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }))
  return new Map((out.Subnets ?? []).filter((s) => s.SubnetId && s.AvailabilityZone).map((s) => [s.SubnetId!, s.AvailabilityZone!]))
}

/** Pure: every (type, zone[, subnet]) slot; with subnets, one slot per subnet in an offering zone. */
export function slots(offered: Map<string, string[]>, subnets: Map<string, string> | undefined): Slot[] {
  const out: Slot[] = []
  for (const [instanceType, zones] of offered) {
    for (const zone of zones) {
      if (subnets && subnets.size > 0) {
        for (const [subnetId, z] of subnets) if (z === zone) out.push({ instanceType, zone, subnetId })
      } else out.push({ instanceType, zone })
    }
  }
  return out
}
