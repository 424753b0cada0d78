/**
 * The AWS backend: ranked candidates → RunInstances one at a time → wait for SSM → SendCommand
 * the bootstrap, which fetches and runs the stored runner script. Logs, artifacts and status are
 * the runner's business (it writes them to the store); this backend only launches, watches,
 * stops and terminates.
 */
import { createHash } from 'node:crypto'
import { putSecretParameter, instanceArn } from './secret-parameter.js'
import type { AttemptHandle, Backend, MachineInfo, RunSpec, StartRequest, StoreLocation } from '../../model/index.js'
import { UserError } from '../../model/index.js'
import type { ObjectStore } from '../../store/index.js'
import type { CatalogDeps } from './catalog.js'
import { planAmis, type AmiPlan } from './ami.js'
import { renderBootstrap, renderStopScript, secretEnvPayload, secretParameterName } from './bootstrap.js'
import { describeCandidate, findCandidates, type Candidate } from './candidates.js'
import { cleanupExpiredGroupsIn, cleanupExpiredIn, cleanupStaleSecretsIn } from './cleanup.js'
import { releaseRecordedCluster, isClusterNode } from './cluster-release.js'
import { clusterCheckRows, searchClusters, startCluster, type ClusterSearch } from './cluster-start.js'
import { readConsoleTail } from './console-output.js'
import { keptUntil, sessionCommand } from './keep.js'
import { ExpiredCredentialsError, rethrowExpired } from './expired-credentials.js'
import { configurationFix, isExpiredCredentials, quotaFor } from './errors.js'
import { AwsAttemptHandle, deleteSecretParameter } from './handle.js'
import { DetachedAwsAttempt, waitForDetachedStart } from './detached-handle.js'
import { describeInstance, terminate } from './instance-state.js'
import { launchFailure, launchOne, QuotaError, type TriedCandidate } from './launch.js'
import { launchBilling, runInstancesInput, TAG } from './launch-input.js'
import { resolveOptions, runRegions, type AwsBackendOptions, type ResolvedAwsOptions } from './options.js'
import { checkBucket, checkCredentials, checkInstanceProfile, checkInstanceRole, checkNetwork, checkQuotas, formatRows, type CheckRow } from './preflight.js'
import { sessionEndWarning } from './session-end.js'
import { checkPrivateReach } from './private-network.js'
import { MAX_EXECUTION_TIMEOUT, neverOnlineMessage, sendCommandOnce, waitForOnline } from './ssm.js'

/** how long a detached bootstrap may take to fetch runner.sh and start it */
const DETACHED_START_TIMEOUT_SEC = 600

/** SendCommand delivery timeout: the node is Online, so delivery takes seconds */
const DELIVERY_TIMEOUT_SEC = 120

export class CancelledError extends Error {
  constructor(what: string) {
    super(`cancelled ${what}`)
    this.name = 'CancelledError'
  }
}

/** `prefix` + `key`, unless the key already carries the prefix */
export function fullKey(prefix: string, key: string): string {
  const p = prefix.split('/').filter(Boolean).join('/')
  const k = key.replace(/^\/+/, '')
  return !p || k.startsWith(p + '/') ? k : `${p}/${k}`
}

export class AwsBackend implements Backend {
  readonly name = 'aws' as const
  readonly options: ResolvedAwsOptions
  private readonly createdAt: number
  private sessionEndSaid = false

  constructor(opts: AwsBackendOptions = {}) {
    this.options = resolveOptions(opts)
    this.createdAt = this.options.now()
  }

