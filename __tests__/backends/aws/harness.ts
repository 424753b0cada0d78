/**
 * Scenario harness: s3rver + the EC2/SSM double + simulated instances, a rendered runner script
 * stored like the orchestrator stores it, and a small watch loop standing in for the orchestrator.
 */
import { appendFileSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { expect } from '@jest/globals'
import { tmpdir } from 'node:os'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startS3Server, awsCliPath, run, type S3TestServer } from '../../helpers/s3server.js'
import { renderRunnerScript } from '../../../src/runner/render.js'
import type { RunnerPlan } from '../../../src/runner/plan.js'
import type { AttemptRecord, ExecState, MachineInfo, RunSpec, StartRequest, StoreLocation } from '../../../src/model/index.js'
import { DEFAULTS } from '../../../src/model/index.js'
import { AwsBackend, type AwsBackendOptions } from '../../../src/backends/aws/index.js'
import { S3Store, type S3StoreOptions } from '../../../src/store/index.js'
import { FakeCloud, type FakeCloudOptions } from './fake-cloud.js'
import { SimInstances } from './sim-instance.js'

export const REPO = 'github.com/acme/models'
export const RUN = 'brave-otter-1'
export const PREFIX = 'dstack'

export function spec(over: Partial<RunSpec> = {}): RunSpec {
  return {
    workflow: 'train',
    format: 'dstack.yml',
    source: { file: '.dstack/train.dstack.yml', line: 1, column: 1 },
    commands: ['for i in 1 2 3; do echo "line $i"; done', 'mkdir -p out && echo result > out/r.txt'],
    setup: [],
    env: {},
    secretEnv: {},
    workingDir: '.',
    args: [],
    artifacts: [{ path: 'out', mount: false }],
    deps: [],
    ports: [],
    cache: [],
    resources: { gpu: { names: ['A10G'], count: { min: 1 } }, cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 100 * 1024 } },
    spotPolicy: 'auto',
    maxDurationSec: 3600,
    retry: DEFAULTS.retry,
    instanceTypes: [],
    regions: ['us-east-1'],
    availabilityZones: [],
    nodes: 1,
    ...over
  }
}

/**
 * The run store on s3rver as the orchestrator uses it, plus what S3 lacks and a folder store has: word
 * of each change (s3rver's events). The watch loop then wakes when the runner writes a chunk or its
 * status, instead of sleeping out its back-off in real seconds (the back-off itself is tested with a
 * fake clock in orchestrate/watch.test.ts).
 */
export class WakingS3Store extends S3Store {
  constructor(
    private readonly server: S3TestServer,
    opts: { client?: S3StoreOptions['client'] } = {}
  ) {
    super({ bucket: server.bucket, prefix: PREFIX, region: 'us-east-1', client: opts.client ?? server.client })
  }

  watch(prefix: string, onChange: () => void): () => void {
    const full = this.fullKey(prefix, true)
    return this.server.onObjectChange((key) => {
      if (key.startsWith(full)) onChange()
    })
  }
}

/** a virtual clock: the backend's sleeps advance it instantly */
export function virtualClock(start = Date.parse('2026-11-26T12:00:00Z')) {
  let t = start
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms
      await new Promise((r) => setImmediate(r))
    },
    advance: (ms: number) => (t += ms)
  }
}

export interface Harness {
  s3: S3TestServer
  cloud: FakeCloud
  sim: SimInstances
  root: string
  store: StoreLocation
  clock: ReturnType<typeof virtualClock>
  backend(o?: AwsBackendOptions): AwsBackend
  request(n: number, s: RunSpec, over?: Partial<StartRequest>): Promise<StartRequest & { lines: string[]; machines: MachineInfo[] }>
  watch(handle: { poll(): Promise<ExecState> }, timeoutMs?: number): Promise<ExecState>
  /** the attempt's stored log lines (a node's: `rank`) */
  logs(n: number, rank?: number): Promise<string>
  status(n: number, rank?: number): Promise<Record<string, unknown> | undefined>
  keys(prefix: string): Promise<string[]>
  jobLog(instanceId: string, n: number): string
  /**
   * the runners' S3 requests go through a proxy on loopback that hands each PUT (its key, its whole
   * body) to `onPut` before s3rver stores it: a test can act on what a runner writes before anyone can read it
   */
  onRunnerPut(onPut: (key: string, body: Buffer) => void): Promise<void>
  close(): Promise<void>
}

