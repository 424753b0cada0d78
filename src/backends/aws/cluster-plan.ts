/**
 * Pure: the launch candidates of a multi-node attempt. A cluster candidate is one location
 * (region, zone, subnet) and one market, with one instance type per node group; every node of the
 * attempt lands there together (one cluster placement group) or not at all.
 */
import type { Resources, RunSpec } from '../../model/index.js'
import type { Candidate, Market } from './candidates.js'

/** one node group as launched: `nodes` instances of one type, taking ranks `firstRank`… in group order */
export interface NodeGroupPlan {
  /** `groups[].name`; undefined for a task with `nodes: N` and no groups */
  name?: string
  nodes: number
  resources: Resources
  firstRank: number
}

export interface ClusterMember {
  group: NodeGroupPlan
  candidate: Candidate
}

export interface ClusterCandidate {
  region: string
  zone: string
  subnetId?: string
  market: Market
  /** one per node group, in group order */
  members: ClusterMember[]
  /** USD/h of the whole cluster; undefined when a member's price is unknown */
  pricePerHour?: number
  /** vCPUs of the whole cluster (what its quota must allow) */
  vcpus: number
  nodes: number
}

/** Pure: the node groups of a multi-node spec (its `groups`, or one group of `nodes`), with their ranks */
export function nodeGroups(spec: Pick<RunSpec, 'nodes' | 'groups' | 'resources'>): NodeGroupPlan[] {
  if (!spec.groups?.length) return [{ nodes: spec.nodes, resources: spec.resources, firstRank: 0 }]
  const out: NodeGroupPlan[] = []
  let rank = 0
  for (const g of spec.groups) {
    if (!Number.isSafeInteger(g.nodes) || g.nodes < 1) throw new Error(`node group ${JSON.stringify(g.name)} has ${g.nodes} nodes`)
    out.push({ name: g.name, nodes: g.nodes, resources: g.resources ?? spec.resources, firstRank: rank })
    rank += g.nodes
  }
  if (rank !== spec.nodes) throw new Error(`the node groups add up to ${rank} nodes, but the task has nodes: ${spec.nodes}`)
  return out
}

const where = (c: Pick<Candidate, 'region' | 'zone' | 'subnetId' | 'market'>): string => `${c.region}|${c.zone}|${c.subnetId ?? ''}|${c.market}`

/** how many of each group's cheapest types at one location are combined (bounds the product) */
const TYPES_PER_GROUP = 3

/**
 * Pure: every cluster candidate, cheapest first within each market (spot first, or on-demand
 * first when `preferOnDemand`). `perGroup[i]` is group i's ranked single-node candidates; a
 * location counts only when every group has a type there, in the same market.
 */
export function clusterCandidates(groups: NodeGroupPlan[], perGroup: Candidate[][], o: { preferOnDemand: boolean }): ClusterCandidate[] {
  if (groups.length !== perGroup.length) throw new Error('clusterCandidates: one candidate list per node group')
  const byWhere = perGroup.map((list) => {
    const m = new Map<string, Candidate[]>()
    for (const c of list) m.set(where(c), [...(m.get(where(c)) ?? []), c])
    return m
  })
  const out: ClusterCandidate[] = []
  for (const [key, first] of byWhere[0] ?? new Map<string, Candidate[]>()) {
    const options = byWhere.map((m, i) => (i === 0 ? first : m.get(key) ?? []).slice(0, groups.length > 1 ? TYPES_PER_GROUP : undefined))
    if (options.some((o) => o.length === 0)) continue
    for (const combo of product(options)) {
      const members = combo.map((candidate, i) => ({ group: groups[i]!, candidate }))
      const known = members.every((m) => m.candidate.pricePerHour !== undefined)
      const c0 = combo[0]!
      out.push({
        region: c0.region,
        zone: c0.zone,
        ...(c0.subnetId ? { subnetId: c0.subnetId } : {}),
        market: c0.market,
        members,
        ...(known ? { pricePerHour: round6(members.reduce((s, m) => s + m.candidate.pricePerHour! * m.group.nodes, 0)) } : {}),
        vcpus: members.reduce((s, m) => s + m.candidate.vcpus * m.group.nodes, 0),
        nodes: members.reduce((s, m) => s + m.group.nodes, 0)
      })
    }
  }
  const byPrice = (a: ClusterCandidate, b: ClusterCandidate): number =>
    (a.pricePerHour ?? Infinity) - (b.pricePerHour ?? Infinity) || describeCluster(a).localeCompare(describeCluster(b))
  const spot = out.filter((c) => c.market === 'spot').sort(byPrice)
  const od = out.filter((c) => c.market === 'on-demand').sort(byPrice)
  return o.preferOnDemand ? [...od, ...spot] : [...spot, ...od]
}

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((x) => [...prefix, x])), [[]])
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6
}

/** `2 × g5.12xlarge spot in us-east-1a at $3.4000/h`, or with groups `head: 1 × g5.xlarge + workers: 2 × … spot in …` */
export function describeCluster(c: ClusterCandidate): string {
  const parts = c.members.map((m) => `${m.group.name ? `${m.group.name}: ` : ''}${m.group.nodes} × ${m.candidate.instanceType}`)
  const price = c.pricePerHour === undefined ? 'price unknown' : `$${c.pricePerHour.toFixed(4)}/h`
  return `${parts.join(' + ')} ${c.market} in ${c.zone}${c.subnetId ? ` (${c.subnetId})` : ''} at ${price}`
}

/** the (type, zone, subnet, market) of a member, for remembering what had no capacity */
export function slotKey(c: Candidate): string {
  return `${c.instanceType}|${where(c)}`
}