  async start(req: StartRequest): Promise<AttemptHandle> {
    const o = this.options
    const { spec, log } = req
    if (req.store.kind !== 's3') throw new UserError('the aws backend needs an S3 store', 'pass an s3://bucket/prefix store; the instance reads its code and writes logs and artifacts there')
    const store = req.store
    const regions = runRegions(o.regions, spec.regions)
    const prev = req.previousAttempts[req.previousAttempts.length - 1]
    const preferOnDemand = spec.spotPolicy === 'auto' && prev?.status === 'interrupted'
    if (preferOnDemand) log(`attempt ${prev!.n} was interrupted (spot reclaimed): trying on-demand first this time (spot_policy: auto)`)
    if (!this.sessionEndSaid) {
      this.sessionEndSaid = true // once per run, at its start (not again for each retry)
      sayWarning(log, sessionEndWarning(o.session, o.now(), spec.maxDurationSec, o.marginSec))
    }
    if (!o.instanceProfile) log('warning: no instance profile given: the instance cannot register with SSM or read the store unless Default Host Management is set up')

    const credentialsSince = this.createdAt
    const expired = (e: unknown, what: string, id?: string): never => rethrowExpired(e, credentialsSince, o.now(), what, id)

    const catalog = { store: this.catalogueStore(store), now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries }
    // the search prepare() started for this spec while the run was being set up, else one now
    const early = this.prepared?.spec === spec && !preferOnDemand ? this.prepared : undefined
    this.prepared = undefined
    early?.log.attach(log)
    if (spec.nodes > 1) {
      return startCluster(o, req, { regions, preferOnDemand, catalog, credentialsSince, preflightEnvironment: (r) => this.preflightEnvironment(r, log), fullKey: (k) => fullKey(store.prefix, k), cancelled: (what) => new CancelledError(what), ...(early?.kind === 'cluster' ? { early: early.result } : {}) })
    }
    let candidates: Candidate[]
    let plan: AmiPlan
    try {
      if (early?.kind === 'single') ({ plan, candidates } = await early.result)
      else ({ plan, candidates } = await this.searchCandidates(spec, regions, preferOnDemand, catalog))
    } catch (e) {
      return expired(e, 'checking the account and listing instance types and prices')
    }
    log(`${candidates.length} candidate(s), in order: ${candidates.slice(0, 6).map(describeCandidate).join('; ')}${candidates.length > 6 ? '; …' : ''}`)

    const secretParameter = Object.keys(req.secretEnv).length ? secretParameterName(req.repoId, req.runName, req.attempt) : undefined
    const secretValue = secretParameter ? secretEnvPayload(req.secretEnv) : undefined
    const tried: TriedCandidate[] = []
    const spotQuotaHit = new Set<string>()
    const odQuotaHit = new Set<string>()
    let live: { id: string; region: string } | undefined
    let secretRegion: string | undefined
    // the regions launches were tried in, in order (a region's quota and capacity are its own)
    const regionsTried: string[] = []

    try {
      for (const c of candidates) {
        if (req.signal.aborted) throw new CancelledError('while starting a machine')
        const left = regionsTried[regionsTried.length - 1]
        if (left !== c.region) {
          if (left) log(`nothing could be launched in ${left}: trying the next region, ${c.region}`)
          regionsTried.push(c.region)
        }
        const group = `${c.region}|${quotaFor(c.instanceType).group}`
        const groupName = `${quotaFor(c.instanceType).group}${regions.length > 1 ? ` (${c.region})` : ''}`
        if (c.market === 'spot' && spotQuotaHit.has(group)) {
          tried.push({ candidate: c, code: 'MaxSpotInstanceCountExceeded', message: '', skipped: `the ${groupName} spot quota is exhausted` })
          continue
        }
        if (c.market === 'on-demand' && odQuotaHit.has(group)) {
          tried.push({ candidate: c, code: 'VcpuLimitExceeded', message: '', skipped: `the ${groupName} on-demand quota is exhausted` })
          continue
        }
        const ami = plan.amis.get(c.region)!
        const input = runInstancesInput(
          { runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami, diskMiB: spec.resources.diskMiB.min, maxPrice: spec.maxPrice, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, instanceProfile: o.instanceProfile, securityGroupIds: o.securityGroupIds, keyName: o.keyName, disk: o.disk, publicIp: o.publicIp, tags: o.tags, now: o.now() },
          c
        )
        log(`launching ${describeCandidate(c)}`)
        const r = await launchOne(o.clientFactory.launchEc2(c.region), input, { sleep: o.sleep, random: o.random, signal: req.signal, log, retries: o.throttleRetries })
        if (r.ok) live = { id: r.instanceId, region: c.region }
        if (req.signal.aborted) throw new CancelledError('while starting a machine')
        if (!r.ok) {
          const err = r.error
          if (err.kind === 'expired-credentials') throw new ExpiredCredentialsError(o.now() - credentialsSince, 'launching an instance')
          if (err.kind === 'configuration') throw new UserError(`RunInstances failed for ${describeCandidate(c)}: ${err.code}: ${err.message}`, configurationFix(err.code, c.region))
          if (err.kind === 'spot-quota') spotQuotaHit.add(group)
          if (err.kind === 'on-demand-quota') odQuotaHit.add(group)
          log(`${c.instanceType} ${c.market} in ${c.zone}: ${err.code}: ${err.message}`)
          tried.push({ candidate: c, code: err.code, message: err.message, kind: err.kind })
          continue
        }
        const id = r.instanceId
        const machine: MachineInfo = { id, backend: 'aws', instanceType: c.instanceType, market: c.market, region: c.region, zone: c.zone, ...(c.pricePerHour !== undefined ? { pricePerHour: c.pricePerHour } : {}), priceSource: c.priceSource, launchedAt: new Date(o.now()).toISOString(), amiId: ami.imageId, ...launchBilling(input, o.subnetIds), ...(regions.length > 1 ? { regionsTried: [...regionsTried] } : {}) }
        log(`launched ${id}: waiting for it to come Online in SSM (up to ${o.ssmTimeoutSec} s)`)
        await req.onMachine(machine)

        const ec2 = o.clientFactory.ec2(c.region)
        const ssm = o.clientFactory.ssm(c.region)
        let online
        try {
          online = await waitForOnline(ssm, ec2, id, { sleep: o.sleep, now: o.now, signal: req.signal, timeoutSec: o.ssmTimeoutSec })
        } catch (e) {
          return expired(e, `waiting for ${id} to come Online`, id)
        }
        if (online.kind === 'aborted') throw new CancelledError(`while waiting for ${id} to come Online in SSM`)
        if (online.kind === 'gone') {
          const why = `${online.state.state}${online.state.reasonCode ? ` (${online.state.reasonCode})` : ''} before it came Online`
          log(`${id} went ${why}: trying the next candidate`)
          await terminate(ec2, [id])
          live = undefined
          tried.push({ candidate: c, code: online.state.reasonCode ?? 'InstanceGone', message: `instance ${id} went ${why}`, kind: 'capacity' })
          continue
        }
        if (online.kind === 'timeout') {
          const bootConsole = await readConsoleTail(ec2, id)
          log(bootConsole)
          await terminate(ec2, [id])
          live = undefined
          throw new UserError(`${neverOnlineMessage(id, o.ssmTimeoutSec, online, o.instanceProfile)}\n${bootConsole}`)
        }

        if (secretParameter && secretRegion !== c.region) {
          if (!r.ownerId) throw new UserError(`RunInstances did not say which account owns ${id}: the secret env cannot be limited to that instance, so it is not sent`)
          await putSecretParameter(ssm, { name: secretParameter, value: secretValue!, runName: req.runName, attempt: req.attempt, instanceArn: instanceArn(c.region, r.ownerId, id), kmsKeyId: o.secretKmsKeyId })
          secretRegion = c.region
        }
        const execTimeout = spec.maxDurationSec + o.marginSec
        if (execTimeout > MAX_EXECUTION_TIMEOUT && !req.detached) log(`max_duration ${spec.maxDurationSec} s is longer than SSM allows for one command (48 h): SSM stops the runner at 48 h`)
        const attemptFolder = fullKey(store.prefix, req.runnerScriptKey).replace(/[^/]+$/, '')
        await req.runnerScriptStored // the bootstrap fetches runner.sh: it must be in the store first
        const commandId = await sendCommandOnce(o.clientFactory.sendSsm(c.region), ssm, {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [id],
          TimeoutSeconds: DELIVERY_TIMEOUT_SEC,
          Comment: `dstack ${req.runName} attempt ${req.attempt}`.slice(0, 100),
          Parameters: {
            commands: renderBootstrap({ bucket: store.bucket, scriptKey: fullKey(store.prefix, req.runnerScriptKey), scriptSha256: createHash('sha256').update(req.runnerScript).digest('hex'), s3Region: store.region ?? regions[0] ?? c.region, s3Endpoint: store.endpoint, region: c.region, secretParameter, detached: req.detached, ...(o.keepOnFailureSec > 0 ? { keepOnFailureSec: o.keepOnFailureSec } : {}) }),
            // a detached bootstrap returns once its runner runs: the timeout bounds only that
            executionTimeout: [String(req.detached ? DETACHED_START_TIMEOUT_SEC : Math.min(execTimeout, MAX_EXECUTION_TIMEOUT))]
          },
          // a custom endpoint (MinIO…) is not reachable by the SSM service itself
          ...(store.endpoint ? {} : { OutputS3BucketName: store.bucket, OutputS3KeyPrefix: `${attemptFolder}ssm`, ...(store.region ? { OutputS3Region: store.region } : {}) })
        }, { retries: 3, sleep: o.sleep, log })
        if (req.detached) {
          await waitForDetachedStart(ssm, commandId, id, { timeoutSec: DETACHED_START_TIMEOUT_SEC })
          // the runner has read its secrets: the parameter is not needed any more
          if (secretParameter && secretRegion) await deleteSecretParameter(ssm, secretParameter).catch(() => undefined)
          log(`SSM command ${commandId} started the runner on ${id}, detached: it goes on without this process`)
          live = undefined
          return new DetachedAwsAttempt({ ec2, ssm, machine, now: o.now, pollMinIntervalMs: o.pollMinIntervalMs, log })
        }
        log(`SSM command ${commandId} started the runner on ${id}`)
        // keep-on-failure: never past the runner's own shutdown (max_duration + 10 min from its start, main.sh)
        const keep = o.keepOnFailureSec > 0 ? { seconds: o.keepOnFailureSec, region: c.region, hardEndMs: Date.parse(machine.launchedAt!) + (spec.maxDurationSec + 600) * 1000 } : undefined
        const handle = new AwsAttemptHandle({ ec2, ssm, machine, commandId, sentAt: o.now(), secretParameter, now: o.now, credentialsSince, cancelGraceSec: o.cancelGraceSec, pollMinIntervalMs: o.pollMinIntervalMs, log, ...(keep ? { keep } : {}) })
        live = undefined
        return handle
      }
      throw launchFailure(tried, { spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice })
    } catch (e) {
      // nothing launched here may outlive a failed start
      if (live) await terminate(o.clientFactory.ec2(live.region), [live.id]).catch((t: Error) => log(`terminating ${live!.id} failed: ${t.message}`))
      if (secretParameter && secretRegion) await deleteSecretParameter(o.clientFactory.ssm(secretRegion), secretParameter).catch(() => undefined)
      if (isExpiredCredentials(e)) throw new ExpiredCredentialsError(o.now() - credentialsSince, 'starting the attempt', live?.id)
      throw e
    }
  }

