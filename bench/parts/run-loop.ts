/**
 * Exit and log latency of `dstack-run run` on the local backend, as a user runs it: the CLI from
 * the sources (tsx), the real runner script under bash, a folder store or loopback S3.
 *   log latency  the job prints `TICK <epoch ms>` lines; each one's arrival on the CLI's stdout,
 *                minus the time in it
 *   exit latency the job's last command prints `LAST <epoch ms>` and the job ends; the CLI's exit,
 *                seen by this process, minus that time
 * Both clocks are this host's. Alone: `node --import tsx bench/parts/run-loop.ts folder|s3`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'src/entry/cli-index.ts')

/** lines spaced 0.2–0.5 s (the spacing varies, so they land at every phase of the ship and poll grids); 4 in the quick bench */
const TICKS = process.env.BENCH_QUICK === '1' ? 4 : 16
/** the job: TICK lines, then (optionally) `files` random files of `bytes` each in out/, then LAST */
function workflow(files = 0, bytes = 0): string {
  const make = files ? [`      - mkdir -p out && for i in $(seq 1 ${files}); do head -c ${bytes} /dev/urandom > out/f$i.bin; done`] : []
  return [
    'workflows:',
    '  - name: loop',
    '    provider: bash',
    '    commands:',
    `      - for i in $(seq 1 ${TICKS}); do echo "TICK $(date +%s%3N)"; sleep 0.$((2 + i % 4)); done`,
    ...make,
    '      - echo "LAST $(date +%s%3N)"',
    ...(files ? ['    artifacts:', '      - path: out'] : []),
    ''
  ].join('\n')
}

export interface RunLoopOptions {
  /** the job leaves `files` random files of `bytes` each as its artifact `out` */
  artifacts?: { files: number; bytes: number }
  /** called after the run, before its repository is removed (run name, repository folder) */
  after?: (run: string, repoDir: string) => Promise<void>
}

export interface RunLoopFigures {
  /** job's last command → the CLI exited (ms) */
  exitMs: number
  /** line printed → on the CLI's stdout (ms): median and 95th percentile over the run's lines */
  p50: number
  p95: number
  samples: number
  /** the CLI's whole run (ms) */
  wallMs: number
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

export async function measureRunLoop(storeArgs: string[], env: Record<string, string> = {}, opts: RunLoopOptions = {}): Promise<RunLoopFigures> {
  const repo = makeRepo({ '.dstack/workflows.yaml': workflow(opts.artifacts?.files, opts.artifacts?.bytes) })
  const home = mkdtempSync(join(tmpdir(), 'bench-loop-home-'))
  chmodSync(home, 0o755) // the job's own user passes through to the work root, as with the default one
  try {
    const t0 = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', 'loop', '-C', repo.dir, '--backend', 'local', '--comment', 'false', ...storeArgs], {
      cwd: ROOT, // tsx resolves from here
      env: { ...process.env, ...env, DSTACK_WORK_ROOT: join(home, 'work'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const lags: number[] = []
    let last: number | undefined
    let rest = ''
    let stderr = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      const at = Date.now()
      const lines = (rest + d).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        if (process.env.BENCH_LOOP_TRACE) process.stderr.write(`${at} out ${line}\n`)
        const m = /(?:^|\s)(TICK|LAST) (\d{13})\b/.exec(line)
        if (!m) continue
        if (m[1] === 'TICK') lags.push(at - Number(m[2]))
        else last = Number(m[2])
      }
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (process.env.BENCH_LOOP_TRACE) process.stderr.write(`${Date.now()} err ${d}`)
    })
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    const exitedAt = Date.now()
    if (code !== 0 || last === undefined || lags.length < TICKS) {
      throw new Error(`the run exited ${code} with ${lags.length}/${TICKS} ticks${last === undefined ? ' and no LAST line' : ''}: ${stderr.slice(-2000)}`)
    }
    const run = /^run (\S+) succeeded$/m.exec(stderr)?.[1]
    if (opts.after) {
      if (!run) throw new Error(`no run name in the CLI's output: ${stderr.slice(-500)}`)
      await opts.after(run, repo.dir)
    }
    return { exitMs: exitedAt - last, p50: percentile(lags, 50), p95: percentile(lags, 95), samples: lags.length, wallMs: exitedAt - t0 }
  } finally {
    repo.cleanup()
    rmSync(home, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kind = process.argv[2] ?? 'folder'
  const { startS3Server, awsCliPath } = await import('../../__tests__/helpers/s3server.js')
  const s3 = kind === 's3' ? await startS3Server('bench-loop') : undefined
  const folder = mkdtempSync(join(tmpdir(), 'bench-loop-store-'))
  try {
    for (let i = 0; i < Number(process.env.BENCH_LOOP_RUNS ?? 3); i++) {
      const f = s3
        ? await measureRunLoop(['--store', `s3://${s3.bucket}/loop`, '--store-region', 'us-east-1', '--endpoint', s3.endpoint], { ...s3.env, DSTACK_AWS_CLI: awsCliPath() })
        : await measureRunLoop(['--store', folder])
      console.log(JSON.stringify(f))
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
    await s3?.close()
  }
}
