/**
 * Launch candidates: pure ranking (`rankCandidates`) over data gathered by `findCandidates`
 * (the region's cached catalogue: catalog.ts; DescribeSubnets).
 */
import type { RunSpec, SpotPolicy } from '../../model/index.js'
import { UserError } from '../../model/index.js'
import type { AwsClientFactory } from './clients.js'
import { archName, type Arch } from './ami-fit.js'
import { catalogNames, prefetchCatalog, regionOfferings, regionOnDemandPrices, regionSpotPrices, regionTypes, type CatalogDeps } from './catalog.js'
import { matchTypes, mismatch, type TypeInfo } from './instance-types.js'
import { slots, subnetZones, type Slot } from './placement.js'
import { PRICE_SOURCE, type Price } from './prices.js'
import { retrying } from './retrying.js'

export type Market = 'spot' | 'on-demand'

export interface Candidate {
  region: string
  instanceType: string
  zone: string
  subnetId?: string
  market: Market
  /** undefined when no price could be found (ranked last) */
  pricePerHour?: number
  priceSource: string
  vcpus: number
  gpuCount: number
  gpuName?: string
  /** EFA interfaces the type can have (multi-node launches attach them: cluster-launch-input.ts) */
  efaInterfaces?: number
}

export interface RankInput {
  region: string
  types: TypeInfo[]
  slots: Slot[]
  /** `${type}|${zone}` → USD/h */
  spotPrices: Map<string, number>
  /** type → price */
  onDemandPrices: Map<string, Price>
  spotPolicy: SpotPolicy
  maxPrice?: number
  /** auto policy after an interruption: on-demand first, then spot */
  preferOnDemand?: boolean
}

const byPrice = (a: Candidate, b: Candidate): number =>
  (a.pricePerHour ?? Infinity) - (b.pricePerHour ?? Infinity) || a.instanceType.localeCompare(b.instanceType) || a.zone.localeCompare(b.zone) || (a.subnetId ?? '').localeCompare(b.subnetId ?? '')

/**
 * Pure: every allowed (type, zone, market) under max_price, region by region in the order given
 * (a region is tried in full, spot then on-demand, each cheapest first, before the next region:
 * the run lists its regions in the order it prefers them).
 */
export function rankCandidates(inputs: RankInput[]): Candidate[] {
  return inputs.flatMap(rankRegion)
}

function rankRegion(inp: RankInput): Candidate[] {
  const spot: Candidate[] = []
  const od: Candidate[] = []
  const info = new Map(inp.types.map((t) => [t.instanceType, t]))
  for (const s of inp.slots) {
    const t = info.get(s.instanceType)
    if (!t) continue
    const base = { region: inp.region, instanceType: s.instanceType, zone: s.zone, ...(s.subnetId ? { subnetId: s.subnetId } : {}), vcpus: t.vcpus, gpuCount: t.gpuCount, ...(t.gpuName ? { gpuName: t.gpuName } : {}), ...(t.efaInterfaces ? { efaInterfaces: t.efaInterfaces } : {}) }
    if (inp.spotPolicy !== 'on-demand' && t.spot) {
      const p = inp.spotPrices.get(`${s.instanceType}|${s.zone}`)
      if (p === undefined || inp.maxPrice === undefined || p <= inp.maxPrice) spot.push({ ...base, market: 'spot', pricePerHour: p, priceSource: p === undefined ? 'unknown' : PRICE_SOURCE.spot })
    }
    if (inp.spotPolicy !== 'spot' && t.onDemand) {
      const p = inp.onDemandPrices.get(s.instanceType)
      if (!p || inp.maxPrice === undefined || p.pricePerHour <= inp.maxPrice) od.push({ ...base, market: 'on-demand', pricePerHour: p?.pricePerHour, priceSource: p?.priceSource ?? 'unknown' })
    }
  }
  spot.sort(byPrice)
  od.sort(byPrice)
  return inp.preferOnDemand ? [...od, ...spot] : [...spot, ...od]
}

export function describeCandidate(c: Candidate): string {
  const price = c.pricePerHour === undefined ? 'price unknown' : `$${c.pricePerHour.toFixed(4)}/h`
  return `${c.instanceType} ${c.market} in ${c.zone}${c.subnetId ? ` (${c.subnetId})` : ''} at ${price}`
}

export interface FindOptions {
  regions: string[]
  subnetIds: string[]
  preferOnDemand: boolean
  /** the architecture candidates must have in each region (the AMI's, or the workflow's with the default AMIs) */
  archFor: (region: string) => Arch
  /** an extra check per type (the default AMIs' supported families) */
  typeCheck?: (t: TypeInfo) => string | undefined
  catalog: CatalogDeps
  log: (line: string) => void
}