  /** the search prepare() started, taken by the next start() of the same spec */
  private prepared: ({ kind: 'single'; result: Promise<{ plan: AmiPlan; candidates: Candidate[] }> } | { kind: 'cluster'; result: Promise<ClusterSearch> }) & { spec: RunSpec; log: DeferredLog } | undefined

  /**
   * Starts what a launch of `spec` reads before RunInstances (the AMI, the account preflight, the
   * catalogue and prices, the quotas) while the caller is still busy with its own work (the code
   * snapshot, the run record): the first start() of this spec takes the answer, and its log lines,
   * instead of asking again. Reads only; a failure surfaces in that start().
   */
  prepare(spec: RunSpec, store: StoreLocation): void {
    if (store.kind !== 's3') return
    const o = this.options
    const log = deferredLog()
    const catalog = { store: this.catalogueStore(store), now: o.now, sleep: o.sleep, random: o.random, log: log.log, retries: o.throttleRetries }
    const regions = runRegions(o.regions, spec.regions)
    if (spec.nodes > 1) {
      // a cluster's too: its AMIs, preflight, candidates and quotas (cluster-start.ts searchClusters)
      const result = searchClusters(o, spec, { regions, preferOnDemand: false, catalog, preflightEnvironment: (r) => this.preflightEnvironment(r, log.log), log: log.log })
      result.catch(() => undefined) // taken by start()
      this.prepared = { kind: 'cluster', spec, result, log }
      return
    }
    const result = this.searchCandidates(spec, regions, false, catalog)
    result.catch(() => undefined) // taken by start()
    this.prepared = { kind: 'single', spec, result, log }
  }

