/**
 * Launching one candidate, and the message when none could be launched.
 *
 * RunInstances, one candidate at a time in our ranked order, rather than CreateFleet (instant,
 * price-capacity-optimized): the order is deterministic and explainable (cheapest first, spot
 * before on-demand, on-demand first after an interruption), every candidate gets its own error
 * code that we classify (quota vs capacity vs price), and a failure can never leave a partial
 * fleet. CreateFleet would answer HTTP 200 with per-override Errors[] and pick among overrides
 * itself; its better spot placement matters less for a single instance than clear errors do.
 * The client has maxAttempts 1 (clients.ts): we retry only throttling/5xx, with jittered backoff.
 */
import { RunInstancesCommand, type EC2Client, type RunInstancesCommandInput } from '@aws-sdk/client-ec2'
import { NoCapacityError, UserError } from '../../model/index.js'
import { describeCandidate, type Candidate } from './candidates.js'
import { classifyLaunchError, quotaConsoleUrl, quotaFor, quotaIncreaseCommand, type LaunchErrorClass, type LaunchErrorKind } from './errors.js'
import { backoffMs, sleepOrAbort } from './timing.js'

export interface LaunchDeps {
  sleep: (ms: number) => Promise<void>
  random: () => number
  signal: AbortSignal
  log: (line: string) => void
  retries: number
}

export type LaunchResult = { ok: true; instanceId: string; ownerId?: string } | { ok: false; error: LaunchErrorClass }

/** One candidate: RunInstances, retrying throttling/5xx with backoff (same ClientToken, so no double launch). */
export async function launchOne(ec2: EC2Client, input: RunInstancesCommandInput, d: LaunchDeps): Promise<LaunchResult> {
  const r = await launchInstances(ec2, input, d)
  return r.ok ? { ok: true, instanceId: r.instances[0]!.id, ...(r.ownerId ? { ownerId: r.ownerId } : {}) } : r
}

export interface LaunchedInstance {
  id: string
  /** the private IPv4 address RunInstances assigned (known at launch) */
  privateIp?: string
  /** AmiLaunchIndex: the order of the instances of one call */
  launchIndex: number
}

export type LaunchManyResult = { ok: true; instances: LaunchedInstance[]; ownerId?: string } | { ok: false; error: LaunchErrorClass }

/**
 * RunInstances for `MinCount` instances or none (a cluster's node group), in launch order;
 * retries throttling/5xx like launchOne.
 */
export async function launchInstances(ec2: EC2Client, input: RunInstancesCommandInput, d: LaunchDeps): Promise<LaunchManyResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await ec2.send(new RunInstancesCommand(input))
      const instances = (out.Instances ?? [])
        .filter((i) => i.InstanceId)
        .map((i, k) => ({ id: i.InstanceId!, ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}), launchIndex: i.AmiLaunchIndex ?? k }))
        .sort((a, b) => a.launchIndex - b.launchIndex)
      if (instances.length === 0) return { ok: false, error: { kind: 'other', code: 'NoInstance', message: 'RunInstances returned no instance' } }
      return { ok: true, instances, ...(out.OwnerId ? { ownerId: out.OwnerId } : {}) }
    } catch (e) {
      const c = classifyLaunchError(e)
      if (c.kind !== 'retry' || attempt >= d.retries) return { ok: false, error: c }
      const ms = backoffMs(attempt, d.random)
      d.log(`${c.code} from RunInstances; retrying in ${(ms / 1000).toFixed(1)} s (${attempt + 1}/${d.retries})`)
      await sleepOrAbort(d.sleep, ms, d.signal)
      if (d.signal.aborted) return { ok: false, error: { kind: 'other', code: 'Cancelled', message: 'cancelled' } }
    }
  }
}

export interface TriedCandidate {
  candidate: Candidate
  code: string
  message: string
  /** how the error was classified (a failure before launch: 'capacity' for an instance reclaimed before it came Online) */
  kind?: LaunchErrorKind
  /** set when the candidate was not tried because an earlier error covers it */
  skipped?: string
  /** what to call it in messages (a cluster: every node group), instead of the candidate */
  label?: string
}

