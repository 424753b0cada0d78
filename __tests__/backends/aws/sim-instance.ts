/**
 * The simulated EC2 instance behind the SSM double: it runs the commands SendCommand got (the
 * real bootstrap, then the real runner script it fetches) with bash, as root, with SSM's minimal
 * environment plus the test overrides: a PATH whose `aws` adds `--endpoint-url` for s3rver,
 * answers `ssm get-parameter` from the double's parameter store and (unless `realBootstrapCli`) the
 * bootstrap's `s3 cp` of runner.sh with a signed curl GET; the runner's aws (`runner-aws`), the real
 * CLI but for `configure export-credentials`; both note every real CLI process they start
 * (`awsCalls()`, counted by `npm run e2e`); a `shutdown` stub (the runner
 * arms a self-destruct); `DSTACK_*` endpoints for the runner; a fake IMDS that can announce a
 * spot interruption.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { CommandSink, FakeCommand, FakeInstance } from './fake-cloud.js'

export const WRAPPER = `#!/bin/bash
# test double of the instance's aws CLI: s3 goes to s3rver; ssm get-parameter reads the double's store
if [ "\${1:-}" = ssm ]; then
  name=""
  while [ $# -gt 0 ]; do if [ "$1" = --name ]; then name="$2"; fi; shift; done
  f="$FAKE_SSM_PARAMS/$(printf %s "$name" | tr / _)"
  if [ ! -f "$f" ]; then echo "An error occurred (ParameterNotFound) when calling the GetParameter operation" >&2; exit 254; fi
  cat "$f"; echo; exit 0
fi
# with FAKE_S3_CP set, s3 cp of one object to a file (the bootstrap fetching runner.sh) is a signed curl
# GET to s3rver that answers as the real CLI does (sim-instance.test.ts); anything else is the real CLI
if [ -n "\${FAKE_S3_CP:-}" ] && [ "\${1:-} \${2:-}" = "s3 cp" ]; then
  region="\${AWS_DEFAULT_REGION:-us-east-1}" src="" dest="" known=1 path=""
  a=("\${@:3}")
  for ((i = 0; i < \${#a[@]}; i++)); do
    case "\${a[i]}" in
      --only-show-errors|--no-progress) ;;
      --region) i=$((i + 1)); region="\${a[i]:-}" ;;
      -*) known= ;;
      s3://?*/?*) if [ -z "$src" ]; then src="\${a[i]}"; else known=; fi ;;
      *) if [ -n "$src" ] && [ -z "$dest" ]; then dest="\${a[i]}"; else known=; fi ;;
    esac
  done
  if [ -n "$known" ] && [ -n "$dest" ] && [ "$dest" != - ] && [[ "$dest" != */ ]]; then
    bucket="\${src#s3://}" && key="\${bucket#*/}" && bucket="\${bucket%%/*}"
    for ((i = 0; i < \${#key}; i++)); do
      c="\${key:i:1}"
      case "$c" in [A-Za-z0-9._~/-]) path+="$c" ;; *) printf -v c '%%%02X' "'$c"; path+="$c" ;; esac
    done
    code=$(printf 'user = "%s:%s"\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" | curl -sS -K - -o "$dest.~part" -w '%{http_code}' \\
      --aws-sigv4 "aws:amz:$region:s3" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$FAKE_S3_ENDPOINT/$bucket/$path" 2>/dev/null)
    if [ "$code" = 200 ] && mv -f "$dest.~part" "$dest"; then exit 0; fi
    rm -f "$dest.~part"
    if [ "$code" = 404 ]; then printf 'fatal error: An error occurred (404) when calling the HeadObject operation: Key "%s" does not exist\\n' "$key" >&2; exit 1; fi
  fi
fi
printf '%s\\n' "$*" >>"\${FAKE_AWS_CALLS:-/dev/null}"
exec "$REAL_AWS" --endpoint-url "$FAKE_S3_ENDPOINT" "$@"
`
/**
 * The aws CLI the runner calls (DSTACK_AWS_CLI): the real one, except `configure export-credentials`,
 * which prints what the real one prints here (the environment's keys, the first source of its chain;
 * checked against it in sim-instance.test.ts) without a python start-up of about a CPU second.
 */
export const RUNNER_AWS = `#!/bin/bash
if [ "\${1:-} \${2:-} \${3:-} \${4:-}" = "configure export-credentials --format env-no-export" ] && [ -n "\${AWS_ACCESS_KEY_ID:-}" ] && [ -n "\${AWS_SECRET_ACCESS_KEY:-}" ]; then
  printf 'AWS_ACCESS_KEY_ID=%s\\nAWS_SECRET_ACCESS_KEY=%s\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
  [ -z "\${AWS_SESSION_TOKEN:-}" ] || printf 'AWS_SESSION_TOKEN=%s\\n' "$AWS_SESSION_TOKEN"
  exit 0
fi
printf '%s\\n' "$*" >>"\${FAKE_AWS_CALLS:-/dev/null}"
exec "$REAL_AWS" "$@"
`
const SHUTDOWN = `#!/bin/bash
echo "shutdown $*" >> "$FAKE_SHUTDOWN_LOG"
`

interface Running {
  child: ChildProcess
  cmd: FakeCommand
  instance: FakeInstance
  done: Promise<void>
}

export class SimInstances implements CommandSink {
  private readonly bin: string
  /** by invocation: a command sent to a cluster runs once on each node */
  private readonly running = new Map<FakeCommand, Running>()
  private readonly notices = new Map<string, number>()
  private imds?: Server
  private imdsUrl = ''
  readonly outputs: { instanceId: string; commandId: string; stdout: string; stderr: string; code: number | null }[] = []
  /**
   * the bootstrap fetches runner.sh with the real aws CLI (a python start-up, ~0.5 CPU s a node) rather
   * than the wrapper's curl GET that answers as it does: scenarios about the bootstrap set it
   */
  realBootstrapCli = false
  /** added to every instance's environment (e.g. DSTACK_CHECKPOINT_INTERVAL, a recording S3 endpoint) */
  envOverrides: Record<string, string> = {}
  /** called when a command process exits (tests use it to reclaim an instance after its notice) */
  onExit?: (cmd: FakeCommand, instance: FakeInstance) => void

  constructor(
    private readonly root: string,
    private readonly s3: { endpoint: string; env: Record<string, string> },
    private readonly awsCli: string
  ) {
    this.bin = join(root, 'bin')
    mkdirSync(this.bin, { recursive: true })
    writeFileSync(join(this.bin, 'aws'), WRAPPER)
    writeFileSync(join(this.bin, 'shutdown'), SHUTDOWN)
    writeFileSync(join(this.bin, 'runner-aws'), RUNNER_AWS)
    chmodSync(join(this.bin, 'aws'), 0o755)
    chmodSync(join(this.bin, 'runner-aws'), 0o755)
    chmodSync(join(this.bin, 'shutdown'), 0o755)
  }

  async startImds(): Promise<void> {
    this.imds = createServer((req, res) => {
      const m = /^\/(i-[0-9a-f]+)(\/.*)$/.exec(req.url ?? '')
      const id = m?.[1] ?? ''
      const path = m?.[2] ?? ''
      if (req.method === 'PUT' && path === '/latest/api/token') {
        res.end('fake-token')
      } else if (path === '/latest/meta-data/spot/instance-action' && this.notices.has(id)) {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ action: 'terminate', time: new Date(Date.now() + this.notices.get(id)!).toISOString().replace(/\.\d+Z$/, 'Z') }))
      } else {
        res.statusCode = 404
        res.end('Not Found')
      }
    })
    await new Promise<void>((r) => this.imds!.listen(0, '127.0.0.1', r))
    this.imdsUrl = `http://127.0.0.1:${(this.imds.address() as AddressInfo).port}`
  }

  /** the fake IMDS announces a spot interruption to this instance */
  announceInterruption(instanceId: string, inMs = 120_000): void {
    this.notices.set(instanceId, inMs)
  }

  instanceDir(id: string): string {
    return join(this.root, 'instances', id)
  }

  start(cmd: FakeCommand, instance: FakeInstance, parameters: Map<string, string>): void {
    const dir = this.instanceDir(instance.id)
    const params = join(dir, 'params')
    const tmp = join(dir, 'tmp')
    mkdirSync(params, { recursive: true })
    mkdirSync(tmp, { recursive: true })
    for (const [name, value] of parameters) writeFileSync(join(params, name.replace(/\//g, '_')), value)
    const file = join(dir, `${cmd.id}.sh`)
    writeFileSync(file, ((cmd.input.Parameters?.commands ?? []) as string[]).join('\n') + '\n')
    const env: Record<string, string> = {
      // what the SSM agent gives a Run Command script (peers-and-aws-facts §4.3), our bin first
      PATH: `${this.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      LANG: 'en_US.UTF-8',
      AWS_SSM_INSTANCE_ID: instance.id,
      AWS_SSM_REGION_NAME: 'us-east-1',
      SSM_COMMAND_ID: cmd.id,
      ...this.s3.env,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      TMPDIR: tmp,
      REAL_AWS: this.awsCli,
      FAKE_S3_ENDPOINT: this.s3.endpoint,
      FAKE_SSM_PARAMS: params,
      FAKE_SHUTDOWN_LOG: join(dir, 'shutdown.log'),
      FAKE_AWS_CALLS: this.awsCallsFile,
      FAKE_S3_CP: this.realBootstrapCli ? '' : '1',
      DSTACK_INSTANCE_DIR: join(dir, 'opt-dstack'),
      DSTACK_S3_ENDPOINT: this.s3.endpoint,
      DSTACK_AWS_CLI: join(this.bin, 'runner-aws'),
      DSTACK_WORK_ROOT: join(dir, 'work'),
      DSTACK_IMDS_ENDPOINT: `${this.imdsUrl}/${instance.id}`,
      DSTACK_LOG_INTERVAL: '1',
      DSTACK_SPOT_POLL_INTERVAL: '1',
      DSTACK_KILL_AFTER: '5',
      // the job as its own user only where a test turns it on (its work root is in a private temp folder)
      DSTACK_JOB_USER: process.env.DSTACK_JOB_USER ?? 'off',
      ...this.envOverrides
    }
    const child = spawn('bash', [file], { cwd: '/usr/bin', env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    cmd.status = 'InProgress'
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const done = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        cmd.stdout = stdout
        cmd.stderr = stderr
        this.outputs.push({ instanceId: instance.id, commandId: cmd.id, stdout, stderr, code })
        if (cmd.status === 'InProgress') {
          if (instance.state === 'terminated') cmd.status = 'Terminated'
          else if (code === 0) cmd.status = 'Success'
          else cmd.status = 'Failed'
          cmd.responseCode = code ?? (signal ? 128 + 15 : -1)
        }
        this.running.delete(cmd)
        this.onExit?.(cmd, instance)
        resolve()
      })
    })
    this.running.set(cmd, { child, cmd, instance, done })
  }

  /** SSM CancelCommand: the agent kills the process */
  cancel(cmd: FakeCommand): void {
    const r = this.running.get(cmd)
    cmd.status = 'Cancelled'
    if (r) this.killTree(r)
  }

  /** the instance is gone: every process on it dies, a detached runner's session too */
  terminate(instance: FakeInstance): void {
    for (const r of this.running.values()) if (r.instance.id === instance.id) this.killTree(r)
    const pid = this.detachedRunnerPid(instance.id)
    if (pid !== undefined) {
      const pgid = processGroupOf(pid)
      for (const target of [pgid !== undefined ? -pgid : undefined, pid]) {
        if (target === undefined) continue
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
      this.killJobGroups(instance.id)
    }
  }

  /** the pid of the runner a detached bootstrap started on this instance, while it runs */
  detachedRunnerPid(instanceId: string): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.instanceDir(instanceId), 'opt-dstack', 'runner.pid'), 'utf8').trim())
      if (!Number.isSafeInteger(pid) || pid <= 1) return undefined
      process.kill(pid, 0)
      return processGroupOf(pid) === undefined ? undefined : pid
    } catch {
      return undefined
    }
  }

  /** instances whose detached runner still runs (its bootstrap command has long returned) */
  private get detachedRunners(): number {
    return safeList(join(this.root, 'instances')).filter((id) => this.detachedRunnerPid(id) !== undefined).length
  }

  private killJobGroups(instanceId: string): void {
    const tmp = join(this.instanceDir(instanceId), 'tmp')
    for (const f of safeList(tmp).filter((n) => n.endsWith('.jobpgid'))) {
      const pgid = Number(readFileSync(join(tmp, f), 'utf8').trim())
      if (pgid > 1) {
        try {
          process.kill(-pgid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
    }
  }

  private killTree(r: Running): void {
    try {
      process.kill(-r.child.pid!, 'SIGKILL')
    } catch {
      /* already gone */
    }
    // the runner starts the job in its own session (setsid) and notes its pgid in $TMPDIR
    const tmp = join(this.instanceDir(r.instance.id), 'tmp')
    for (const f of safeList(tmp).filter((n) => n.endsWith('.jobpgid'))) {
      const pgid = Number(readFileSync(join(tmp, f), 'utf8').trim())
      if (pgid > 1) {
        try {
          process.kill(-pgid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
    }
  }

  /** where both aws wrappers note each real aws CLI process they start (its arguments, one line each) */
  private get awsCallsFile(): string {
    return join(this.root, 'aws-calls.log')
  }

  /** the real aws CLI processes the simulated instances started so far (bootstrap and runner), by their arguments */
  awsCalls(): string[] {
    try {
      return readFileSync(this.awsCallsFile, 'utf8').split('\n').filter(Boolean)
    } catch {
      return []
    }
  }

  /** command processes and detached runners still running (the harness waits while there are any, however slow the machine) */
  get busy(): number {
    return this.running.size + this.detachedRunners
  }

  /** wait for every command process to exit */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done))
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) this.killTree(r)
    for (const id of safeList(join(this.root, 'instances'))) if (this.detachedRunnerPid(id) !== undefined) this.terminate({ id } as FakeInstance)
    await this.idle()
    if (this.imds) await new Promise<void>((r) => this.imds!.close(() => r()))
  }
}

/** the process group of a live, unreaped process (undefined when it is gone or a zombie) */
function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z') return undefined
    const pgid = Number(fields[2])
    return Number.isSafeInteger(pgid) && pgid > 1 ? pgid : undefined
  } catch {
    return undefined
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
