/**
 * What watching an attempt costs in requests, counted at the store and SDK boundaries with a fake
 * clock (no real seconds pass):
 *   simulatedDay(everyMs)  the orchestrator's real watch loop (watchAttempt + LogFollower + the AWS
 *                          handle's rate-limited SSM/EC2 reads) over a 24-hour attempt whose runner
 *                          writes a log chunk every `everyMs`; requests per minute, S3 + EC2 + SSM
 *   requestsPerPoll(n)     one log poll with n chunks stored and one new: must stay flat in n
 * The store is an in-memory ObjectStore with S3's listing semantics (StartAfter, 1,000 a page).
 * Alone: `node --import tsx bench/parts/request-budget.ts`.
 */
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { ListPage, ObjectStore, PutOptions } from '../../src/store/object-store.js'
import { RunStore } from '../../src/store/run-store.js'
import { keys } from '../../src/store/keys.js'
import { LogFollower } from '../../src/orchestrate/log-follower.js'
import { watchAttempt, DEFAULT_PACE } from '../../src/orchestrate/watch-attempt.js'
import { AwsAttemptHandle } from '../../src/backends/aws/handle.js'

const REPO = 'github.com/acme/bench'
const RUN = 'busy-bee-1'
const DAY_MS = 24 * 3600 * 1000
const S3_PAGE = 1000

export interface Counts {
  list: number
  get: number
  head: number
  put: number
}

/** an in-memory store with S3's listing order and page size; counts every request made to it */
export class CountingStore implements ObjectStore {
  readonly location = { kind: 's3' as const, bucket: 'bench', prefix: '' }
  readonly counts: Counts = { list: 0, get: 0, head: 0, put: 0 }
  private readonly objects = new Map<string, { body: Buffer; version: number }>()
  /** every key, sorted */
  private readonly sorted: string[] = []
  /** called before every request: lets a simulated runner write what is due by now */
  beforeRequest: () => void = () => undefined

  /** a write by the simulated runner: not one of the watcher's requests */
  write(key: string, body: Buffer | string): void {
    const old = this.objects.get(key)
    this.objects.set(key, { body: Buffer.from(body), version: (old?.version ?? 0) + 1 })
    if (!old) this.sorted.splice(this.firstAfter(key), 0, key)
  }

  /** index of the first key that sorts after `key` (or, with `orEqual`, is equal to it) */
  private firstAfter(key: string, orEqual = false): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.sorted[mid] < key || (!orEqual && this.sorted[mid] === key)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** keys under `prefix` that sort after `startAfter`, at most `limit` */
  private keysUnder(prefix: string, startAfter = '', limit = Infinity): string[] {
    const out: string[] = []
    let i = startAfter >= prefix ? this.firstAfter(startAfter) : this.firstAfter(prefix, true)
    for (; i < this.sorted.length && this.sorted[i].startsWith(prefix) && out.length < limit; i++) out.push(this.sorted[i])
    return out
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.beforeRequest()
    this.counts.get++
    return this.objects.get(key)?.body
  }
  async getText(key: string): Promise<string | undefined> {
    return (await this.get(key))?.toString('utf8')
  }
  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<boolean> {
    this.beforeRequest()
    this.counts.put++
    if (opts.ifAbsent && this.objects.has(key)) return false
    this.write(key, body)
    return true
  }
  async putFile(): Promise<void> {
    throw new Error('not used by the watcher')
  }
  async getToFile(): Promise<boolean> {
    throw new Error('not used by the watcher')
  }
  async exists(key: string): Promise<boolean> {
    this.beforeRequest()
    this.counts.head++
    return this.objects.has(key)
  }
  /** all pages: one LIST request per 1,000 keys */
  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    this.beforeRequest()
    const found = this.keysUnder(prefix)
    this.counts.list += Math.max(1, Math.ceil(found.length / S3_PAGE))
    return found.map((key) => ({ key, size: this.objects.get(key)!.body.length }))
  }
  async listPrefixes(prefix: string): Promise<string[]> {
    this.beforeRequest()
    this.counts.list++
    return [...new Set(this.keysUnder(prefix).map((k) => k.slice(prefix.length).split('/')[0]))]
  }
  async listAfter(prefix: string, startAfter: string, maxKeys: number): Promise<ListPage> {
    this.beforeRequest()
    this.counts.list++
    const limit = Math.min(maxKeys, S3_PAGE)
    const all = this.keysUnder(prefix, startAfter, limit + 1)
    const page = all.slice(0, limit)
    return {
      objects: page.map((key) => {
        const o = this.objects.get(key)!
        return { key, size: o.body.length, tag: `v${o.version}` }
      }),
      truncated: all.length > page.length
    }
  }
  async delete(key: string): Promise<void> {
    this.beforeRequest()
    this.objects.delete(key)
    const i = this.sorted.indexOf(key)
    if (i >= 0) this.sorted.splice(i, 1)
  }
  url(key: string): string {
    return `s3://bench/${key}`
  }
}

const INSTANCE_ID = 'i-0123456789abcdef0'

