/**
 * The seconds a user pays for that are not the job: a whole run through the orchestrator
 * (runWorkflow) with the AWS backend, every AWS call given its latency from aws-latency.ts (in real
 * time, so our own work between the calls counts as it runs), EC2's boot taken as its published figure.
 *
 *   start     action start (runWorkflow called) → RunInstances sent; the instance catalogue cached
 *             in the store (warm: a run before it left it there) or not (cold)
 *   ssm       SendCommand sent → the job's first command runs on the instance (the real bootstrap
 *             and runner under bash, the real aws CLI, the store on loopback S3): a small repository,
 *             and the snapshot of a 100 MB one (BENCH_REPO_MB)
 *   end       the job's last command → TerminateInstances sent, with 1 GB of artifacts (BENCH_ARTIFACT_MB),
 *             minus the upload's own time, as the runner's log says it (`artifacts: … stored in 14.2 s`);
 *             that upload is also shown against `aws s3 sync` of the same tree, measured in the same run
 *   cluster   the same three for a 2-node cluster (the last node to start, the last one to be terminated)
 *   billed    per run: EC2's boot + the wait until we see the node Online (the real waitForOnline on a
 *             simulated clock: it polls, the agent comes Online at the boot figure) + Online → SendCommand
 *             + SendCommand → first command + last command → TerminateInstances, over the boot figure
 *
 * The instance side runs at this machine's speed on loopback S3 (no latency added to its requests).
 * Alone: `node --import tsx bench/parts/billed-overhead.ts [--quick]`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EC2Client } from '@aws-sdk/client-ec2'
import { SSMClient } from '@aws-sdk/client-ssm'
import { S3Client } from '@aws-sdk/client-s3'
import { PricingClient } from '@aws-sdk/client-pricing'
import { STSClient } from '@aws-sdk/client-sts'
import { IAMClient } from '@aws-sdk/client-iam'
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import { runWorkflow, type RunEvent } from '../../src/orchestrate/index.js'
import { RunStore, S3Store } from '../../src/store/index.js'
import { AwsBackend } from '../../src/backends/aws/index.js'
import { waitForOnline } from '../../src/backends/aws/ssm.js'
import { makeRepo, git } from '../../__tests__/helpers/git-repo.js'
import { startS3Server, awsCliPath, type S3TestServer } from '../../__tests__/helpers/s3server.js'
import { FakeCloud } from '../../__tests__/backends/aws/fake-cloud.js'
import { SimInstances } from '../../__tests__/backends/aws/sim-instance.js'
import { EC2_FIGURES, latencyOf } from './aws-latency.js'

const PREFIX = 'dstack'

/** one AWS call as the action sent it */
interface Call {
  name: string
  at: number
  instanceIds: string[]
  /** an S3 call's key or prefix (BENCH_TRACE) */
  key?: string
}

type Sendable = { prototype: { send: (...a: unknown[]) => Promise<unknown> } }

/**
 * Every client's `send` waits the call's latency first (scaled), and each call is noted with its
 * time. The EC2/SSM doubles stub `send` on the prototypes (aws-sdk-client-mock); this wraps the stub.
 */
function injectLatency(scale: number): { calls: Call[]; restore: () => void } {
  const calls: Call[] = []
  const undo: (() => void)[] = []
  const clients: [Sendable, string][] = [
    [EC2Client as unknown as Sendable, ''],
    [SSMClient as unknown as Sendable, ''],
    [PricingClient as unknown as Sendable, ''],
    [STSClient as unknown as Sendable, ''],
    [IAMClient as unknown as Sendable, ''],
    [ServiceQuotasClient as unknown as Sendable, ''],
    [S3Client as unknown as Sendable, 'S3:']
  ]
  for (const [C, tag] of clients) {
    const own = Object.prototype.hasOwnProperty.call(C.prototype, 'send')
    const inner = C.prototype.send
    C.prototype.send = async function (this: unknown, ...args: unknown[]) {
      const cmd = args[0] as { constructor: { name: string }; input?: { InstanceIds?: string[]; Key?: string; Prefix?: string } }
      const name = tag + cmd.constructor.name.replace(/Command$/, '')
      calls.push({ name, at: Date.now(), instanceIds: cmd.input?.InstanceIds ?? [], ...(tag ? { key: cmd.input?.Key ?? cmd.input?.Prefix ?? '' } : {}) })
      await new Promise((r) => setTimeout(r, latencyOf(name) * scale))
      return inner.apply(this, args)
    }
    undo.push(() => {
      if (own) C.prototype.send = inner
      else delete (C.prototype as { send?: unknown }).send
    })
  }
  return { calls, restore: () => undo.forEach((u) => u()) }
}

