/**
 * The local backend: runs the attempt's runner script with bash on this host, in its own process
 * group. The script itself writes logs, artifacts and status.json to the store; this backend only
 * starts it, says whether it is still running, asks it to stop (SIGTERM: it still saves everything)
 * and kills what is left on release.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, openSync, closeSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AttemptHandle, Backend, ExecState, StartRequest } from '../../model/backend.js'
import type { MachineInfo } from '../../model/record.js'
import { runnerEnvironment } from '../../runner/job-env.js'
import { isZombie } from './liveness.js'
import { ReattachedLocalAttempt } from './reattached.js'

export interface LocalBackendOptions {
  /** let the runner outlive this process (`run -d`): the child is unref()ed */
  detached?: boolean
  /** the environment the runner's own is built from (runner/job-env.ts; default process.env) */
  environ?: Record<string, string | undefined>
  /** extra environment for the runner (e.g. DSTACK_AWS_CLI, DSTACK_S3_ENDPOINT, DSTACK_WORK_ROOT in tests) */
  env?: Record<string, string>
  /** how long release() and releaseMachine() wait after SIGTERM before SIGKILL (default 30 s) */
  graceMs?: number
  /** the bash to run the script with (default `bash` on PATH) */
  bash?: string
}

const STDERR_TAIL = 4096

/** the process exists and has not exited (an exited, unreaped one is a zombie: gone) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !isZombie(pid)
}

function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig)
  } catch {
    try {
      process.kill(pgid, sig)
    } catch {
      /* gone */
    }
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
/** the first of the two; the timer is cleared, so a pending one never holds the process's exit */
async function exitedOrAfter(exited: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, ms)))])
  clearTimeout(timer)
}

/** the job's process group, noted by the runner (it runs the job in its own session) */
function jobGroupOf(runnerPid: number): number | undefined {
  try {
    const n = Number(readFileSync(join(tmpdir(), `dstack-runner-${runnerPid}.jobpgid`), 'utf8').trim())
    return Number.isSafeInteger(n) && n > 1 ? n : undefined
  } catch {
    return undefined
  }
}

/** true when `pid` is a bash running one of our runner scripts (guards against pid reuse) */
function isOurRunner(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dstack-runner-')
  } catch {
    // no /proc (macOS): trust the recorded pid
    return !existsSync('/proc/self')
  }
}

/**
 * SIGTERM to the runner itself (it forwards it to the job, which runs in its own session, and saves;
 * its in-flight uploads are not interrupted), wait up to graceMs, then SIGKILL the runner's group
 * and the job's group.
 */
async function stopRunner(pid: number, graceMs: number, isDone: () => boolean, exited?: Promise<void>): Promise<void> {
  if (!isDone()) signalPid(pid, 'SIGTERM')
  const until = Date.now() + graceMs
  // the exit event when we have one (our own child), else a 100 ms check
  while (!isDone() && Date.now() < until) await (exited ? exitedOrAfter(exited, 100) : sleep(100))
  if (isDone()) return
  const jobGroup = jobGroupOf(pid)
  killGroup(pid, 'SIGKILL')
  // the runner could not clean up after its job: kill the job's own group too
  if (jobGroup !== undefined) killGroup(jobGroup, 'SIGKILL')
}

function parseLocalId(id: string): number | undefined {
  const m = /^local:(\d+)$/.exec(id)
  const pid = m ? Number(m[1]) : NaN
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined
}

class LocalAttempt implements AttemptHandle {
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  private released: Promise<void> | undefined
  private readonly exited: Promise<void>

