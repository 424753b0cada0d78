/**
 * moto's server (an independent AWS emulator: EC2, SSM, S3, STS, IAM, CloudFormation and more on one
 * port) on 127.0.0.1 with a free port, for tests that want AWS's own answers rather than a double
 * written here. The test that starts it stops it (`stop()`).
 *
 *   const moto = await startMoto()                      // or startMoto({ iam: 'enforced-after', noAuthRequests: 20 })
 *   const ec2 = new EC2Client(moto.clientConfig())      // endpoint, region, fake keys, path-style S3
 *   ...
 *   await moto.stop()
 *
 * IAM enforcement: moto checks every request against the caller's IAM policies once its first
 * `INITIAL_NO_AUTH_ACTION_COUNT` requests have been served (those are free, to create the users,
 * roles and policies a test needs). `startMoto({ noAuthRequests: N })` sets that count at start;
 * `enforceIam()` turns enforcement on from the next request (moto's `POST /moto-api/reset-auth`),
 * which is usually simpler than counting setup requests. With enforcement on, requests must be signed
 * with keys moto issued (`iam:CreateAccessKey`), and the account's default fake keys are refused.
 *
 * Needs `moto_server` (pip `moto[server]`; scripts/install-prereqs.sh installs it where pip can), or
 * the command named by MOTO_SERVER. `motoAvailable()` says whether it is there, for a clear skip.
 * Self-contained: imports only Node built-ins.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'

export interface MotoOptions {
  /** requests served before IAM enforcement starts (moto's INITIAL_NO_AUTH_ACTION_COUNT); default: never enforced */
  noAuthRequests?: number
  /** the region clients are given (moto serves every region on one port); default us-east-1 */
  region?: string
  /** extra environment for moto_server (e.g. MOTO_ALLOW_NONEXISTENT_REGION) */
  env?: Record<string, string>
  /** how long to wait for the port to answer, default 60 s (moto imports many modules; a busy machine is slow) */
  startTimeoutMs?: number
}

export interface MotoCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface MotoServer {
  /** http://127.0.0.1:PORT */
  endpoint: string
  port: number
  region: string
  /** moto's default fake keys (valid while IAM is not enforced) */
  credentials: MotoCredentials
  /** the config an AWS SDK v3 client needs for this server; pass other keys to act as another principal */
  clientConfig(credentials?: MotoCredentials): {
    endpoint: string
    region: string
    credentials: MotoCredentials
    forcePathStyle: true
    maxAttempts: number
  }
  /** environment for the aws CLI or a child process (give the CLI `--endpoint-url` too: older CLIs ignore AWS_ENDPOINT_URL) */
  env(credentials?: MotoCredentials): Record<string, string>
  /** forget every resource (moto's POST /moto-api/reset) */
  reset(): Promise<void>
  /** enforce IAM from the next request on (POST /moto-api/reset-auth 0) */
  enforceIam(): Promise<void>
  /** stop enforcing IAM (POST /moto-api/reset-auth inf) */
  relaxIam(): Promise<void>
  /** moto_server's output so far (its request log), for a failing test's message */
  output(): string
  stop(): Promise<void>
}

const DEFAULT_CREDENTIALS: MotoCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

/** the moto_server command: $MOTO_SERVER, else `moto_server` on PATH */
export function motoCommand(): string {
  return process.env.MOTO_SERVER || 'moto_server'
}

/** whether moto_server can be started here (runs `moto_server --help` once) */
export function motoAvailable(): boolean {
  const r = spawnSync(motoCommand(), ['--help'], { stdio: 'ignore', timeout: 60_000 })
  return r.status === 0
}

export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
  const region = opts.region ?? 'us-east-1'
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000)
  // a free port can be taken by someone else between our probe and moto's bind: try a few
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const started = await tryStart(port, region, opts, deadline)
    if (started.ok) return started.server
    if (attempt >= 5 || Date.now() >= deadline || !/address already in use/i.test(started.output)) {
      throw new Error(`moto_server did not start on 127.0.0.1:${port}: ${started.why}\n${started.output.slice(-2000)}`)
    }
  }
}

async function tryStart(
  port: number,
  region: string,
  opts: MotoOptions,
  deadline: number
): Promise<{ ok: true; server: MotoServer } | { ok: false; why: string; output: string }> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...opts.env,
    // the emulator must never see a real account's keys or reach a real endpoint
    AWS_ACCESS_KEY_ID: DEFAULT_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEFAULT_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_REGION: region
  }
  if (opts.noAuthRequests !== undefined) env.INITIAL_NO_AUTH_ACTION_COUNT = String(opts.noAuthRequests)
  const child = spawn(motoCommand(), ['-H', '127.0.0.1', '-p', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (d: Buffer) => {
    output += d.toString()
    if (output.length > 200_000) output = output.slice(-100_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let exited: string | undefined
  child.on('exit', (code, signal) => (exited = `exited (${signal ?? code})`))
  child.on('error', (e) => (exited = `could not run ${motoCommand()}: ${e.message} (install it with: pip install 'moto[server]')`))
  const endpoint = `http://127.0.0.1:${port}`
  while (exited === undefined) {
    if (Date.now() >= deadline) {
      await stopChild(child)
      return { ok: false, why: 'no answer before the start timeout', output }
    }
    if ((await portAnswers(port)) && (await motoAnswers(endpoint))) {
      return { ok: true, server: makeServer(child, port, region, () => output) }
    }
    await sleep(150)
  }
  return { ok: false, why: exited, output }
}

function makeServer(child: ChildProcess, port: number, region: string, output: () => string): MotoServer {
  const endpoint = `http://127.0.0.1:${port}`
  const post = async (path: string, body?: string) => {
    const res = await fetch(`${endpoint}${path}`, { method: 'POST', body })
    if (!res.ok) throw new Error(`moto ${path} answered ${res.status}: ${await res.text()}`)
  }
  return {
    endpoint,
    port,
    region,
    credentials: DEFAULT_CREDENTIALS,
    clientConfig: (credentials = DEFAULT_CREDENTIALS) => ({ endpoint, region, credentials, forcePathStyle: true, maxAttempts: 1 }),
    env: (credentials = DEFAULT_CREDENTIALS) => ({
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ENDPOINT_URL: endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: ''
    }),
    reset: () => post('/moto-api/reset'),
    enforceIam: () => post('/moto-api/reset-auth', '0'),
    relaxIam: () => post('/moto-api/reset-auth', 'inf'),
    output,
    stop: () => stopChild(child)
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port })
    sock.once('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.once('error', () => resolve(false))
  })
}

/** the port could belong to another process: moto's own API must answer */
async function motoAnswers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) })
    await res.arrayBuffer()
    return res.ok
  } catch {
    return false
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
