/**
 * Many `dstack-run run`s at once against one S3 store (s3rver on loopback), as many CI jobs of one
 * repository would start them: the same workflow, the local backend, a trivial job. Reported: the
 * run names (all must differ: each run claims its name with a conditional write), each process's
 * peak RSS, and every request the store received, counted by a small proxy in front of s3rver
 * (the CLIs, their runners' curl and aws CLI calls all go through it).
 * The CLI is dist/cli.js, the bundle users run (rebuilt from the sources by `npm run build`).
 * Alone: `node --import tsx bench/parts/concurrent-runs.ts [N]`.
 */
import { spawn } from 'node:child_process'
import { createServer, request, Agent, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { S3TestServer } from '../../__tests__/helpers/s3server.js'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'dist/cli.js')
const RSS_HOOK = "--import=data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS '+process.resourceUsage().maxRSS+'\\n'))"
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** an HTTP proxy to `target` that counts requests by method */
export async function countingProxy(target: string): Promise<{ endpoint: string; counts: Record<string, number>; close: () => Promise<void> }> {
  const up = new URL(target)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const counts: Record<string, number> = {}
  const server: Server = createServer((req, res) => {
    counts[req.method ?? '?'] = (counts[req.method ?? '?'] ?? 0) + 1
    // headers unchanged (Host included): the SigV4 signature the client made still matches
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()))
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export interface ConcurrentFigures {
  runs: number
  distinct: number
  succeeded: number
  medianRssKiB: number
  maxRssKiB: number
  requests: number
  requestsPerRun: number
  /** e.g. "GET 812, PUT 640, HEAD 100" */
  byMethod: string
  seconds: number
}

export async function concurrentRuns(s3: S3TestServer, awsCli: string, n: number): Promise<ConcurrentFigures> {
  const proxy = await countingProxy(s3.endpoint)
  const repo = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: hello\n    provider: bash\n    commands:\n      - echo hello from $DSTACK_RUN_NAME\n' })
  const work = mkdtempSync(join(tmpdir(), 'bench-many-'))
  const storeArgs = ['--store', `s3://${s3.bucket}/many`, '--region', 'us-east-1', '--endpoint', proxy.endpoint]
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
    const requests = Object.values(proxy.counts).reduce((a, b) => a + b, 0)
    return {
      runs: n,
      distinct: new Set(names).size,
      succeeded: n - failed.length,
      medianRssKiB: median(rss),
      maxRssKiB: Math.max(...rss),
      requests,
      requestsPerRun: requests / n,
      byMethod: Object.entries(proxy.counts).sort((a, b) => b[1] - a[1]).map(([m, c]) => `${m} ${c}`).join(', '),
      seconds
    }
  } finally {
    await proxy.close()
    repo.cleanup()
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startS3Server, awsCliPath } = await import('../../__tests__/helpers/s3server.js')
  const s3 = await startS3Server('bench-many')
  try {
    console.log(JSON.stringify(await concurrentRuns(s3, awsCliPath(), Number(process.argv[2] ?? 100))))
  } finally {
    await s3.close()
  }
}