/** a command's wall time (ms); throws on a non-zero exit */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-500)}`))))
  })
}

/** the job: FIRST <ms>, optionally `files` random files of `fileBytes` in out/, then LAST <ms> */
function task(o: { nodes: number; files: number; fileBytes: number }): string {
  return [
    'type: task',
    'name: bench',
    'commands:',
    '  - echo "FIRST $(date +%s%3N)"',
    ...(o.files ? [`  - mkdir -p out && for i in $(seq 1 ${o.files}); do head -c ${o.fileBytes} /dev/urandom > out/f$i.bin; done`] : []),
    '  - echo "LAST $(date +%s%3N)"',
    ...(o.files ? ['artifacts:', '  - out'] : []),
    ...(o.nodes > 1 ? [`nodes: ${o.nodes}`] : []),
    'resources:',
    '  gpu: A10G',
    'spot_policy: auto',
    'regions: [us-east-1]',
    ''
  ].join('\n')
}

/** `mb` MiB of incompressible files committed to the repository (a repository of that size) */
function addBulk(dir: string, mb: number): void {
  if (mb <= 0) return
  mkdirSync(join(dir, 'data'), { recursive: true })
  const perFile = 4 * 1048576
  for (let i = 0, left = mb * 1048576; left > 0; i++, left -= perFile) writeFileSync(join(dir, 'data', `blob${i}.bin`), randomBytes(Math.min(perFile, left)))
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'bulk')
}

export interface RunTimes {
  /** action start → RunInstances sent (ms) */
  startMs: number
  /** the node's SSM Online seen (its DescribeInstanceInformation answered) → SendCommand sent (ms) */
  onlineToSendMs: number
  /** SendCommand sent → the job's first command (the last node to start) (ms) */
  sendToFirstMs: number
  /** the job's last command (the last node to end) → TerminateInstances sent for every node (ms) */
  lastToTerminateMs: number
  /** AWS calls before RunInstances, by name */
  callsBeforeLaunch: Record<string, number>
  /** the runner's own artifact upload, as its log says it (`artifacts: … stored in 12.3 s`), ms */
  uploadMs?: number
}

interface RunOptions {
  nodes: number
  repoMb: number
  artifacts?: { files: number; fileBytes: number }
}

export interface BilledSetup {
  s3: S3TestServer
  cloud: FakeCloud
  sim: SimInstances
  root: string
  scale: number
  /** the run store's prefix: runs on the same prefix share the catalogue cache */
  storePrefix: string
}

/** one whole run; times from the calls' log and the job's FIRST / LAST lines */
export async function timeRun(b: BilledSetup, o: RunOptions): Promise<RunTimes> {
  const repo = makeRepo({ '.dstack/bench.dstack.yml': task({ nodes: o.nodes, files: o.artifacts?.files ?? 0, fileBytes: o.artifacts?.fileBytes ?? 0 }), 'train.py': 'print("hi")\n' })
  addBulk(repo.dir, o.repoMb)
  const objects = new S3Store({ bucket: b.s3.bucket, prefix: b.storePrefix, region: 'us-east-1', client: b.s3.client })
  const backend = new AwsBackend({
    region: 'us-east-1',
    instanceProfile: 'dstack-runner',
    env: {},
    openStore: (loc) => new S3Store({ bucket: b.s3.bucket, prefix: loc.kind === 's3' ? loc.prefix : '', client: b.s3.client })
  })
  const events: RunEvent[] = []
  const latency = injectLatency(b.scale)
  let t0 = 0
  try {
    t0 = Date.now()
    const rec = await runWorkflow({
      repoDir: repo.dir,
      workflow: 'bench',
      args: [],
      environ: {},
      backend,
      store: new RunStore(objects),
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e)
    })
    if (rec.status !== 'succeeded') throw new Error(`the run ${rec.status}: ${rec.reason ?? ''}\n${events.filter((e) => e.type !== 'log').map((e) => JSON.stringify(e)).join('\n').slice(-3000)}`)
  } finally {
    latency.restore()
    backend.close()
    repo.cleanup()
    await b.sim.idle()
  }
  const calls = latency.calls
  if (process.env.BENCH_TRACE) for (const c of calls) process.stderr.write(`${String(c.at - t0).padStart(7)} ${c.name} ${c.instanceIds.join(',')}${c.key ?? ''}\n`)
  const log = events.filter((e) => e.type === 'log').map((e) => (e as { text: string }).text).join('')
  const stamps = (tag: string) => [...log.matchAll(new RegExp(`\\b${tag} (\\d{13})\\b`, 'g'))].map((m) => Number(m[1]))
  const first = stamps('FIRST')
  const last = stamps('LAST')
  if (first.length < o.nodes || last.length < o.nodes) throw new Error(`the job's FIRST/LAST lines are missing from the log (${first.length}/${last.length} of ${o.nodes})`)
  const runAt = calls.find((c) => c.name === 'RunInstances')?.at
  const sendIdx = calls.findIndex((c) => c.name === 'SendCommand')
  if (runAt === undefined || sendIdx < 0) throw new Error('no RunInstances or SendCommand among the calls')
  const sendAt = calls[sendIdx]!.at
  // the last DescribeInstanceInformation before SendCommand is the one that saw the node Online
  const online = calls.slice(0, sendIdx).filter((c) => c.name === 'DescribeInstanceInformation').pop()
  const onlineSeenAt = online ? online.at + latencyOf(online.name) * b.scale : sendAt
  const endedAt = Math.max(...last)
  const terminated = new Map<string, number>()
  for (const c of calls) if (c.name === 'TerminateInstances' && c.at >= endedAt) for (const id of c.instanceIds) if (!terminated.has(id)) terminated.set(id, c.at)
  if (process.env.BENCH_TRACE) process.stderr.write(`${String(Math.min(...first) - t0).padStart(7)} (job's first command)\n${String(endedAt - t0).padStart(7)} (job's last command)\n`)
  if (terminated.size < o.nodes) throw new Error(`TerminateInstances reached ${terminated.size} of ${o.nodes} nodes after the job`)
  const upload = /\[dstack\] artifacts: .* stored in (\d+)\.(\d) s/.exec(log)
  const callsBeforeLaunch: Record<string, number> = {}
  for (const c of calls) if (c.at < runAt) callsBeforeLaunch[c.name] = (callsBeforeLaunch[c.name] ?? 0) + 1
  return {
    startMs: runAt - t0,
    onlineToSendMs: sendAt - onlineSeenAt,
    sendToFirstMs: Math.max(...first) - sendAt,
    lastToTerminateMs: Math.max(...terminated.values()) - endedAt,
    callsBeforeLaunch,
    ...(upload ? { uploadMs: Number(upload[1]) * 1000 + Number(upload[2]) * 100 } : {})
  }
}