  /** the run store, for the instance catalogue cache (none when it cannot be opened) */
  private catalogueStore(store: StoreLocation): ObjectStore | undefined {
    try {
      return this.options.openStore(store)
    } catch {
      return undefined
    }
  }

  /** the AMIs and the ranked candidates that fit the account's preflight and quotas */
  private async searchCandidates(spec: RunSpec, regions: string[], preferOnDemand: boolean, catalog: CatalogDeps): Promise<{ plan: AmiPlan; candidates: Candidate[] }> {
    const o = this.options
    const log = catalog.log
    // the account's preflight, the AMIs and the candidates do not wait for each other (each is a few
    // AWS round trips); their errors still come in that order: AMI, preflight, candidates
    const preflight = o.preflight ? this.preflightEnvironment(regions, log) : Promise.resolve(regions)
    const planned = planAmis(o.clientFactory, regions, o.ami, spec.resources)
    const find = (p: AmiPlan, rs: string[]) => findCandidates(o.clientFactory, spec, { regions: rs, subnetIds: o.subnetIds, preferOnDemand, archFor: (r) => p.arch.get(r) ?? 'x86', typeCheck: p.typeCheck, catalog, log })
    const found = planned.then((p) => find(p, regions))
    // the quotas of the candidates found do not wait for the preflight either
    const quotas = (c: Candidate[]) => checkQuotas((r) => o.clientFactory.quotas(r), c)
    const quoted = o.preflight ? found.then(quotas) : undefined
    for (const p of [preflight, found, quoted]) p?.catch(() => undefined) // awaited below, in order
    const plan = await planned
    for (const [region, ami] of plan.amis) log(`AMI ${ami.imageId} (${ami.source}, ${ami.architecture ?? '?'}) in ${region}`)
    const launchRegions = await preflight
    let candidates: Candidate[]
    let q: Awaited<ReturnType<typeof quotas>> | undefined
    if (launchRegions.length === regions.length) {
      candidates = await found
      q = await quoted
    } else {
      // a region left out by the preflight: its candidates go, and when that leaves none (or its own
      // search failed) the search of the regions left gives the answer, as it would have alone
      const kept = await found.then((all) => all.filter((c) => launchRegions.includes(c.region)), () => [])
      candidates = kept.length ? kept : await find(plan, launchRegions)
      if (o.preflight) q = await quotas(candidates)
    }
    if (q) {
      for (const r of q.rows.filter((x) => x.status !== 'ok')) log(`preflight: ${formatRows([r])}`)
      if (q.kept.length === 0) throw new QuotaError(`no candidate fits the vCPU quotas of this account:\n${formatRows(q.rows.filter((r) => r.status === 'fail'))}`)
      if (q.kept.length < candidates.length) log(`preflight: ${candidates.length - q.kept.length} candidate(s) need more vCPUs than their quota allows and were dropped`)
      candidates = q.kept
    }
    return { plan, candidates }
  }

