/**
 * Starting a multi-node attempt on EC2 (`spec.nodes > 1`): ranked cluster candidates (one zone,
 * one market, one type per node group) → for each: the attempt's cluster placement group in that
 * zone and its security group → RunInstances per node group with MinCount = MaxCount = its nodes
 * (a group that cannot be launched terminates the groups already launched, and the next cluster
 * is tried) → every node Online in SSM → one SendCommand to all nodes. Nothing launched here
 * outlives a failed start: every instance is terminated, and the groups the attempt created are
 * deleted, before the error is thrown.
 */
import { createHash } from 'node:crypto'
import type { AttemptHandle, MachineInfo, RunSpec, StartRequest } from '../../model/index.js'
import { UserError } from '../../model/index.js'
import { planAmis, type AmiPlan } from './ami.js'
import { renderBootstrap, secretEnvPayload, secretParameterName, nodeSecretParameterName } from './bootstrap.js'
import { findCandidates, describeCandidate, type Candidate } from './candidates.js'
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { CatalogDeps } from './catalog.js'
import { AwsClusterHandle, releaseCluster, type ClusterResources } from './cluster-handle.js'
import { clusterRunInstancesInput, placementGroupName, securityGroupName, efaInterfaceCount } from './cluster-launch-input.js'
import { clusterNetworkError, createClusterSecurityGroup, createPlacementGroup, vpcOfSubnet } from './cluster-network.js'
import { clusterCandidates, describeCluster, nodeGroups, slotKey, type ClusterCandidate } from './cluster-plan.js'
import { configurationFix, isExpiredCredentials, quotaFor } from './errors.js'
import { ExpiredCredentialsError } from './expired-credentials.js'
import { instanceTags, launchBilling } from './launch-input.js'
import { launchFailure, launchInstances, QuotaError, type LaunchedInstance, type TriedCandidate } from './launch.js'
import type { ResolvedAwsOptions } from './options.js'
import { checkClusterQuotas, formatRows, type CheckRow } from './preflight.js'
import { putSecretParameter, instanceArn } from './secret-parameter.js'
import { readConsoleTail } from './console-output.js'
import { inBatches, MAX_EXECUTION_TIMEOUT, neverOnlineMessage, SEND_COMMAND_MAX_INSTANCES, sendCommandOnce, waitForOnline } from './ssm.js'
import { describeInstances, terminate } from './instance-state.js'

const DELIVERY_TIMEOUT_SEC = 120

export interface ClusterStartContext {
  regions: string[]
  preferOnDemand: boolean
  catalog: CatalogDeps
  credentialsSince: number
  /** the backend's preflight of the environment (once per backend and set of regions) */
  preflightEnvironment: (regions: string[]) => Promise<string[]>
  /** `prefix` + key, as the bootstrap fetches it */
  fullKey: (key: string) => string
  cancelled: (what: string) => Error
  /** the search prepare() started while the run was being set up (its log lines already attached) */
  early?: Promise<ClusterSearch>
}

export interface ClusterSearch {
  plan: AmiPlan
  clusters: ClusterCandidate[]
}

/**
 * The AMIs, the account's preflight, the ranked cluster candidates and their vCPU quotas: what a
 * cluster's launch reads before its first call that creates anything. The AMIs, the preflight and
 * the candidates do not wait for each other (each is a few AWS round trips); their errors still
 * come in that order: AMI, preflight, candidates, quotas.
 */