/** SSM and EC2 clients that answer "running" (as EC2 does: each instance named by its id) and count their requests */
function fakeAws(): { ec2: EC2Client; ssm: SSMClient; counts: { ssm: number; ec2: number } } {
  const counts = { ssm: 0, ec2: 0 }
  const ssm = { send: async () => (counts.ssm++, { Status: 'InProgress' }) } as unknown as SSMClient
  const ec2 = { send: async () => (counts.ec2++, { Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'running' } }] }] }) } as unknown as EC2Client
  return { ec2, ssm, counts }
}

const status = (phase: string, extra: Record<string, unknown> = {}) => JSON.stringify({ phase, startedAt: '2026-01-01T00:00:00Z', ...extra })

export interface DayFigures {
  /** S3 + SSM + EC2 requests of the watcher, per minute of the attempt */
  perMinute: number
  total: number
  counts: Counts & { ssm: number; ec2: number }
  /** the runner's PUTs (chunks and status.json) */
  runnerPuts: number
  chunks: number
}

/** the real watch loop over a simulated 24-hour attempt with a chunk every `everyMs` */
export async function simulatedDay(everyMs: number, durationMs = DAY_MS): Promise<DayFigures> {
  let now = 0
  const store = new CountingStore()
  const runStore = new RunStore(store)
  const aws = fakeAws()
  let chunks = 0
  let runnerPuts = 0
  let ended = false
  store.write(keys.status(REPO, RUN, 1), status('running'))
  runnerPuts++
  // the runner: every chunk due by now, and status.json `done` at the end
  store.beforeRequest = () => {
    while ((chunks + 1) * everyMs <= Math.min(now, durationMs)) {
      store.write(keys.logChunk(REPO, RUN, 1, chunks), `line ${chunks}\n`)
      chunks++
      runnerPuts++
    }
    if (now >= durationMs && !ended) {
      ended = true
      store.write(keys.status(REPO, RUN, 1), status('done', { status: 'succeeded', exitCode: 0, logChunks: chunks }))
      runnerPuts++
    }
  }
  const handle = new AwsAttemptHandle({
    ec2: aws.ec2,
    ssm: aws.ssm,
    machine: { id: INSTANCE_ID, backend: 'aws', launchedAt: '2026-01-01T00:00:00Z' },
    commandId: 'cmd-1',
    sentAt: 0,
    now: () => now,
    credentialsSince: 0,
    cancelGraceSec: 60,
    pollMinIntervalMs: 2000,
    log: () => undefined
  })
  let printed = 0
  const follower = new LogFollower(runStore, REPO, RUN, 1, () => void printed++)
  const state = await watchAttempt({
    store: runStore,
    repoId: REPO,
    run: RUN,
    attempt: 1,
    handle,
    follower,
    pace: DEFAULT_PACE.s3,
    signal: new AbortController().signal,
    sleep: async (ms) => void (now += ms),
    now: () => now,
    cancelGraceMs: 60_000,
    warn: () => undefined
  })
  if (state.state !== 'ended' || state.exitCode !== 0) throw new Error(`the simulated attempt did not end well: ${JSON.stringify(state)}`)
  if (printed === 0 && chunks > 0) throw new Error('no chunk reached the sink')
  const c = { ...store.counts, ...aws.counts }
  const total = c.list + c.get + c.head + c.put + c.ssm + c.ec2
  return { perMinute: total / (now / 60_000), total, counts: c, runnerPuts, chunks }
}

export interface PollFigures {
  /** requests of the poll that prints the one new chunk */
  oneNew: number
  /** LIST pages the old way (the whole log prefix) would have needed for the same poll */
  fullListing: number
}

/** one poll with `n` chunks stored (all but the last already printed) */
export async function requestsPerPoll(n: number): Promise<PollFigures> {
  const store = new CountingStore()
  const runStore = new RunStore(store)
  store.write(keys.status(REPO, RUN, 1), status('running'))
  for (let i = 0; i < n - 1; i++) store.write(keys.logChunk(REPO, RUN, 1, i), `line ${i}\n`)
  const follower = new LogFollower(runStore, REPO, RUN, 1, () => undefined)
  while ((await follower.poll()) > 0);
  if (follower.chunksSeen !== n - 1) throw new Error(`the follower saw ${follower.chunksSeen} of ${n - 1} chunks`)
  store.write(keys.logChunk(REPO, RUN, 1, n - 1), `line ${n - 1}\n`)
  const before = { ...store.counts }
  const printed = await follower.poll()
  if (printed !== 1) throw new Error(`the poll printed ${printed} chunks, not 1`)
  const oneNew = store.counts.list - before.list + (store.counts.get - before.get) + (store.counts.head - before.head)
  const listedBefore = store.counts.list
  await runStore.listLogChunks(REPO, RUN, 1)
  return { oneNew, fullListing: store.counts.list - listedBefore }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const every of [600_000, 1000]) console.log(`a chunk every ${every / 1000} s:`, JSON.stringify(await simulatedDay(every)))
  for (const n of [10, 1000, 40_000]) console.log(`${n} chunks:`, JSON.stringify(await requestsPerPoll(n)))
}