  private preflightDone = new Map<string, Promise<string[]>>()

  /**
   * Preflight of the account before the first launch (once per backend and set of regions):
   * credentials, the instance profile and passing its role, and per region the subnets, security
   * groups, key pair and default VPC. A region that fails its own checks is left out (security
   * groups and key pairs belong to one region); none left, or a failed account-wide check → an
   * error listing every row with its fix.
   */
  private preflightEnvironment(regions: string[], log: (l: string) => void): Promise<string[]> {
    const key = regions.join(',')
    let p = this.preflightDone.get(key)
    if (!p) {
      p = (async () => {
        const { rows, usable } = await this.preflightRows(regions)
        for (const r of rows.filter((x) => x.status !== 'ok')) log(`preflight: ${formatRows([r])}`)
        const accountWide = rows.filter((r) => r.status === 'fail' && !regions.some((g) => r.check.endsWith(` in ${g}`)))
        if (accountWide.length || usable.length === 0) throw new UserError(`the AWS account is not ready for this run:\n${formatRows(rows.filter((r) => r.status === 'fail'))}`, 'fix the rows marked FAIL; `dstack-run check --backend aws` checks again without launching anything')
        if (usable.length < regions.length) log(`preflight: leaving out ${regions.filter((r) => !usable.includes(r)).join(', ')} (see above)`)
        return usable
      })()
      this.preflightDone.set(key, p)
      p.catch(() => this.preflightDone.delete(key))
    }
    return p
  }