/** Pure: the NoCapacityError message: every candidate with its error, then what to change. */
export function noCapacityMessage(tried: TriedCandidate[], o: { spotPolicy: string; maxPrice?: number }): string {
  const lines = tried.map((t) => `  - ${t.label ?? describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : `${t.code}: ${t.message}`}`)
  const hints = new Set<string>()
  for (const t of tried) {
    if (t.skipped) continue
    const q = quotaFor(t.candidate.instanceType)
    const region = t.candidate.region
    const need = Math.max(t.candidate.vcpus, 4)
    if (t.code === 'MaxSpotInstanceCountExceeded') {
      hints.add(q.spot
        ? `raise the spot vCPU quota "${q.spot.name}" (${q.spot.code}) in ${region} to at least ${need}: ${quotaConsoleUrl(q.spot.code, region)} or ${quotaIncreaseCommand(q.spot.code, region, need)}`
        : `raise the ${q.group} spot vCPU quota in ${region} (Service Quotas, service ec2)`)
      if (o.spotPolicy === 'spot') hints.add('or allow on-demand: spot_policy: auto')
    } else if (t.code === 'VcpuLimitExceeded' || t.code === 'InstanceLimitExceeded') {
      hints.add(q.onDemand
        ? `raise the on-demand vCPU quota "${q.onDemand.name}" (${q.onDemand.code}) in ${region} to at least ${need}: ${quotaConsoleUrl(q.onDemand.code, region)} or ${quotaIncreaseCommand(q.onDemand.code, region, need)}`
        : `raise the ${q.group} on-demand vCPU quota in ${region} (Service Quotas, service ec2)`)
    } else if (t.code === 'SpotMaxPriceTooLow') {
      hints.add(`max_price ${o.maxPrice ?? ''} USD/h is below the current spot price: raise max_price or remove it (AWS recommends no max price)`)
    } else {
      hints.add('allow more instance types, zones or regions (instance_types, availability_zones, regions, or more subnets), or retry later')
      if (o.spotPolicy === 'spot') hints.add('use spot_policy: auto so on-demand can be used when spot has no capacity')
    }
  }
  return `could not launch any of ${tried.length} candidate(s):\n${lines.join('\n')}\nWhat to change:\n${[...hints].map((h) => `  - ${h}`).join('\n')}`
}

export function noCapacityError(tried: TriedCandidate[], o: { spotPolicy: string; maxPrice?: number }): NoCapacityError {
  return new NoCapacityError(noCapacityMessage(tried, o), tried.map((t) => `${t.label ?? describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : t.code}`))
}

/** Every candidate was stopped by a vCPU quota: retrying cannot help until the quota is raised. */
export class QuotaError extends UserError {
  constructor(message: string) {
    super(message, 'raise the quota named above (new accounts start at 0 vCPUs for GPU instances), then run again')
    this.name = 'QuotaError'
  }
}

/** kinds that can go away by themselves: worth retrying the whole attempt later */
const TRANSIENT_KINDS: (LaunchErrorKind | undefined)[] = ['capacity', 'price', 'unsupported', 'retry']

/**
 * Pure: the error of a start in which no candidate launched. Capacity (and price, and a spot
 * instance reclaimed before it came Online) can change by itself → NoCapacityError, which the
 * default retry policy retries. When only quotas stood in the way → QuotaError (never retried).
 * Anything else → a UserError with the list.
 */
export function launchFailure(tried: TriedCandidate[], o: { spotPolicy: string; maxPrice?: number }): Error {
  const failed = tried.filter((t) => !t.skipped)
  if (failed.some((t) => TRANSIENT_KINDS.includes(t.kind ?? classifyLaunchError({ name: t.code }).kind))) return noCapacityError(tried, o)
  const message = noCapacityMessage(tried, o)
  if (failed.length > 0 && failed.every((t) => ['spot-quota', 'on-demand-quota'].includes(t.kind ?? classifyLaunchError({ name: t.code }).kind))) return new QuotaError(message.replace(/^could not launch/, 'vCPU quotas stopped every launch: could not launch'))
  return new UserError(message)
}