  constructor(
    readonly machine: MachineInfo,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly stderrFile: string,
    private readonly graceMs: number
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        resolve()
      })
      child.once('error', (err) => {
        this.exit = { code: 127, signal: null }
        this.spawnError = err.message
        resolve()
      })
    })
  }

  private spawnError: string | undefined

  private stderrTail(): string {
    try {
      const size = statSync(this.stderrFile).size
      const buf = readFileSync(this.stderrFile)
      return buf.subarray(Math.max(0, size - STDERR_TAIL)).toString('utf8').trim()
    } catch {
      return ''
    }
  }

  async poll(): Promise<ExecState> {
    if (!this.exit) return { state: 'running' }
    const { code, signal } = this.exit
    const exitCode = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : undefined)
    const state: ExecState = { state: 'ended', exitCode }
    if (exitCode !== 0) {
      const tail = this.spawnError ?? this.stderrTail()
      const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`
      state.reason = tail ? `the runner script ${how}: ${tail}` : `the runner script ${how}`
    }
    return state
  }

  async cancel(_reason?: string): Promise<void> {
    const pid = this.child.pid
    if (pid !== undefined && !this.exit) signalPid(pid, 'SIGTERM')
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      const pid = this.child.pid
      if (pid !== undefined) await stopRunner(pid, this.graceMs, () => this.exit !== undefined, this.exited)
      if (this.exit) rmSync(this.dir, { recursive: true, force: true })
    })()
    return this.released
  }

  /** resolves when the runner script exited (tests, the CLI) */
  wait(): Promise<void> {
    return this.exited
  }

  whenEnded(): Promise<void> {
    return this.exited
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return table[sig]
}

export class LocalBackend implements Backend {
  readonly name = 'local' as const
  private readonly opts: LocalBackendOptions

  constructor(opts: LocalBackendOptions = {}) {
    this.opts = opts
  }

  async start(req: StartRequest): Promise<AttemptHandle> {
    if (req.signal.aborted) throw new Error('cancelled before the runner started')
    // the runner runs from the script's text, but nothing of the attempt runs before its runner.sh
    // and provisioning record are in the store (as on AWS): a store that refused them fails the start
    await req.runnerScriptStored
    const nodes = req.spec?.nodes > 1 ? req.spec.nodes : 1
    if (nodes === 1) return this.startNode(req)
    // every node is a runner process on this host, reached at 127.0.0.1 (README "Multi-node tasks")
    const ips = Array.from({ length: nodes }, () => LOCAL_NODE_IP).join('\n')
    const started: LocalAttempt[] = []
    try {
      for (let rank = 0; rank < nodes; rank++) {
        if (req.signal.aborted) throw new Error('cancelled while starting the nodes')
        started.push(await this.startNode(req, { rank, env: { DSTACK_NODE_RANK: String(rank), DSTACK_NODES_IPS: ips } }))
      }
    } catch (e) {
      await Promise.all(started.map((n) => n.release()))
      throw e
    }
    return new LocalCluster(started)
  }

  private async startNode(req: StartRequest, node?: { rank: number; env: Record<string, string> }): Promise<LocalAttempt> {
    const dir = mkdtempSync(join(tmpdir(), 'dstack-runner-'))
    const script = join(dir, 'runner.sh')
    writeFileSync(script, req.runnerScript, { mode: 0o700 })
    const stderrFile = join(dir, 'stderr.log')
    const errFd = openSync(stderrFile, 'a', 0o600)
    // a list built on purpose (runner/job-env.ts): never INPUT_*, CI tokens or the CI's command files
    const env: Record<string, string | undefined> = { ...runnerEnvironment(this.opts.environ ?? process.env), ...this.opts.env, ...req.secretEnv, ...node?.env }
    if (req.store.kind === 's3' && req.store.endpoint && !env.DSTACK_S3_ENDPOINT) env.DSTACK_S3_ENDPOINT = req.store.endpoint
    // the runner stops the job when this process is gone (watcher_gone in src/runner/body/control.sh); a detached run has no watcher
    const detached = this.opts.detached || req.detached
    env.DSTACK_WATCHER_PID = detached ? undefined : String(process.pid)
    // a detached runner outlives this process, so it removes its own folder when it ends
    if (detached) env.DSTACK_RUNNER_TMP = dir
    else delete env.DSTACK_RUNNER_TMP
    let child: ChildProcess
    try {
      child = spawn(this.opts.bash ?? 'bash', [script], {
        detached: true,
        stdio: ['ignore', 'ignore', errFd],
        env,
        cwd: dir
      })
    } finally {
      closeSync(errFd)
    }
    const launchedAt = new Date().toISOString()
    const machine: MachineInfo = { id: `local:${child.pid ?? 0}`, backend: 'local', launchedAt, host: hostname(), ...(node ? { rank: node.rank, privateIp: LOCAL_NODE_IP } : {}) }
    const handle = new LocalAttempt(machine, child, dir, stderrFile, this.opts.graceMs ?? 30_000)
    if (detached) child.unref()
    req.log(`running the runner script on this machine (${node ? `node ${node.rank}, ` : ''}pid ${child.pid ?? '?'})`)
    try {
      await req.onMachine(machine)
    } catch (e) {
      await handle.release()
      throw e
    }
    return handle
  }

  reattach(machine: MachineInfo): AttemptHandle {
    return new ReattachedLocalAttempt(machine, (m) => this.releaseMachine(m))
  }

  async releaseMachine(machine: MachineInfo): Promise<void> {
    if (machine.backend !== 'local') return
    const pid = parseLocalId(machine.id)
    if (pid === undefined || !alive(pid) || !isOurRunner(pid)) return
    await stopRunner(pid, this.opts.graceMs ?? 30_000, () => !alive(pid))
  }
}

/** the address every local node is reached at */
const LOCAL_NODE_IP = '127.0.0.1'

/** a multi-node attempt on this host: one runner process per node */
class LocalCluster implements AttemptHandle {
  constructor(private readonly nodes: LocalAttempt[]) {}

  get machine(): MachineInfo {
    return this.nodes[0]!.machine
  }

  get machines(): MachineInfo[] {
    return this.nodes.map((n) => n.machine)
  }

  pollNodes(): Promise<ExecState[]> {
    return Promise.all(this.nodes.map((n) => n.poll()))
  }

  /** ended once every node's runner ended; the first node's failure names it */
  async poll(): Promise<ExecState> {
    const states = await this.pollNodes()
    if (states.some((s) => s.state === 'running')) return { state: 'running' }
    const failed = states.findIndex((s) => s.state === 'ended' && s.exitCode !== 0)
    const first = states[failed < 0 ? 0 : failed]!
    return failed < 0 ? first : { ...first, ...(first.state === 'ended' && first.reason ? { reason: `node ${failed}: ${first.reason}` } : {}) }
  }

  whenEnded(): Promise<void> {
    return Promise.all(this.nodes.map((n) => n.whenEnded())).then(() => undefined)
  }

  async cancel(reason: string, ranks?: number[]): Promise<void> {
    await Promise.all(this.nodes.filter((_, r) => !ranks || ranks.includes(r)).map((n) => n.cancel(reason)))
  }

  async release(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.release()))
  }
}

export type { LocalAttempt, LocalCluster }