  /** every preflight row except quotas (which need candidates) and the bucket (checked by `check`) */
  async preflightRows(regions: string[]): Promise<{ rows: CheckRow[]; usable: string[]; roleArn?: string }> {
    const o = this.options
    const first = regions[0] ?? o.regions[0] ?? 'us-east-1'
    const rows: CheckRow[] = []
    // the checks do not wait for each other (each is one to three round trips; the launch waits for
    // the slowest, not their sum); the rows keep their order: credentials, profile, each region
    const whoP = checkCredentials(o.clientFactory.sts(first), first)
    const profileP = checkInstanceProfile(o.clientFactory.iam(), o.instanceProfile, whoP.then((w) => w.arn))
    const netP = regions.map(async (region) => {
      const net = await checkNetwork(o.clientFactory.ec2(region), region, { subnetIds: o.subnetIds, securityGroupIds: [...o.securityGroupIds, ...(o.clusterSecurityGroupId ? [o.clusterSecurityGroupId] : [])], keyName: o.keyName })
      // without a public address: SSM, SSM messages, EC2 messages and S3 through endpoints or NAT
      if (!o.publicIp) net.push(...(await checkPrivateReach(o.clientFactory.ec2(region), region, o.subnetIds)))
      return net
    })
    for (const p of [profileP, ...netP]) p.catch(() => undefined) // awaited below, unless the credentials failed
    const who = await whoP
    rows.push(who.row)
    if (who.row.status === 'fail') return { rows, usable: [] }
    const profile = await profileP
    rows.push(...profile.rows)
    const usable: string[] = []
    for (const [i, region] of regions.entries()) {
      const net = await netP[i]!
      rows.push(...net)
      if (!net.some((r) => r.status === 'fail')) usable.push(region)
    }
    return { rows, usable, ...(profile.roleArn ? { roleArn: profile.roleArn } : {}) }
  }

