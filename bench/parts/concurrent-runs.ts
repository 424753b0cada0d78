/**
 * Many `dstack-run run`s at once against one S3 store (s3rver on loopback), as many CI jobs of one
 * repository would start them: the same workflow, the local backend, a trivial job. Reported: the
 * run names (all must differ: each run claims its name with a conditional write), each process's
 * peak RSS, and every request the store received, counted by s3rver itself (a first middleware):
 * the CLIs', and their runners' curl and aws CLI calls.
 * The CLI is dist/cli.js, the bundle users run (rebuilt from the sources by `npm run build`).
 * Alone: `node --import tsx bench/parts/concurrent-runs.ts [N]`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'
import { S3RVER_ENV } from '../../__tests__/helpers/s3server.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'dist/cli.js')
const RSS_HOOK = "--import=data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS '+process.resourceUsage().maxRSS+'\\n'))"
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

type Middleware = (
  ctx: { method: string; path: string; querystring: string; status: number; type: string; body: unknown; get: (h: string) => string },
  next: () => Promise<void>
) => Promise<void>

/**
 * s3rver on loopback (as in the tests' helper) with a first middleware that counts requests by
 * method and answers conditional PUTs (`If-None-Match: *`) as S3 does
 */
export async function startCountingS3(bucket: string): Promise<{ endpoint: string; env: Record<string, string>; counts: Record<string, number>; refused: () => number; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-many-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] })
  const counts: Record<string, number> = {}
  // every key written since the start (the store is new): what a conditional PUT is checked against
  const written = new Set<string>()
  let refused = 0
  // s3rver is a Koa app: its middleware list is composed when it starts listening
  ;(server as unknown as { middleware: Middleware[] }).middleware.unshift(async (ctx, next) => {
    counts[ctx.method] = (counts[ctx.method] ?? 0) + 1
    // a whole-object PUT (the SDK adds `?x-id=PutObject`; multipart parts carry uploadId/partNumber)
    if (ctx.method === 'PUT' && !/(^|&)(uploadId|partNumber|uploads)\b/.test(ctx.querystring)) {
      // real S3 answers `If-None-Match: *` with 412 when the key exists, atomically; s3rver ignores
      // the header, so two runs could claim one name here and never on S3. Checked and recorded in
      // one turn of the event loop, it is atomic here too.
      if (ctx.get('if-none-match') === '*' && written.has(ctx.path)) {
        refused++
        ctx.status = 412
        ctx.type = 'application/xml'
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>'
        return
      }
      written.add(ctx.path)
    }
    await next()
  })
  const { port } = await server.run()
  const env = { ...S3RVER_ENV }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    env,
    counts,
    refused: () => refused,
    close: async () => {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface ConcurrentFigures {
  runs: number
  distinct: number
  /** runs whose output named no run (`run <name> succeeded|failed` missing) */
  unnamed: number
  succeeded: number
  medianRssKiB: number
  maxRssKiB: number
  requests: number
  requestsPerRun: number
  /** e.g. "GET 812, PUT 640, HEAD 100" */
  byMethod: string
  seconds: number
}

export async function concurrentRuns(awsCli: string, n: number): Promise<ConcurrentFigures> {
  const s3 = await startCountingS3('bench-many')
  const repo = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: hello\n    provider: bash\n    commands:\n      - echo hello from $DSTACK_RUN_NAME\n' })
  const work = mkdtempSync(join(tmpdir(), 'bench-many-'))
  chmodSync(work, 0o755) // the job's own user passes through to the work root, as with the default one
  const storeArgs = ['--store', 's3://bench-many/many', '--store-region', 'us-east-1', '--endpoint', s3.endpoint]
  const env = { ...process.env, ...s3.env, DSTACK_AWS_CLI: awsCli, DSTACK_WORK_ROOT: join(work, 'work'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  const t0 = performance.now()
  try {
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        new Promise<{ code: number | null; run?: string; rssKiB?: number; err: string }>((resolve) => {
          const child = spawn(process.execPath, [RSS_HOOK, CLI, 'run', 'hello', '-C', repo.dir, '--backend', 'local', '--comment', 'false', ...storeArgs], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
          let err = ''
          child.stderr.on('data', (d: Buffer) => {
            err += d.toString()
            if (process.env.BENCH_VERBOSE) process.stderr.write(`[${child.pid}] ${d}`)
          })
          child.on('exit', (code) => {
            const rss = /MAXRSS (\d+)/.exec(err)
            resolve({ code, run: /^run (\S+) (?:succeeded|failed)/m.exec(err)?.[1], rssKiB: rss ? Number(rss[1]) : undefined, err })
          })
        })
      )
    )
    const seconds = (performance.now() - t0) / 1000
    const names = results.map((r) => r.run).filter((r): r is string => Boolean(r))
    const rss = results.map((r) => r.rssKiB).filter((r): r is number => r !== undefined)
    const failed = results.filter((r) => r.code !== 0)
    if (failed.length && process.env.BENCH_VERBOSE) process.stderr.write(failed[0].err.slice(-2000))
    const unnamed = results.find((r) => !r.run)
    if (unnamed && process.env.BENCH_VERBOSE) process.stderr.write(`a run that printed no name:\n${unnamed.err.slice(-2000)}\n`)
    if (process.env.BENCH_VERBOSE) process.stderr.write(`conditional PUTs refused: ${s3.refused()}\n`)
    const requests = Object.values(s3.counts).reduce((a, b) => a + b, 0)
    return {
      runs: n,
      distinct: new Set(names).size,
      unnamed: n - names.length,
      succeeded: n - failed.length,
      medianRssKiB: median(rss),
      maxRssKiB: Math.max(...rss),
      requests,
      requestsPerRun: requests / n,
      byMethod: Object.entries(s3.counts).sort((a, b) => b[1] - a[1]).map(([m, c]) => `${m} ${c}`).join(', '),
      seconds
    }
  } finally {
    await s3.close()
    repo.cleanup()
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { awsCliPath } = await import('../../__tests__/helpers/s3server.js')
  console.log(JSON.stringify(await concurrentRuns(process.env.BENCH_AWS_CLI ?? awsCliPath(), Number(process.argv[2] ?? 100))))
}