/** I/O: gathers types, zones and prices per region (through the cached catalogue), then ranks. Throws UserError when nothing fits. */
export async function findCandidates(clients: AwsClientFactory, spec: RunSpec, o: FindOptions): Promise<Candidate[]> {
  const inputs: RankInput[] = []
  const notes: string[] = []
  const markets = { spot: spec.spotPolicy !== 'on-demand', onDemand: spec.spotPolicy !== 'spot' }
  // every cached part of every region's catalogue is read at once, not one after the other
  const catalog = prefetchCatalog(o.catalog, o.regions.map((region) => ({ region, names: catalogNames(o.archFor(region), markets) })))
  for (const region of o.regions) {
    const ec2 = clients.ec2(region)
    const arch = o.archFor(region)
    const all = await regionTypes(ec2, region, arch, catalog)
    const { fit, rejected, unknown } = matchTypes(all, spec.resources, arch, spec.instanceTypes, o.typeCheck)
    if (unknown.length) notes.push(`${region}: instance_types names ${unknown.join(', ')}, which EC2 does not sell here for ${archName(arch)}`)
    if (fit.length === 0) {
      const sample = spec.instanceTypes.length ? rejected.map((r) => `${r.instanceType}: ${r.why}`).join('; ') : `${rejected.length} types checked`
      notes.push(`${region}: no instance type fits the resources (${sample || 'none of the given instance_types exist here'})`)
      continue
    }
    const excluded = rejected.filter((r) => o.typeCheck && !mismatch(all.find((t) => t.instanceType === r.instanceType)!, spec.resources, arch))
    if (excluded.length) o.log(`${region}: left out ${excluded.length} type(s) the AMI cannot drive (${[...new Set(excluded.map((r) => r.instanceType.split('.')[0]))].join(', ')})`)
    const typeNames = fit.map((t) => t.instanceType)
    const subnets = await retrying(`reading the subnets in ${region}`, () => subnetZones(ec2, o.subnetIds), catalog)
    const zoneFilter = subnets.size ? [...new Set(subnets.values())] : []
    const allowedZones = spec.availabilityZones.length ? (zoneFilter.length ? zoneFilter.filter((z) => spec.availabilityZones.includes(z)) : spec.availabilityZones) : zoneFilter
    if ((spec.availabilityZones.length || subnets.size) && allowedZones.length === 0) {
      notes.push(`${region}: the subnets' zones (${[...subnets.values()].join(', ')}) are not in availability_zones (${spec.availabilityZones.join(', ')})`)
      continue
    }
    const allOffered = await regionOfferings(ec2, region, typeNames, catalog)
    const offered = new Map([...allOffered].map(([t, zones]) => [t, allowedZones.length ? zones.filter((z) => allowedZones.includes(z)) : zones] as const).filter(([, zones]) => zones.length > 0))
    const regionSlots = slots(offered, subnets.size ? subnets : undefined)
    if (regionSlots.length === 0) {
      notes.push(`${region}: none of ${typeNames.slice(0, 8).join(', ')}${typeNames.length > 8 ? ', …' : ''} is offered in ${allowedZones.length ? allowedZones.join(', ') : 'any zone'}`)
      continue
    }
    const offeredTypes = [...offered.keys()]
    let pricing
    try {
      pricing = spec.spotPolicy === 'spot' ? undefined : clients.pricing()
    } catch {
      pricing = undefined
    }
    // spot and on-demand prices do not depend on each other: read side by side
    const [spotPrices, odPrices] = await Promise.all([
      spec.spotPolicy === 'on-demand' ? new Map<string, number>() : regionSpotPrices(ec2, region, offeredTypes, catalog),
      spec.spotPolicy === 'spot' ? new Map<string, Price>() : regionOnDemandPrices(pricing, region, offeredTypes, catalog)
    ])
    inputs.push({ region, types: fit, slots: regionSlots, spotPrices, onDemandPrices: odPrices, spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice, preferOnDemand: o.preferOnDemand })
  }
  const ranked = rankCandidates(inputs)
  if (ranked.length === 0) {
    const why = notes.length ? notes.join('\n') : `every matching type costs more than max_price ${spec.maxPrice} USD/h, or none is sold as ${spec.spotPolicy}`
    throw new UserError(`no EC2 instance type matches this workflow in ${o.regions.join(', ')}:\n${why}`, 'relax resources (gpu, cpu, memory), add instance_types or regions, raise max_price, or use spot_policy: auto')
  }
  return ranked
}