  /**
   * `dstack-run check --backend aws` / `mode: check`: every preflight row, the AMI of each region,
   * the store (when given), and — with a workflow — its candidates against the vCPU quotas.
   * Launches nothing.
   */
  async check(opts: { spec?: RunSpec; store?: StoreLocation; log?: (l: string) => void } = {}): Promise<CheckRow[]> {
    const o = this.options
    const log = opts.log ?? (() => undefined)
    const regions = runRegions(o.regions, opts.spec?.regions ?? [])
    const { rows, roleArn } = await this.preflightRows(regions)
    if (rows[0]?.status === 'fail') return rows
    const fail = (check: string, e: unknown): CheckRow => ({ check, status: 'fail', detail: (e as Error).message, ...((e as UserError).hint ? { fix: (e as UserError).hint } : {}) })
    let plan: AmiPlan | undefined
    const res = opts.spec?.resources ?? { cpu: {}, memoryMiB: {}, diskMiB: {} }
    try {
      plan = await planAmis(o.clientFactory, regions, o.ami, res)
      for (const [region, ami] of plan.amis) rows.push({ check: `AMI in ${region}`, status: 'ok', detail: `${ami.imageId} from ${ami.source} (${ami.architecture ?? '?'})` })
    } catch (e) {
      rows.push(fail('AMI', e))
    }
    if (opts.store) {
      if (opts.store.kind !== 's3') rows.push({ check: 'store', status: 'fail', detail: 'the aws backend needs an S3 store', fix: 'set `bucket` (or `store: s3://bucket/prefix`)' })
      else {
        rows.push(await checkBucket(o.openStore(opts.store), `s3://${opts.store.bucket}/${opts.store.prefix}`))
        if (roleArn) rows.push(await checkInstanceRole(o.clientFactory.iam(), roleArn, opts.store.bucket, opts.store.prefix))
      }
    }
    if (opts.spec && plan && opts.spec.nodes > 1) {
      rows.push(...(await clusterCheckRows(o, opts.spec, { regions, plan, catalog: { store: undefined, now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries }, log }).catch((e: unknown) => [fail('candidates', e)])))
    } else if (opts.spec && plan) {
      const catalog = { store: undefined, now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries }
      try {
        const all = await findCandidates(o.clientFactory, opts.spec, { regions, subnetIds: o.subnetIds, preferOnDemand: false, archFor: (r) => plan!.arch.get(r) ?? 'x86', typeCheck: plan.typeCheck, catalog, log })
        const q = await checkQuotas((r) => o.clientFactory.quotas(r), all)
        rows.push(...q.rows)
        rows.push(q.kept.length
          ? { check: 'candidates', status: 'ok', detail: `${q.kept.length} of ${all.length} fit the quotas; first: ${describeCandidate(q.kept[0]!)}` }
          : { check: 'candidates', status: 'fail', detail: `none of ${all.length} fits the vCPU quotas`, fix: 'raise the quotas marked FAIL above' })
      } catch (e) {
        rows.push(fail('candidates', e))
      }
    }
    return rows
  }

  /** SIGTERM to the runner of a recorded machine (the post step, when the main step could not) */
  async stopRunner(machine: MachineInfo, reason: string): Promise<void> {
    if (machine.backend !== 'aws') return
    const region = machine.region ?? this.options.regions[0]
    if (!region) return
    await sendCommandOnce(this.options.clientFactory.sendSsm(region), this.options.clientFactory.ssm(region), {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [machine.id],
      TimeoutSeconds: 30,
      Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
      Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
    }, { retries: 1, sleep: this.options.sleep, log: () => undefined })
  }

  /** `attach` / `reconcile`: a handle on a detached attempt another process started */
  reattach(machine: MachineInfo): AttemptHandle {
    const region = machine.region ?? this.options.regions[0]
    if (!region) throw new UserError(`no region recorded for ${machine.id}`, 'set AWS_REGION')
    return new DetachedAwsAttempt({ ec2: this.options.clientFactory.ec2(region), ssm: this.options.clientFactory.ssm(region), machine, now: this.options.now, pollMinIntervalMs: this.options.pollMinIntervalMs, log: () => undefined })
  }

