/**
 * The runner's secret redaction filter on one long line: `dstack-run run` (local backend, folder
 * store) of a job that prints a 50 MB line holding the secret's text every KiB, with the secret set
 * (the job's output passes the filter) and without (it goes straight to the log), round-robin,
 * median wall time of each. Target: with ≤ 3× without (the awk filter took minutes: its record
 * buffer grows in steps, so a long line cost quadratic time).
 * Alone: `node --import tsx bench/parts/redact-filter.ts [MB]`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'src/entry/cli-index.ts')
const SECRET = 'bench-s3cr3t-value'

/** one line of `mb` MB: a KiB of x, then the secret's text, again and again */
const longLine = (mb: number) => `yes "$(head -c 1024 /dev/zero | tr '\\0' x)${SECRET}" | head -c ${mb * 1_000_000} | tr -d '\\n'; echo`

function workflows(mb: number): string {
  const job = JSON.stringify(longLine(mb))
  return `workflows:
  - name: with-secret
    provider: bash
    env:
      - BENCH_TOKEN=\${{ secrets.BENCH_TOKEN }}
    commands:
      - ${job}
  - name: without
    provider: bash
    commands:
      - ${job}
`
}

function timedRun(repo: string, store: string, workflow: string, work: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', workflow, '-C', repo, '--backend', 'local', '--store', store, '--comment', 'false'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_TOKEN: SECRET, DSTACK_WORK_ROOT: work, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`run ${workflow} exited ${code}: ${err}`))))
  })
}

export interface RedactFigures {
  mb: number
  withMs: number
  withoutMs: number
}

export async function redactFilterLongLine(mb = 50, runs = 3): Promise<RedactFigures> {
  const repo = makeRepo({ '.dstack/workflows.yaml': workflows(mb) })
  const dir = mkdtempSync(join(tmpdir(), 'bench-redact-'))
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  try {
    const withMs: number[] = []
    const withoutMs: number[] = []
    for (let i = 0; i < runs; i++) {
      withoutMs.push(await timedRun(repo.dir, join(dir, 'store'), 'without', join(dir, 'work')))
      withMs.push(await timedRun(repo.dir, join(dir, 'store'), 'with-secret', join(dir, 'work')))
    }
    return { mb, withMs: median(withMs), withoutMs: median(withoutMs) }
  } finally {
    repo.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await redactFilterLongLine(Number(process.argv[2] ?? 50), Number(process.env.BENCH_LOOP_RUNS ?? 3))
  console.log(JSON.stringify({ ...r, ratio: r.withMs / r.withoutMs }))
}