/**
 * The real waitForOnline on a simulated clock: RunInstances answered at 0, `running` after EC2's
 * pending figure, the agent Online `bootMs` later; each call takes its latency. How long after the
 * agent came Online the wait returns (ms).
 */
export async function onlineSeenLagMs(bootMs = EC2_FIGURES.bootMs, pendingMs = EC2_FIGURES.pendingMs): Promise<number> {
  let now = 0
  const onlineAt = pendingMs + bootMs
  const ssm = {
    send: async () => {
      now += latencyOf('DescribeInstanceInformation')
      return { InstanceInformationList: now >= onlineAt ? [{ InstanceId: 'i-0', PingStatus: 'Online' }] : [] }
    }
  } as unknown as SSMClient
  const ec2 = {
    send: async () => {
      now += latencyOf('DescribeInstances')
      return { Reservations: [{ Instances: [{ InstanceId: 'i-0', State: { Name: now >= pendingMs ? 'running' : 'pending' } }] }] }
    }
  } as unknown as EC2Client
  const r = await waitForOnline(ssm, ec2, 'i-0', { sleep: async (ms) => void (now += ms), now: () => now, signal: new AbortController().signal, timeoutSec: 600 })
  if (r.kind !== 'online') throw new Error(`waitForOnline ended ${r.kind}`)
  return now - onlineAt
}

