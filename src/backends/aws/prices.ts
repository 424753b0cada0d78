/**
 * Prices. Spot: the latest DescribeSpotPriceHistory entry per type and zone. On-demand: the AWS
 * Pricing API (GetProducts, endpoint us-east-1), else a small bundled table of us-east-1 list
 * prices for common GPU types. `priceSource` always says which one a number came from.
 */
import { paginateDescribeSpotPriceHistory, type EC2Client } from '@aws-sdk/client-ec2'
import { GetProductsCommand, type PricingClient } from '@aws-sdk/client-pricing'

export interface Price {
  pricePerHour: number
  priceSource: string
}

export const PRICE_SOURCE = {
  spot: 'ec2:DescribeSpotPriceHistory',
  pricingApi: 'pricing:GetProducts',
  fallback: 'bundled table (us-east-1 on-demand list price, approximate)'
} as const

/**
 * USD/hour, Linux, on-demand, us-east-1 list prices (AWS price pages, 2025; P4/P5 after the
 * June 2025 reduction). Used only when the Pricing API cannot be read; other regions differ by
 * a few percent to ~30 %.
 */
export const ON_DEMAND_FALLBACK: Record<string, number> = {
  'g4dn.xlarge': 0.526, 'g4dn.2xlarge': 0.752, 'g4dn.4xlarge': 1.204, 'g4dn.8xlarge': 2.176, 'g4dn.12xlarge': 3.912, 'g4dn.16xlarge': 4.352,
  'g5.xlarge': 1.006, 'g5.2xlarge': 1.212, 'g5.4xlarge': 1.624, 'g5.8xlarge': 2.448, 'g5.12xlarge': 5.672, 'g5.16xlarge': 4.096, 'g5.24xlarge': 8.144, 'g5.48xlarge': 16.288,
  'g6.xlarge': 0.8048, 'g6.2xlarge': 0.9776, 'g6.4xlarge': 1.3232, 'g6.8xlarge': 2.0144, 'g6.12xlarge': 4.6016, 'g6.16xlarge': 3.3968, 'g6.24xlarge': 6.6752, 'g6.48xlarge': 13.3504,
  'g6e.xlarge': 1.861, 'g6e.2xlarge': 2.24208, 'g6e.4xlarge': 3.00424, 'g6e.8xlarge': 4.52856, 'g6e.12xlarge': 10.49264, 'g6e.16xlarge': 7.57719, 'g6e.24xlarge': 15.06559, 'g6e.48xlarge': 30.13118,
  'p3.2xlarge': 3.06, 'p3.8xlarge': 12.24, 'p3.16xlarge': 24.48,
  'p4d.24xlarge': 21.96, 'p5.48xlarge': 55.04
}

/** latest spot price per `${type}|${zone}` */
export async function latestSpotPrices(ec2: EC2Client, types: string[], zones: string[] | undefined, now: Date): Promise<Map<string, number>> {
  const latest = new Map<string, { t: number; p: number }>()
  if (types.length === 0) return new Map()
  for (let i = 0; i < types.length; i += 50) {
    const input = {
      InstanceTypes: types.slice(i, i + 50) as never[],
      ProductDescriptions: ['Linux/UNIX'],
      StartTime: now,
      ...(zones?.length ? { Filters: [{ Name: 'availability-zone', Values: zones }] } : {})
    }
    for await (const page of paginateDescribeSpotPriceHistory({ client: ec2, pageSize: 1000 }, input)) {
      for (const h of page.SpotPriceHistory ?? []) {
        if (!h.InstanceType || !h.AvailabilityZone || !h.SpotPrice) continue
        const key = `${h.InstanceType}|${h.AvailabilityZone}`
        const t = h.Timestamp ? new Date(h.Timestamp).getTime() : 0
        const p = Number(h.SpotPrice)
        const prev = latest.get(key)
        if (Number.isFinite(p) && (!prev || t > prev.t)) latest.set(key, { t, p })
      }
    }
  }
  return new Map([...latest].map(([k, v]) => [k, v.p]))
}

/** The lowest positive USD on-demand price in one GetProducts price-list entry (a JSON string). */
export function onDemandUsdFromPriceList(entry: unknown): number | undefined {
  let doc: { terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { pricePerUnit?: { USD?: string } }> }> } }
  try {
    doc = typeof entry === 'string' ? JSON.parse(entry) : (JSON.parse(String(entry)) as typeof doc)
  } catch {
    return undefined
  }
  let best: number | undefined
  for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dim.pricePerUnit?.USD)
      if (Number.isFinite(usd) && usd > 0 && (best === undefined || usd < best)) best = usd
    }
  }
  return best
}

export async function onDemandPriceFromApi(pricing: PricingClient, region: string, instanceType: string): Promise<number | undefined> {
  const f = (Field: string, Value: string) => ({ Type: 'TERM_MATCH' as const, Field, Value })
  const out = await pricing.send(
    new GetProductsCommand({
      ServiceCode: 'AmazonEC2',
      FormatVersion: 'aws_v1',
      MaxResults: 20,
      Filters: [f('instanceType', instanceType), f('regionCode', region), f('operatingSystem', 'Linux'), f('tenancy', 'Shared'), f('preInstalledSw', 'NA'), f('capacitystatus', 'Used')]
    })
  )
  let best: number | undefined
  for (const e of out.PriceList ?? []) {
    const p = onDemandUsdFromPriceList(e)
    if (p !== undefined && (best === undefined || p < best)) best = p
  }
  return best
}

/**
 * On-demand prices for `types` in `region`: the Pricing API first; if it fails (no permission,
 * no network to us-east-1) the bundled table, and the failure is logged once.
 */
export async function onDemandPrices(pricing: PricingClient | undefined, region: string, types: string[], log: (l: string) => void): Promise<Map<string, Price>> {
  const out = new Map<string, Price>()
  let apiOk = pricing !== undefined
  for (let i = 0; i < types.length && apiOk; i += 5) {
    const batch = types.slice(i, i + 5)
    try {
      const prices = await Promise.all(batch.map((t) => onDemandPriceFromApi(pricing!, region, t)))
      batch.forEach((t, j) => {
        const p = prices[j]
        if (p !== undefined) out.set(t, { pricePerHour: p, priceSource: PRICE_SOURCE.pricingApi })
      })
    } catch (e) {
      apiOk = false
      log(`on-demand prices: the Pricing API failed (${(e as Error).name}: ${(e as Error).message}); using the bundled us-east-1 table`)
    }
  }
  for (const t of types) {
    const fb = ON_DEMAND_FALLBACK[t]
    if (!out.has(t) && fb !== undefined) out.set(t, { pricePerHour: fb, priceSource: PRICE_SOURCE.fallback })
  }
  return out
}