export async function searchClusters(o: ResolvedAwsOptions, spec: RunSpec, f: { regions: string[]; preferOnDemand: boolean; catalog: CatalogDeps; preflightEnvironment: (regions: string[]) => Promise<string[]>; log: (l: string) => void }): Promise<ClusterSearch> {
  const preflight = o.preflight ? f.preflightEnvironment(f.regions) : Promise.resolve(f.regions)
  const planned = planAmis(o.clientFactory, f.regions, o.ami, spec.resources)
  const find = (plan: AmiPlan, regions: string[]) => findClusters(o, spec, { regions, plan, catalog: f.catalog, preferOnDemand: f.preferOnDemand, log: f.log })
  const found = planned.then((p) => find(p, f.regions))
  // the quotas of the clusters found do not wait for the preflight either
  const quotas = (c: ClusterCandidate[]) => checkClusterQuotas((r) => o.clientFactory.quotas(r), c)
  const quoted = o.preflight ? found.then(quotas) : undefined
  for (const p of [preflight, found, quoted]) p?.catch(() => undefined) // awaited below, in order
  const plan = await planned
  for (const [region, ami] of plan.amis) f.log(`AMI ${ami.imageId} (${ami.source}, ${ami.architecture ?? '?'}) in ${region}`)
  const regions = await preflight
  let clusters: ClusterCandidate[]
  let q: Awaited<ReturnType<typeof quotas>> | undefined
  if (regions.length === f.regions.length) {
    clusters = await found
    q = await quoted
  } else {
    // a region the preflight left out: its clusters go; none left (or the search failed) → the search of the regions left
    const kept = await found.then((all) => all.filter((c) => regions.includes(c.region)), () => [])
    clusters = kept.length ? kept : await find(plan, regions)
    if (o.preflight) q = await quotas(clusters)
  }
  if (q) {
    for (const r of q.rows.filter((x) => x.status !== 'ok')) f.log(`preflight: ${formatRows([r])}`)
    if (q.kept.length === 0) throw new QuotaError(`no cluster of ${spec.nodes} nodes fits the vCPU quotas of this account (every node counts):\n${formatRows(q.rows.filter((r) => r.status === 'fail'))}`)
    if (q.kept.length < clusters.length) f.log(`preflight: ${clusters.length - q.kept.length} cluster candidate(s) need more vCPUs than their quota allows and were dropped`)
    clusters = q.kept
  }
  return { plan, clusters }
}