  /** The post step / after_script: terminate a recorded instance and delete its secret parameter. */
  async releaseMachine(machine: MachineInfo, log: (line: string) => void = () => undefined): Promise<void> {
    if (machine.backend !== 'aws') return
    const region = machine.region ?? this.options.regions[0]
    if (!region) throw new UserError(`no region recorded for ${machine.id}`, 'set AWS_REGION')
    const ec2 = this.options.clientFactory.ec2(region)
    let tags: Record<string, string> = {}
    try {
      tags = (await describeInstance(ec2, machine.id)).tags
    } catch {
      // best effort: terminate anyway
    }
    // keep-on-failure: a deliberately kept instance lives until its deadline (it shuts itself down
    // then, and `cleanup` terminates it once expired); after the deadline it is terminated here
    const kept = keptUntil(tags, this.options.now())
    if (kept !== undefined) {
      log(`${machine.id} is kept for debugging until ${new Date(kept).toISOString()}: not terminated now (${sessionCommand(machine.id, region)})`)
      return
    }
    await terminate(ec2, [machine.id])
    if (isClusterNode(tags)) await releaseRecordedCluster(region, ec2, this.options.clientFactory.ssm(region), tags, machine.id, { now: this.options.now, sleep: this.options.sleep, log: () => undefined })
    const run = tags[TAG.run]
    const repo = tags[TAG.repo]
    const attempt = Number(tags[TAG.attempt])
    if (run && repo && Number.isInteger(attempt)) await deleteSecretParameter(this.options.clientFactory.ssm(region), secretParameterName(repo, run, attempt)).catch(() => undefined)
  }

  /**
   * Terminate instances tagged `dstack:run` whose `dstack:expires-at` is past, in every configured
   * region; delete stale secret parameters and the expired placement and security groups of clusters.
   */
  async cleanupExpired(opts: { now?: number; dryRun?: boolean; log?: (line: string) => void } = {}): Promise<{ terminated: string[]; deletedSecrets: string[]; deletedGroups: string[] }> {
    const regions = this.options.regions
    if (regions.length === 0) throw new UserError('no AWS region for cleanup', 'set the `region` input (CLI: --aws-region) or AWS_REGION')
    const terminated: string[] = []
    const deletedSecrets: string[] = []
    const deletedGroups: string[] = []
    const now = opts.now ?? this.options.now()
    const log = opts.log ?? (() => undefined)
    for (const region of regions) {
      terminated.push(...(await cleanupExpiredIn(this.options.clientFactory.ec2(region), now, Boolean(opts.dryRun), log)))
      deletedSecrets.push(...(await cleanupStaleSecretsIn(this.options.clientFactory.ssm(region), now, Boolean(opts.dryRun), log)))
      deletedGroups.push(...(await cleanupExpiredGroupsIn(this.options.clientFactory.ec2(region), now, Boolean(opts.dryRun), log)))
    }
    return { terminated, deletedSecrets, deletedGroups }
  }

  /** destroy the SDK clients (lets the process exit promptly) */
  close(): void {
    this.options.clientFactory.destroy()
  }
}

interface DeferredLog {
  log: (line: string) => void
  /** from now on lines go to `to`; the ones logged before go there first */
  attach: (to: (line: string) => void) => void
}

/** a log that keeps its lines until it is attached to where they go */
function deferredLog(): DeferredLog {
  const kept: string[] = []
  let sink: ((line: string) => void) | undefined
  return {
    log: (line) => (sink ? sink(line) : void kept.push(line)),
    attach: (to) => {
      sink = to
      for (const line of kept.splice(0)) to(line)
    }
  }
}

function sayWarning(log: (line: string) => void, message: string | undefined): void {
  if (message) log(`warning: ${message}`)
}