export interface BilledFigures {
  quick: boolean
  scale: number
  cold: RunTimes
  warm: RunTimes
  big: RunTimes
  cluster: RunTimes
  repoMb: number
  artifactBytes: number
  /** `aws s3 sync` of a tree like the job's artifacts (ms) */
  syncMs: number
  onlineLagMs: number
  /** the same for a node that boots in a minute */
  onlineLagMinuteMs: number
  /** billed ms not spent on the job (the warm run), and that over the boot figure */
  billedOverheadMs: number
  billedRatio: number
}

export async function billedOverhead(opts: { quick?: boolean; awsCli?: string } = {}): Promise<BilledFigures> {
  const quick = Boolean(opts.quick)
  const scale = Number(process.env.BENCH_LATENCY_SCALE ?? (quick ? 0.1 : 1))
  const repoMb = Number(process.env.BENCH_REPO_MB ?? (quick ? 1 : 100))
  const artifactMb = Number(process.env.BENCH_ARTIFACT_MB ?? (quick ? 2 : 1024))
  const files = Math.max(1, Math.min(16, artifactMb))
  const fileBytes = Math.round((artifactMb * 1048576) / files)
  const awsCli = opts.awsCli ?? awsCliPath()
  const root = mkdtempSync(join(tmpdir(), 'bench-billed-'))
  const s3 = await startS3Server('bench-billed')
  const sim = new SimInstances(root, s3, awsCli)
  sim.realBootstrapCli = true // as on EC2: the bootstrap fetches the runner with the aws CLI
  await sim.startImds()
  const cloud = new FakeCloud({ sink: sim })
  cloud.nextOnlineAfter = 0 // Online at the first look: the boot is the fixed figure, added below
  const b: BilledSetup = { s3, cloud, sim, root, scale, storePrefix: PREFIX }
  try {
    // the upload's own time: `aws s3 sync` of a tree like the job's artifacts
    const tree = join(root, 'sync-tree')
    mkdirSync(tree)
    for (let i = 1; i <= files; i++) writeFileSync(join(tree, `f${i}.bin`), randomBytes(fileBytes))
    const env = { ...process.env, ...s3.env }
    const syncMs = await timed(awsCli, ['--endpoint-url', s3.endpoint, 's3', 'sync', tree, `s3://${s3.bucket}/sync-baseline/`, '--only-show-errors', '--no-progress'], env)
    rmSync(tree, { recursive: true, force: true })

    const cold = await timeRun(b, { nodes: 1, repoMb: 0 })
    // quick: the run with the bigger repository stands in for the warm one (its cache is warm too)
    const warmRun = quick ? undefined : await timeRun(b, { nodes: 1, repoMb: 0 })
    const big = await timeRun(b, { nodes: 1, repoMb, artifacts: { files, fileBytes } })
    const warm = warmRun ?? big
    const cluster = await timeRun(b, { nodes: 2, repoMb: 0 })
    const onlineLagMs = await onlineSeenLagMs()
    // a GPU Deep Learning AMI boots slower: the same wait for a node that needs a minute
    const onlineLagMinuteMs = await onlineSeenLagMs(60_000)
    // boot, the wait until we see it, the start of the job, its end (up to TerminateInstances answered)
    const billedOverheadMs = EC2_FIGURES.bootMs + onlineLagMs + warm.onlineToSendMs + warm.sendToFirstMs + warm.lastToTerminateMs + latencyOf('TerminateInstances')
    return { quick, scale, cold, warm, big, cluster, repoMb, artifactBytes: files * fileBytes, syncMs, onlineLagMs, onlineLagMinuteMs, billedOverheadMs, billedRatio: billedOverheadMs / EC2_FIGURES.bootMs }
  } finally {
    await sim.close()
    cloud.restore()
    await s3.close()
    rmSync(root, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await billedOverhead({ quick: process.argv.includes('--quick'), awsCli: process.env.BENCH_AWS_CLI }), null, 1))
}