export async function startCluster(o: ResolvedAwsOptions, req: StartRequest, x: ClusterStartContext): Promise<AttemptHandle> {
  const { spec, log } = req
  if (req.store.kind !== 's3') throw new UserError('the aws backend needs an S3 store')
  const store = req.store
  nodeGroups(spec) // the groups add up to the nodes (throws a clear error before anything starts)
  if (o.efa === 'all' && o.subnetIds.length === 0) {
    throw new UserError('efa: all attaches every EFA interface, and AWS gives an instance with several interfaces no public address: it needs private subnets', 'set `subnet-ids` to private subnets with a NAT gateway or VPC endpoints for ssm, ssmmessages, ec2messages and s3, or use efa: auto (one EFA interface)')
  }
  const expired = (e: unknown, what: string): never => {
    if (isExpiredCredentials(e)) throw new ExpiredCredentialsError(o.now() - x.credentialsSince, what)
    throw e
  }

  let plan: AmiPlan
  let clusters: ClusterCandidate[]
  try {
    ;({ plan, clusters } = await (x.early ?? searchClusters(o, spec, { regions: x.regions, preferOnDemand: x.preferOnDemand, catalog: x.catalog, preflightEnvironment: x.preflightEnvironment, log })))
  } catch (e) {
    return expired(e, 'checking the account and listing instance types and prices')
  }
  log(`${clusters.length} cluster candidate(s) of ${spec.nodes} nodes, in order: ${clusters.slice(0, 4).map(describeCluster).join('; ')}${clusters.length > 4 ? '; …' : ''}`)

  const secretBase = Object.keys(req.secretEnv).length ? secretParameterName(req.repoId, req.runName, req.attempt) : undefined
  const secretValue = secretBase ? secretEnvPayload(req.secretEnv) : undefined
  const resources = new Map<string, ClusterResources>()
  const res = (region: string): ClusterResources => {
    let r = resources.get(region)
    if (!r) resources.set(region, (r = { region, ec2: o.clientFactory.ec2(region), ssm: o.clientFactory.ssm(region), instanceIds: [], placementGroups: [], securityGroups: [], secretParameters: [] }))
    return r
  }
  const securityGroups = new Map<string, string>()
  const vpcs = new Map<string, string | undefined>()
  const tried: TriedCandidate[] = []
  const noCapacity = new Set<string>()
  const spotQuotaHit = new Set<string>()
  const odQuotaHit = new Set<string>()
  const resourceTags = instanceTags({ runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami: plan.amis.values().next().value!, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, securityGroupIds: [], tags: o.tags, now: o.now() })

  try {
    for (const c of clusters) {
      if (req.signal.aborted) throw x.cancelled('while starting the cluster')
      const label = describeCluster(c)
      const skip = skipReason(c, { noCapacity, spotQuotaHit, odQuotaHit })
      if (skip) {
        tried.push({ candidate: c.members[0]!.candidate, code: '', message: '', skipped: skip, label })
        continue
      }
      const r = res(c.region)
      const ec2 = r.ec2
      const ami = plan.amis.get(c.region)!

      // the network of this try: the zone's placement group and the VPC's security group, created
      // at once (neither waits for the other); a failure of either is the try's, the placement
      // group's first, and whatever was created is deleted with the attempt
      const pg = placementGroupName(req.repoId, req.runName, req.attempt, c.zone)
      const created: string[] = []
      const placement = (async () => {
        if (r.placementGroups.includes(pg)) return
        r.placementGroups.push(pg) // before the call: a lost response must not leave it behind
        await createPlacementGroup(ec2, pg, resourceTags).catch((e: unknown) => {
          throw clusterNetworkError(e, `creating the placement group ${pg}`, c.region)
        })
        created.unshift(`created cluster placement group ${pg}`)
      })()
      const security = (async (): Promise<string | undefined> => {
        if (o.clusterSecurityGroupId) return undefined
        const subnetKey = `${c.region}|${c.subnetId ?? ''}`
        if (!vpcs.has(subnetKey)) vpcs.set(subnetKey, await vpcOfSubnet(ec2, c.subnetId))
        const vpc = vpcs.get(subnetKey)
        const key = `${c.region}|${vpc ?? 'default'}`
        const known = securityGroups.get(key)
        if (known) return known
        const sg = await createClusterSecurityGroup(ec2, { name: securityGroupName(req.repoId, req.runName, req.attempt, c.region, vpc), ...(vpc ? { vpcId: vpc } : {}), description: `dstack run ${req.runName} attempt ${req.attempt}: traffic between its nodes (deleted with the attempt)`, tags: resourceTags }).catch((e: unknown) => {
          throw clusterNetworkError(e, 'creating the security group of the nodes', c.region)
        })
        securityGroups.set(key, sg)
        r.securityGroups.push(sg)
        created.push(`created security group ${sg} (all traffic between the nodes)`)
        return sg
      })()
      const [placed, secured] = await Promise.allSettled([placement, security])
      for (const line of created) log(line)
      if (placed.status === 'rejected') throw placed.reason
      if (secured.status === 'rejected') throw secured.reason
      const createdSg = secured.value
      const net = { placementGroup: pg, securityGroupIds: [...o.securityGroupIds, (o.clusterSecurityGroupId ?? createdSg)!], ...(createdSg ? { createdSecurityGroup: createdSg } : {}), efa: o.efa }

      // every node group, all or nothing; each node is reported (onMachine) as soon as it exists
      const machines: MachineInfo[] = []
      let ownerId: string | undefined
      let failed: { member: number; code: string; message: string; kind: TriedCandidate['kind'] } | undefined
      for (const [gi, m] of c.members.entries()) {
        const ctx = { runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami, diskMiB: m.group.resources.diskMiB.min, maxPrice: spec.maxPrice, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, instanceProfile: o.instanceProfile, securityGroupIds: o.securityGroupIds, keyName: o.keyName, disk: o.disk, publicIp: o.publicIp, tags: o.tags, now: o.now() }
        const input = clusterRunInstancesInput(ctx, { candidate: m.candidate, count: m.group.nodes, groupIndex: gi, ...(m.group.name ? { groupName: m.group.name } : {}), nodes: c.nodes }, net)
        const efa = efaInterfaceCount(o.efa, m.candidate)
        log(`launching ${m.group.nodes} × ${describeCandidate(m.candidate)}${m.group.name ? ` (group ${m.group.name})` : ''} in ${pg}${efa ? ` with ${efa} EFA interface${efa > 1 ? 's' : ''} each` : ''}`)
        const lr = await launchInstances(o.clientFactory.launchEc2(c.region), input, { sleep: o.sleep, random: o.random, signal: req.signal, log, retries: o.throttleRetries })
        if (lr.ok) {
          r.instanceIds.push(...lr.instances.map((i) => i.id))
          const launched = await nodeMachines(lr.instances, m.candidate, m.group.firstRank, { ec2, ami: ami.imageId, now: o.now(), billing: launchBilling(input, o.subnetIds) })
          machines.push(...launched)
          for (const node of launched) await req.onMachine(node)
          ownerId ??= lr.ownerId
          if (lr.instances.length !== m.group.nodes) failed = { member: gi, code: 'PartialLaunch', message: `RunInstances gave ${lr.instances.length} of ${m.group.nodes} instances`, kind: 'capacity' }
        } else failed = { member: gi, code: lr.error.code, message: lr.error.message, kind: lr.error.kind }
        if (req.signal.aborted) throw x.cancelled('while starting the cluster')
        if (failed) {
          const err = lr.ok ? undefined : lr.error
          if (err?.kind === 'expired-credentials') throw new ExpiredCredentialsError(o.now() - x.credentialsSince, 'launching the cluster')
          if (err?.kind === 'configuration') throw new UserError(`RunInstances failed for ${label}: ${err.code}: ${err.message}`, configurationFix(err.code, c.region))
          break
        }
      }
      if (failed) {
        if (machines.length) {
          log(`terminating the ${machines.length} node(s) already launched for this cluster: it is all or nothing`)
          await terminate(ec2, machines.map((n) => n.id))
          forget(r, machines.map((n) => n.id))
        }
        const m = c.members[failed.member]!
        const group = quotaFor(m.candidate.instanceType).group
        if (failed.kind === 'spot-quota') spotQuotaHit.add(group)
        else if (failed.kind === 'on-demand-quota') odQuotaHit.add(group)
        else if (failed.kind === 'capacity' || failed.kind === 'unsupported') noCapacity.add(slotKey(m.candidate))
        log(`${label}: ${failed.code}: ${failed.message}`)
        tried.push({ candidate: { ...m.candidate, vcpus: m.candidate.vcpus * m.group.nodes }, code: failed.code, message: failed.message, ...(failed.kind ? { kind: failed.kind } : {}), label })
        continue
      }

      log(`launched ${machines.length} nodes (${machines.map((m) => m.id).join(', ')}): waiting for them to come Online in SSM (up to ${o.ssmTimeoutSec} s)`)
      if (machines.some((m) => !m.privateIp)) throw new UserError(`EC2 gave no private IPv4 address for ${machines.filter((m) => !m.privateIp).map((m) => m.id).join(', ')}: the nodes cannot find each other`, 'launch into subnets with IPv4 addresses (`subnet-ids`)')

      const ssm = r.ssm
      let gone: string | undefined
      // the nodes boot together: one deadline for all of them, not one per node
      const onlineBy = o.now() + o.ssmTimeoutSec * 1000
      for (const m of machines) {
        let online
        try {
          online = await waitForOnline(ssm, ec2, m.id, { sleep: o.sleep, now: o.now, signal: req.signal, timeoutSec: Math.max(1, (onlineBy - o.now()) / 1000) })
        } catch (e) {
          return expired(e, `waiting for ${m.id} to come Online`)
        }
        if (online.kind === 'aborted') throw x.cancelled(`while waiting for ${m.id} to come Online in SSM`)
        if (online.kind === 'timeout') throw new UserError(`${neverOnlineMessage(m.id, o.ssmTimeoutSec, online, o.instanceProfile).replace('; it was terminated.', '; the whole cluster was terminated.')}\n${await readConsoleTail(ec2, m.id)}`)
        if (online.kind === 'gone') {
          gone = `node ${m.rank} (${m.id}) went ${online.state.state}${online.state.reasonCode ? ` (${online.state.reasonCode})` : ''} before it came Online`
          tried.push({ candidate: c.members[0]!.candidate, code: online.state.reasonCode ?? 'InstanceGone', message: gone, kind: 'capacity', label })
          break
        }
      }
      if (gone) {
        log(`${gone}: terminating the cluster and trying the next candidate`)
        await terminate(ec2, machines.map((m) => m.id))
        forget(r, machines.map((m) => m.id))
        continue
      }

      if (secretBase) {
        if (!ownerId) throw new UserError('RunInstances did not say which account owns the nodes: the secret env cannot be limited to them, so it is not sent')
        for (const m of machines) {
          const name = nodeSecretParameterName(secretBase, m.rank!)
          r.secretParameters.push(name)
          await putSecretParameter(ssm, { name, value: secretValue!, runName: req.runName, attempt: req.attempt, instanceArn: instanceArn(c.region, ownerId, m.id), kmsKeyId: o.secretKmsKeyId })
        }
      }
      const execTimeout = spec.maxDurationSec + o.marginSec
      if (execTimeout > MAX_EXECUTION_TIMEOUT) log(`max_duration ${spec.maxDurationSec} s is longer than SSM allows for one command (48 h): SSM stops the runners at 48 h`)
      const scriptKey = x.fullKey(req.runnerScriptKey)
      const attemptFolder = scriptKey.replace(/[^/]+$/, '')
      await req.runnerScriptStored // every node's bootstrap fetches runner.sh: it must be in the store first
      const ids = machines.map((m) => m.id)
      const bootstrap = renderBootstrap({
        bucket: store.bucket,
        scriptKey,
        scriptSha256: createHash('sha256').update(req.runnerScript).digest('hex'),
        s3Region: store.region ?? c.region,
        s3Endpoint: store.endpoint,
        region: c.region,
        secretParameter: secretBase,
        cluster: { instanceIds: ids, privateIps: machines.map((m) => m.privateIp!), gpusPerNode: machines.map((m) => c.members.find((x) => x.candidate.instanceType === m.instanceType)!.candidate.gpuCount) }
      })
      // SendCommand takes at most 50 instance ids: one command (the same bootstrap) per batch of nodes
      const commandIds: string[] = []
      const batches = inBatches(ids)
      for (const [b, batch] of batches.entries()) {
        const commandId = await sendCommandOnce(o.clientFactory.sendSsm(c.region), ssm, {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: batch,
          TimeoutSeconds: DELIVERY_TIMEOUT_SEC,
          Comment: `dstack ${req.runName} attempt ${req.attempt}${batches.length > 1 ? ` nodes ${b * SEND_COMMAND_MAX_INSTANCES}-${b * SEND_COMMAND_MAX_INSTANCES + batch.length - 1}` : ''}`.slice(0, 100),
          Parameters: { commands: bootstrap, executionTimeout: [String(Math.min(execTimeout, MAX_EXECUTION_TIMEOUT))] },
          ...(store.endpoint ? {} : { OutputS3BucketName: store.bucket, OutputS3KeyPrefix: `${attemptFolder}ssm`, ...(store.region ? { OutputS3Region: store.region } : {}) })
        }, { retries: 3, sleep: o.sleep, log })
        commandIds.push(...batch.map(() => commandId))
        log(batches.length > 1 ? `SSM command ${commandId} started the runner on nodes ${b * SEND_COMMAND_MAX_INSTANCES}-${b * SEND_COMMAND_MAX_INSTANCES + batch.length - 1}` : `SSM command ${commandId} started the runner on all ${ids.length} nodes`)
      }
      return new AwsClusterHandle({ ec2, ssm, machines, commandIds, sentAt: o.now(), now: o.now, sleep: o.sleep, credentialsSince: x.credentialsSince, cancelGraceSec: o.cancelGraceSec, pollMinIntervalMs: o.pollMinIntervalMs, resources: [...resources.values()], log })
    }
    throw launchFailure(tried, { spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice })
  } catch (e) {
    // nothing of a failed start may outlive it: instances, placement groups, security group, secrets
    await releaseCluster([...resources.values()], { now: o.now, sleep: o.sleep, credentialsSince: x.credentialsSince, log }).catch((r: Error) => log(`cleaning up after the failed start: ${r.message}`))
    if (isExpiredCredentials(e)) throw new ExpiredCredentialsError(o.now() - x.credentialsSince, 'starting the cluster')
    throw e
  }
}

