#!/usr/bin/env node
// Benchmarks, reported as ratios against a baseline measured in the same run (never absolute
// timings in tests). Each row: median of N runs after one warm-up, round-robin so machine noise
// spreads evenly. Exit 1 when a ratio misses its target.
//
//   startup   `dist/cli.js --help`              vs `node -e 0`                  target ≤ 6×
//   validate  `dist/cli.js validate` (examples) vs `node -e 0`                  target ≤ 8×
//   lazy-aws  `dist/cli.js validate`            vs `run --backend aws` failing right after the
//             AWS backend loaded (proves EC2/SSM load only when used)          target ≤ 0.9×
//   memory    peak RSS of `validate`            vs peak RSS of `node -e 0`      target ≤ 2×
//             (1.76×; Octokit loaded up front made it 2.2×, so it loads on first use)
//             (the S3 SDK loaded up front made it 2.13×, so it loads on an S3 store's first request: 1.73×)
// The run loop's rows and the code snapshot's come from bench/loop.mjs (bench/parts/*.ts).
// `--quick` (scripts/test.sh): every row once at a small size, proving each part still runs; the
// figures are printed without their targets, and only a part that fails makes it exit 1.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const ROOT = new URL('..', import.meta.url).pathname
const CLI = join(ROOT, 'dist/cli.js')
const QUICK = process.argv.includes('--quick')
const N = QUICK ? 1 : Number(process.env.BENCH_RUNS ?? 7)
const RSS_HOOK = "--import=data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS '+process.resourceUsage().maxRSS+'\\n'))"

function timeCmd(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts, env: { ...process.env, ...(opts.env ?? {}) } })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== (opts.expectStatus ?? 0)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const rss = /MAXRSS (\d+)/.exec(r.stderr ?? '')
  return { ms, rssKiB: rss ? Number(rss[1]) : undefined }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function roundRobin(cases) {
  const results = Object.fromEntries(Object.keys(cases).map((k) => [k, { ms: [], rss: [] }]))
  if (!QUICK) for (const f of Object.values(cases)) f() // warm-up
  for (let i = 0; i < N; i++) {
    for (const [k, f] of Object.entries(cases)) {
      const r = f()
      results[k].ms.push(r.ms)
      if (r.rssKiB) results[k].rss.push(r.rssKiB)
    }
  }
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ms: median(v.ms), rssKiB: v.rss.length ? median(v.rss) : undefined }]))
}

const rows = []
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
const start = roundRobin({
  baseline: () => timeCmd(process.execPath, [RSS_HOOK, '-e', '0']),
  help: () => timeCmd(process.execPath, [RSS_HOOK, CLI, '--help'], { env }),
  validate: () => timeCmd(process.execPath, [RSS_HOOK, CLI, 'validate', '-C', ROOT], { env }),
  // the aws backend is created (EC2, SSM, pricing clients loaded) before the unknown workflow is reported
  validateWithAws: () =>
    timeCmd(process.execPath, [RSS_HOOK, CLI, 'run', 'no-such-workflow', '-C', ROOT, '--backend', 'aws', '--store', 's3://bench-bucket/x', '--aws-region', 'us-east-1'], {
      env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
      expectStatus: 1
    })
})
rows.push(['startup', 'dist/cli.js --help vs node -e 0', start.help.ms / start.baseline.ms, 6])
rows.push(['validate', 'dist/cli.js validate vs node -e 0', start.validate.ms / start.baseline.ms, 8])
rows.push(['lazy-aws', 'validate vs validate + AWS backend loaded', start.validate.ms / start.validateWithAws.ms, 0.9])
rows.push(['memory', 'peak RSS of validate vs node -e 0', start.validate.rssKiB / start.baseline.rssKiB, 2])

rows.push(['  (abs)', `node -e 0 ${start.baseline.ms.toFixed(0)} ms / ${start.baseline.rssKiB} KiB; validate ${start.validate.ms.toFixed(0)} ms / ${start.validate.rssKiB} KiB; --help ${start.help.ms.toFixed(0)} ms`, NaN, NaN])

// the run loop (bench/loop.mjs imports the TypeScript sources, so it runs under tsx); BENCH_LOOP=0 skips it
if (process.env.BENCH_LOOP !== '0') {
  const loop = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/loop.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env, ...(QUICK ? { BENCH_QUICK: '1' } : {}), NODE_OPTIONS: [process.env.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' ') }
  })
  const last = (loop.stdout ?? '').trim().split('\n').pop() ?? ''
  if (loop.status !== 0 || !last.startsWith('[')) {
    process.stderr.write(loop.stderr ?? '')
    rows.push(['loop', 'bench/loop.mjs failed (see above)', Infinity, 0])
  } else rows.push(...JSON.parse(last))
}

// a row: [name, what, value, target, unit]; JSON turns NaN and Infinity into null: a row with
// neither value nor target is a line of text, a value without a target is printed as it is, and a
// missing value with a target is a part that failed
let failed = 0
console.log(`node ${process.version}, ${QUICK ? 'quick: every part once at a small size, no targets checked' : `median of ${N} runs`}`)
for (const [name, what, value, target, unit = '×'] of rows) {
  const noValue = value === null || Number.isNaN(value)
  const noTarget = target === null || Number.isNaN(target)
  if (noValue && noTarget) {
    console.log(`${name.padEnd(10)} ${what}`)
    continue
  }
  if (noValue || !Number.isFinite(value)) {
    failed++
    console.log(`${name.padEnd(10)} ${'—'.padStart(9)}  FAILED  ${what}`)
    continue
  }
  const digits = unit === '×' ? 2 : unit === '/min' ? 1 : 0
  const fig = `${value.toFixed(digits)}${unit}`
  if (QUICK || noTarget) {
    console.log(`${name.padEnd(10)} ${fig.padStart(9)}  ${noTarget ? '(no target)' : `(target ≤ ${target}${unit}, not checked)`}  ${what}`)
    continue
  }
  const ok = value <= target
  if (!ok) failed++
  console.log(`${name.padEnd(10)} ${fig.padStart(9)}  (target ≤ ${target}${unit})  ${ok ? 'ok' : 'MISSED'}  ${what}`)
}
process.exit(failed ? 1 : 0)