export async function startHarness(o: FakeCloudOptions = {}): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), 'aws-sim-'))
  const s3 = await startS3Server('runs-bucket')
  const sim = new SimInstances(root, s3, awsCliPath())
  activeSim = sim
  await sim.startImds()
  const cloud = new FakeCloud({ ...o, sink: sim })
  const clock = virtualClock()
  const proxies: Server[] = []
  const store: StoreLocation = { kind: 's3', bucket: s3.bucket, prefix: PREFIX, region: 'us-east-1' }

  // the code snapshot the runner fetches
  const src = join(root, 'code-src')
  mkdirSync(src, { recursive: true })
  writeFileSync(join(src, 'train.py'), 'print("hi")\n')
  const tarPath = join(root, 'code.tar.gz')
  const tar = await run('tar', ['-czf', tarPath, '-C', src, '.'])
  if (tar.code !== 0) throw new Error(tar.stderr)
  const tarGz = readFileSync(tarPath)
  const sha = createHash('sha256').update(tarGz).digest('hex')
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/code/${sha}.tar.gz`, Body: tarGz }))

  const text = async (key: string): Promise<string | undefined> => {
    try {
      const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))
      return await got.Body!.transformToString()
    } catch {
      return undefined
    }
  }
  const keys = async (prefix: string): Promise<string[]> => {
    const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
    return (out.Contents ?? []).map((c) => c.Key!).sort()
  }
  const attemptPrefix = (n: number, rank?: number) => `${PREFIX}/${REPO}/runs/${RUN}/attempts/${n}/${rank === undefined ? '' : `nodes/${rank}/`}`

  return {
    s3,
    cloud,
    sim,
    root,
    store,
    clock,
    backend: (bo = {}) =>
      new AwsBackend({ region: 'us-east-1', instanceProfile: 'dstack-runner', now: clock.now, sleep: clock.sleep, random: () => 0.5, pollMinIntervalMs: 0, env: {}, openStore: (loc) => new S3Store({ bucket: s3.bucket, prefix: loc.kind === 's3' ? loc.prefix : '', client: s3.client }), ...bo }),
    async request(n, s, over = {}) {
      const plan: RunnerPlan = {
        runName: RUN,
        workflow: s.workflow,
        repoId: REPO,
        revisionSha: 'c0ffee0',
        attempt: n,
        store,
        runPrefix: `${REPO}/runs/${RUN}`,
        codeKey: `code/${sha}.tar.gz`,
        deps: [],
        commands: s.commands,
        setup: s.setup,
        env: s.env,
        secretEnvNames: Object.keys(s.secretEnv).sort(),
        workingDir: s.workingDir,
        artifacts: s.artifacts,
        args: [],
        ...(s.nodes > 1 ? { nodes: { count: s.nodes, startupOrder: s.startupOrder ?? 'any', ...(s.groups ? { groups: s.groups.map((g) => ({ name: g.name, nodes: g.nodes, commands: g.commands })) } : {}) } } : {}),
        maxDurationSec: s.maxDurationSec,
        options: { selfDestruct: true, spotWatch: true, logIntervalSec: 1, workRoot: '/opt/dstack/work' }
      }
      const script = renderRunnerScript(plan)
      const key = `${REPO}/runs/${RUN}/attempts/${n}/runner.sh`
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}`, Body: script }))
      const lines: string[] = []
      const machines: MachineInfo[] = []
      return {
        runName: RUN,
        repoId: REPO,
        attempt: n,
        spec: s,
        store,
        runnerScriptKey: key,
        runnerScript: script,
        secretEnv: {},
        previousAttempts: [] as AttemptRecord[],
        onMachine: (m: MachineInfo) => void machines.push(m),
        log: (l: string) => void lines.push(l),
        signal: new AbortController().signal,
        ...over,
        lines,
        machines
      }
    },
    async watch(handle, timeoutMs = 45_000) {
      // no deadline while a simulated process still works (a busy machine is slow, not wrong): only
      // `timeoutMs` with nothing running and the handle still saying `running` is a failure
      let idleSince: number | undefined
      for (;;) {
        const st = await handle.poll()
        if (st.state === 'ended') return st
        if (sim.busy > 0) idleSince = undefined
        else if (idleSince === undefined) idleSince = Date.now()
        else if (Date.now() - idleSince > timeoutMs) throw new Error('the attempt did not end: nothing runs any more, yet the handle says running')
        await new Promise((r) => setTimeout(r, 150))
      }
    },
    async logs(n, rank) {
      const chunks = (await keys(`${attemptPrefix(n, rank)}logs/`)).filter((k) => k.endsWith('.log'))
      let all = ''
      for (const k of chunks) all += (await text(k)) ?? ''
      return all
    },
    async status(n, rank) {
      const t = await text(`${attemptPrefix(n, rank)}status.json`)
      return t ? (JSON.parse(t) as Record<string, unknown>) : undefined
    },
    keys,
    jobLog(instanceId, n) {
      // <work root>/<run>/<attempt>[.node<rank>]/runner/job.log, whatever the run is called
      const work = join(sim.instanceDir(instanceId), 'work')
      const runs = existsSync(work) ? readdirSync(work) : []
      return runs
        .filter((r) => statSync(join(work, r)).isDirectory())
        .flatMap((r) => readdirSync(join(work, r)).filter((a) => a === String(n) || /^\d+\.node\d+$/.test(a) && a.startsWith(`${n}.node`)).map((a) => join(work, r, a, 'runner', 'job.log')))
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f, 'utf8'))
        .join('')
    },
    async onRunnerPut(onPut) {
      const target = new URL(s3.endpoint)
      const server = createServer((req, res) => {
        const body: Buffer[] = []
        req.on('data', (d: Buffer) => body.push(d))
        req.on('end', () => {
          const all = Buffer.concat(body)
          if (req.method === 'PUT') onPut(decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\/[^/]+\//, ''), all)
          const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers)
            r.pipe(res)
          })
          up.on('error', () => res.destroy())
          up.end(all)
        })
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      proxies.push(server)
      sim.envOverrides = { ...sim.envOverrides, DSTACK_S3_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
    },
    async close() {
      await sim.close()
      noteAwsCalls(sim.awsCalls())
      for (const p of proxies) await new Promise<void>((r) => p.close(() => r()))
      cloud.restore()
      await s3.close()
      rmSync(root, { recursive: true, force: true })
    }
  }
}

/**
 * `npm run e2e` counts the aws CLI processes each scenario started (a python start-up of ~0.5 CPU s
 * each, most of a scenario's time): one JSON line per scenario to the file E2E_AWS_CALLS names
 */
function noteAwsCalls(calls: string[]): void {
  const file = process.env.E2E_AWS_CALLS
  if (file) appendFileSync(file, JSON.stringify({ scenario: expect.getState().currentTestName ?? '?', calls }) + '\n')
}

/** the running harness's simulated machines (so `until` can tell slow from stuck) */
let activeSim: SimInstances | undefined

/**
 * poll `f` until it is true; `timeoutMs` counts only while no simulated process runs (a busy
 * machine makes the runner slow, not wrong)
 */
export async function until(f: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  let idleSince = Date.now()
  while (!(await f())) {
    if (activeSim && activeSim.busy > 0) idleSince = Date.now()
    else if (Date.now() - idleSince > timeoutMs) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}