/**
 * the MachineInfo of a node group's instances, ranks from `firstRank` in launch order; an address
 * RunInstances did not give is read with DescribeInstances
 */
async function nodeMachines(instances: LaunchedInstance[], cand: Candidate, firstRank: number, d: { ec2: EC2Client; ami: string; now: number; billing: { volumeGiB?: number; publicIpv4?: boolean } }): Promise<MachineInfo[]> {
  const seen = instances.some((i) => !i.privateIp) ? await describeInstances(d.ec2, instances.map((i) => i.id)) : undefined
  return instances.map((i, k) => {
    const privateIp = i.privateIp ?? seen?.get(i.id)?.privateIp
    return { id: i.id, backend: 'aws', instanceType: cand.instanceType, market: cand.market, region: cand.region, zone: cand.zone, ...(cand.pricePerHour !== undefined ? { pricePerHour: cand.pricePerHour } : {}), priceSource: cand.priceSource, launchedAt: new Date(d.now).toISOString(), amiId: d.ami, ...d.billing, rank: firstRank + k, ...(privateIp ? { privateIp } : {}) }
  })
}

/** every cluster candidate of a multi-node spec, ranked (UserError when no zone fits every group) */
export async function findClusters(o: ResolvedAwsOptions, spec: RunSpec, f: { regions: string[]; plan: AmiPlan; catalog: CatalogDeps; preferOnDemand: boolean; log: (l: string) => void }): Promise<ClusterCandidate[]> {
  const groups = nodeGroups(spec)
  // each group's candidates at once (the catalogue and prices come from one cache)
  const perGroup = await Promise.all(groups.map((g) => findCandidates(o.clientFactory, { ...spec, resources: g.resources }, { regions: f.regions, subnetIds: o.subnetIds, preferOnDemand: f.preferOnDemand, archFor: (r) => f.plan.arch.get(r) ?? 'x86', typeCheck: f.plan.typeCheck, catalog: f.catalog, log: f.log })))
  const clusters = clusterCandidates(groups, perGroup, { preferOnDemand: f.preferOnDemand })
  if (clusters.length === 0) throw new UserError(`no zone offers an instance type for every node group (${groups.map((g) => g.name ?? `${g.nodes} nodes`).join(', ')}) in the same market`, 'allow more instance_types, zones or regions, or make the groups\' resources less different')
  return clusters
}

