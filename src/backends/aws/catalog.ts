/**
 * The instance catalogue of a region (types, the zones that offer them, spot and on-demand prices),
 * read through a one-day cache in the run store (`cache/aws/<region>/<name>.json`), so a burst of
 * starts reads it from AWS once. Every AWS read is retried on throttling (retrying.ts). The cache
 * is an optimisation: a store that cannot be read or written only costs the AWS calls.
 */
import { paginateDescribeInstanceTypes, type EC2Client } from '@aws-sdk/client-ec2'
import type { PricingClient } from '@aws-sdk/client-pricing'
import type { ObjectStore } from '../../store/index.js'
import { archName, type Arch } from './ami-fit.js'
import { toTypeInfo, type TypeInfo } from './instance-types.js'
import { offeredZones } from './placement.js'
import { latestSpotPrices, onDemandPrices, type Price } from './prices.js'
import { retrying, type RetryDeps } from './retrying.js'

export const CATALOG_TTL_MS = 24 * 3600 * 1000

export interface CatalogDeps extends RetryDeps {
  /** the run store, or undefined for no cache */
  store?: ObjectStore
  now: () => number
  /** cache files already being read (prefetchCatalog), by key: each answer is taken once */
  prefetched?: Map<string, Promise<string | undefined>>
}

interface CacheFile<T> {
  fetchedAt: number
  value: T
}

export function cacheKey(region: string, name: string): string {
  return `cache/aws/${region}/${name}.json`
}

/** the names of a region's cache files (regionTypes, regionOfferings, regionSpotPrices, regionOnDemandPrices) */
export function catalogNames(arch: Arch, o: { spot: boolean; onDemand: boolean }): string[] {
  return [typesName(arch), 'offerings', ...(o.spot ? ['spot-prices'] : []), ...(o.onDemand ? ['on-demand-prices'] : [])]
}

/**
 * Starts reading these cache files of a region at once: one store round trip instead of one per
 * file in a row (each read needs the one before it only for what it asks AWS on a miss). Returns
 * deps whose reads take these answers.
 */
export function prefetchCatalog(d: CatalogDeps, files: { region: string; names: string[] }[]): CatalogDeps {
  if (!d.store) return d
  const store = d.store
  const prefetched = new Map(d.prefetched ?? [])
  for (const { region, names } of files) {
    for (const name of names) {
      const key = cacheKey(region, name)
      if (!prefetched.has(key)) prefetched.set(key, store.getText(key).catch(() => undefined))
    }
  }
  return { ...d, prefetched }
}

async function readCache<T>(d: CatalogDeps, region: string, name: string): Promise<CacheFile<T> | undefined> {
  if (!d.store) return undefined
  try {
    const key = cacheKey(region, name)
    const early = d.prefetched?.get(key)
    d.prefetched?.delete(key)
    const text = await (early ?? d.store.getText(key))
    if (!text) return undefined
    const f = JSON.parse(text) as CacheFile<T>
    if (typeof f.fetchedAt !== 'number' || d.now() - f.fetchedAt >= CATALOG_TTL_MS || d.now() < f.fetchedAt) return undefined
    return f
  } catch {
    return undefined
  }
}

async function writeCache<T>(d: CatalogDeps, region: string, name: string, f: CacheFile<T>): Promise<void> {
  if (!d.store) return
  try {
    await d.store.put(cacheKey(region, name), JSON.stringify(f), { contentType: 'application/json' })
  } catch (e) {
    d.log(`could not write the instance catalogue cache (${(e as Error).name}); the next start reads it from AWS again`)
  }
}

/** A map cached as one file: keys already there are reused; missing keys are fetched and merged in. */
async function cachedMap<V>(d: CatalogDeps, region: string, name: string, keys: string[], fetch: (missing: string[]) => Promise<Map<string, V>>): Promise<Map<string, V>> {
  const f = await readCache<Record<string, V>>(d, region, name)
  const have: Record<string, V> = f?.value ?? {}
  const missing = keys.filter((k) => !(k in have))
  if (missing.length) {
    const got = await fetch(missing)
    // a key AWS knows nothing about is remembered as absent (null), so it is not asked again
    for (const k of missing) have[k] = got.has(k) ? got.get(k)! : (null as V)
    await writeCache(d, region, name, { fetchedAt: f?.fetchedAt ?? d.now(), value: have })
  }
  return new Map(keys.filter((k) => have[k] !== null && have[k] !== undefined).map((k) => [k, have[k]!]))
}

/** v2: TypeInfo gained efaInterfaces (an older cached list would say no type has EFA) */
function typesName(arch: Arch): string {
  return `instance-types-v2-${archName(arch)}`
}

/** every instance type of one architecture in the region (DescribeInstanceTypes, all pages) */
export async function regionTypes(ec2: EC2Client, region: string, arch: Arch, d: CatalogDeps): Promise<TypeInfo[]> {
  const name = typesName(arch)
  const f = await readCache<TypeInfo[]>(d, region, name)
  if (f) return f.value
  const types = await retrying(`listing the instance types of ${region}`, async () => {
    const out: TypeInfo[] = []
    const input = { Filters: [{ Name: 'processor-info.supported-architecture', Values: [archName(arch)] }] }
    for await (const page of paginateDescribeInstanceTypes({ client: ec2, pageSize: 100 }, input)) {
      for (const raw of page.InstanceTypes ?? []) {
        const t = toTypeInfo(raw)
        if (t) out.push(t)
      }
    }
    return out
  }, d)
  await writeCache(d, region, name, { fetchedAt: d.now(), value: types })
  return types
}

/** type → every zone of the region that offers it */
export function regionOfferings(ec2: EC2Client, region: string, types: string[], d: CatalogDeps): Promise<Map<string, string[]>> {
  return cachedMap(d, region, 'offerings', types, (missing) => retrying(`listing where ${region} offers them`, () => offeredZones(ec2, missing, undefined), d))
}

/** type → zone → latest spot price */
export async function regionSpotPrices(ec2: EC2Client, region: string, types: string[], d: CatalogDeps): Promise<Map<string, number>> {
  const byType = await cachedMap<Record<string, number>>(d, region, 'spot-prices', types, async (missing) => {
    const flat = await retrying(`reading spot prices in ${region}`, () => latestSpotPrices(ec2, missing, undefined, new Date(d.now())), d)
    const out = new Map<string, Record<string, number>>()
    for (const [k, p] of flat) {
      const [t, z] = k.split('|') as [string, string]
      out.set(t, { ...(out.get(t) ?? {}), [z]: p })
    }
    return out
  })
  const flat = new Map<string, number>()
  for (const [t, zones] of byType) for (const [z, p] of Object.entries(zones)) flat.set(`${t}|${z}`, p)
  return flat
}

/** type → on-demand price (Pricing API, else the bundled table) */
export function regionOnDemandPrices(pricing: PricingClient | undefined, region: string, types: string[], d: CatalogDeps): Promise<Map<string, Price>> {
  return cachedMap(d, region, 'on-demand-prices', types, (missing) => onDemandPrices(pricing, region, missing, d.log))
}