/** `check` of a multi-node workflow: its cluster candidates against the vCPU quotas (every node counts) */
export async function clusterCheckRows(o: ResolvedAwsOptions, spec: RunSpec, f: { regions: string[]; plan: AmiPlan; catalog: CatalogDeps; log: (l: string) => void }): Promise<CheckRow[]> {
  const all = await findClusters(o, spec, { ...f, preferOnDemand: false })
  const q = await checkClusterQuotas((r) => o.clientFactory.quotas(r), all)
  return [
    ...q.rows,
    q.kept.length
      ? { check: 'candidates', status: 'ok', detail: `${q.kept.length} of ${all.length} clusters of ${spec.nodes} nodes fit the quotas; first: ${describeCluster(q.kept[0]!)}` }
      : { check: 'candidates', status: 'fail', detail: `none of ${all.length} clusters of ${spec.nodes} nodes fits the vCPU quotas (every node counts)`, fix: 'raise the quotas marked FAIL above' }
  ]
}

/** why a cluster candidate is not worth trying: a slot of it had no capacity, or its quota is used up */
function skipReason(c: ClusterCandidate, s: { noCapacity: Set<string>; spotQuotaHit: Set<string>; odQuotaHit: Set<string> }): string | undefined {
  for (const m of c.members) {
    if (s.noCapacity.has(slotKey(m.candidate))) return `${m.candidate.instanceType} ${m.candidate.market} in ${m.candidate.zone} had no capacity for an earlier cluster`
    const group = quotaFor(m.candidate.instanceType).group
    if (c.market === 'spot' && s.spotQuotaHit.has(group)) return `the ${group} spot quota is exhausted`
    if (c.market === 'on-demand' && s.odQuotaHit.has(group)) return `the ${group} on-demand quota is exhausted`
  }
  return undefined
}

/**
 * instances of a failed try, already terminated: release() does not name them again (EC2 forgets
 * terminated instances after a while, and one unknown id fails a whole TerminateInstances call)
 */
function forget(r: ClusterResources, ids: string[]): void {
  r.instanceIds = r.instanceIds.filter((id) => !ids.includes(id))
}
