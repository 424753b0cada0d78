#!/usr/bin/env node
// The run loop's rows of `npm run bench` (bench/run.mjs starts this file with tsx, as it imports
// the TypeScript sources). Prints one JSON array of rows: [name, what, value, target, unit].
//   exit      job's last command → `run` exits                       folder ≤ 300 ms, S3 ≤ 1,500 ms
//   log p50/95 job prints a line → it is on the CLI's stdout          p95: folder ≤ 1 s, S3 ≤ 2 s
//   rpm       S3 + EC2 + SSM requests per minute, 24 h simulated     quiet ≤ 12, chatty ≤ 200
//   req/poll  requests of a log poll with 10, 1,000, 40,000 chunks   ≤ 2 each, flat (40,000 / 10 ≤ 1)
//   cpu       runner CPU of a 30 s chatty attempt on S3, shipping via curl vs via the aws CLI  ≤ 0.5×
//   cpu/h     the runner's CPU seconds per hour of chatty output (minus start and finish)  ≤ 360 s
//   artifacts upload: what a tree of artifacts adds to a run's end vs `aws s3 sync` of the same tree;
//             upload ≤ 1.0× (issue 23; the runner skips the CLI for a fresh prefix);
//             download: `artifacts download` (SDK, sha256 checked) vs `aws s3 sync`   time ≤ 1.11× (≥ 0.9× throughput)
//   snapshot  the code snapshot of a 2,000-file repo (in process) vs `git archive | gzip`  ≤ 1.5×;
//             the whole `dist/cli.js revision` command (start-up included) vs the same    ≤ 8×
//   cache     a second run restores a 500 MB `cache` folder vs the first run's save of it  ≤ 1×
//   redact    a run whose job prints one 50 MB line, with a secret set (the filter) vs without   ≤ 3×
//   concurrent 100 `run`s at once against one S3 store (BENCH_CONCURRENT): failures and duplicate
//             names (counts, 0), peak RSS per process ≤ 150 MiB, S3 requests per run-minute ≤ 200
//   billed    the seconds a run pays for that are not the job (bench/parts/billed-overhead.ts): action
//             start → RunInstances (warm catalogue cache ≤ 1.5 s; cold), SendCommand → the job's first
//             command (≤ 3 s; with a 100 MB repository's snapshot ≤ 5 s), the job's last command →
//             TerminateInstances (1 GB of artifacts: the upload's own time, as the runner logs it, + ≤ 2 s), the same for 2 nodes,
//             and the billed seconds not spent on the job over EC2's own boot figure
// Latencies are the median of BENCH_LOOP_RUNS (3) runs; S3 is s3rver on loopback with the real aws CLI.
// The parts live in bench/parts/ (TypeScript, typechecked with the tests; each runs alone too).
// BENCH_QUICK=1 (`npm run bench -- --quick`): every part once, at a small size, to prove it still runs
// (scripts/test.sh); its figures mean nothing and no target is checked.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { measureRunLoop } from './parts/run-loop.js'
import { requestsPerPoll, simulatedDay } from './parts/request-budget.js'
import { runnerCpuFolder, runnerCpuS3 } from './parts/runner-cpu.js'
import { artifactTransfer } from './parts/artifacts.js'
import { concurrentRuns } from './parts/concurrent-runs.js'
import { snapshotSpeedAlone } from './parts/snapshot.js'
import { redactFilterLongLine } from './parts/redact-filter.js'
import { billedOverhead } from './parts/billed-overhead.js'
import { cacheSaveRestore } from './parts/cache.js'
import { LATENCY_SOURCE, EC2_FIGURES } from './parts/aws-latency.js'
import { startS3Server } from '../__tests__/helpers/s3server.js'

const QUICK = process.env.BENCH_QUICK === '1'
const RUNS = QUICK ? 1 : Number(process.env.BENCH_LOOP_RUNS ?? 3)
const AWS = process.env.BENCH_AWS_CLI ?? '/usr/bin/aws'
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []

const s3 = await startS3Server('bench-loop')
const folder = mkdtempSync(join(tmpdir(), 'bench-loop-store-'))
try {
  // latencies: folder and S3 runs interleaved, so machine noise spreads over both
  const f = []
  const s = []
  for (let i = 0; i < RUNS; i++) {
    f.push(await measureRunLoop(['--store', folder]))
    s.push(await measureRunLoop(['--store', `s3://${s3.bucket}/loop`, '--store-region', 'us-east-1', '--endpoint', s3.endpoint], { ...s3.env, DSTACK_AWS_CLI: AWS }))
  }
  const m = (xs, k) => median(xs.map((x) => x[k]))
  rows.push(['exit', "job's end → run exits, folder store", m(f, 'exitMs'), 300, 'ms'])
  // S3: the runner's last puts and the CLI's closing reads and writes are requests too
  rows.push(['exit', "job's end → run exits, S3 (loopback)", m(s, 'exitMs'), 1500, 'ms'])
  rows.push(['log p50', 'line printed → on the CLI log, folder store', m(f, 'p50'), 500, 'ms'])
  rows.push(['log p95', 'line printed → on the CLI log, folder store', m(f, 'p95'), 1000, 'ms'])
  rows.push(['log p50', 'line printed → on the CLI log, S3 (loopback)', m(s, 'p50'), 1000, 'ms'])
  rows.push(['log p95', 'line printed → on the CLI log, S3 (loopback)', m(s, 'p95'), 2000, 'ms'])

  const snap = snapshotSpeedAlone(QUICK ? 1 : Number(process.env.BENCH_RUNS ?? 7))
  rows.push(['snapshot', `code snapshot of ${snap.files.toLocaleString('en')} files vs git archive | gzip (${snap.snapshotMs.toFixed(0)} ms vs ${snap.gitArchiveMs.toFixed(0)} ms; with the revision's git questions ${snap.revisionMs.toFixed(0)} ms)`, snap.snapshotMs / snap.gitArchiveMs, 1.5, '×'])
  rows.push(['snapshot', `the whole dist/cli.js revision --json, Node start-up included (${snap.commandMs.toFixed(0)} ms) vs the same`, snap.commandMs / snap.gitArchiveMs, 8, '×'])

  const cache = await (QUICK ? cacheSaveRestore(4, 256 * 1024) : cacheSaveRestore())
  rows.push(['cache', `a second run restores a ${Math.round(cache.bytes / 1048576)} MB cache (${cache.restoreMs.toFixed(0)} ms) vs the first run's save of it (${cache.saveMs.toFixed(0)} ms), folder store`, cache.restoreMs / Math.max(1, cache.saveMs), 1, '×'])

  const red = await redactFilterLongLine(50, RUNS)
  rows.push(['redact', `a run printing one ${red.mb} MB line with a secret set (${red.withMs.toFixed(0)} ms) vs without (${red.withoutMs.toFixed(0)} ms)`, red.withMs / red.withoutMs, 3, '×'])

  // quick: one simulated hour instead of a day
  const simulated = QUICK ? 3600_000 : undefined
  const quiet = await simulatedDay(600_000, simulated)
  const chatty = await simulatedDay(1000, simulated)
  rows.push(['rpm quiet', `S3+EC2+SSM requests/min, 24 h, a chunk every 10 min (${quiet.total} in all)`, quiet.perMinute, 12, '/min'])
  rows.push(["rpm chatty", `S3+EC2+SSM requests/min, 24 h, a chunk every second (${chatty.total} in all: ${chatty.counts.list} LIST, ${chatty.counts.get} GET)`, chatty.perMinute, 200, '/min'])

  const polls = {}
  for (const n of QUICK ? [10, 1000] : [10, 1000, 40_000]) {
    polls[n] = await requestsPerPoll(n)
    rows.push(['req/poll', `a log poll with ${n.toLocaleString('en')} chunks stored and one new (listing the whole log instead: ${polls[n].fullListing} LIST pages)`, polls[n].oneNew, 2, ''])
  }
  if (!QUICK) rows.push(['req/poll', 'flat: requests per poll at 40,000 chunks / at 10', polls[40_000].oneNew / polls[10].oneNew, 1, '×'])

  // artifacts: the runner's upload path and our download against `aws s3 sync` of the same tree
  // (throughput ≥ 0.9× means time ≤ 1.11×)
  // on an s3rver of its own: s3rver lists by walking the bucket's folders on disk, so the latency
  // runs' log chunks would slow every LIST of the uploads and the watcher (real S3 lists by index)
  const s3art = await startS3Server('bench-art')
  const art = await (QUICK ? artifactTransfer(s3art, AWS, 1, 4, 64 * 1024) : artifactTransfer(s3art, AWS, RUNS)).finally(() => s3art.close())
  const size = `${art.files} files, ${(art.bytes / 1048576).toFixed(0)} MiB`
  rows.push(['artifacts', `upload ${size}: +${art.uploadOursMs.toFixed(0)} ms on the run's end vs aws s3 sync ${art.uploadSyncMs.toFixed(0)} ms (time ratio)`, art.uploadOursMs / art.uploadSyncMs, 1.0, '×'])
  rows.push(['artifacts', `download ${size}: ${art.downloadOursMs.toFixed(0)} ms vs aws s3 sync ${art.downloadSyncMs.toFixed(0)} ms (time ratio)`, art.downloadOursMs / art.downloadSyncMs, 1.11, '×'])

  // 100 runs at once against the same store (BENCH_CONCURRENT sets how many)
  const many = await concurrentRuns(AWS, QUICK ? 3 : Number(process.env.BENCH_CONCURRENT ?? 100))
  rows.push(['concurrent', `${many.runs} runs at once on one S3 store, ${many.seconds.toFixed(0)} s in all: runs that failed`, many.runs - many.succeeded, 0, ''])
  // names given twice among the names the runs printed; a run that printed none is its own row
  rows.push(['concurrent', `the same: run names given twice (${many.distinct} distinct)`, many.runs - many.unnamed - many.distinct, 0, ''])
  rows.push(['concurrent', 'the same: runs whose output named no run (BENCH_VERBOSE=1 prints one)', many.unnamed, 0, ''])
  rows.push(['concurrent', `peak RSS of one \`run\` (median; max ${(many.maxRssKiB / 1024).toFixed(0)} MiB)`, many.medianRssKiB / 1024, 150, ' MiB'])
  rows.push(['concurrent', `S3 requests per run-minute, counted at the server (${many.requests} in all, ${many.requestsPerRun.toFixed(0)} per run: ${many.byMethod}); the budget while a job prints`, many.requestsPerRun / (many.seconds / 60), 200, '/min'])

  // the runner's CPU: the whole attempt's process tree (start, loop, finish) for the same 30 s chatty job
  const cpuSeconds = QUICK ? 3 : 30
  try {
    const cpuFolder = await runnerCpuFolder(cpuSeconds, 20)
    const cpuCurl = await runnerCpuS3(s3, AWS, cpuSeconds, 20)
    const cpuAws = await runnerCpuS3(s3, AWS, cpuSeconds, 20, { DSTACK_S3_CURL: '0' })
    rows.push(['cpu', `runner CPU, 30 s chatty job on S3: curl ${cpuCurl.cpu.toFixed(1)} s vs aws CLI ${cpuAws.cpu.toFixed(1)} s (the job's own CPU taken off)`, cpuCurl.cpu / cpuAws.cpu, 0.5, '×'])
    rows.push(['cpu/h', `runner CPU s per hour of chatty output, S3 via curl (start + finish: ${cpuCurl.fixedCpu.toFixed(1)} s once)`, cpuCurl.cpuPerHour, 360, ' s'])
    rows.push(['cpu/h', `runner CPU s per hour of chatty output, folder store (start + finish: ${cpuFolder.fixedCpu.toFixed(1)} s once)`, cpuFolder.cpuPerHour, 360, ' s'])
  } catch (e) {
    if (QUICK) throw e
    rows.push(['cpu', `the runner CPU measurement failed: ${String(e.message).split('\n').slice(0, 3).join(' ')}`, Infinity, 0.5, '×'])
  }

  // the billed seconds that are not the job (its own S3 server, EC2/SSM doubles with latencies)
  const b = await billedOverhead({ quick: QUICK, awsCli: AWS })
  const secs = (ms) => `${(ms / 1000).toFixed(1)} s`
  rows.push(['billed', LATENCY_SOURCE, NaN, NaN])
  rows.push(['billed', `${EC2_FIGURES.source}`, NaN, NaN])
  rows.push(['start', 'action start → RunInstances sent, catalogue cache warm', b.warm.startMs, 1500, 'ms'])
  rows.push(['start', 'action start → RunInstances sent, catalogue cache cold', b.cold.startMs, null, 'ms'])
  rows.push(['ssm', 'SendCommand sent → the job\'s first command, no image', b.warm.sendToFirstMs, 3000, 'ms'])
  rows.push(['ssm', `SendCommand sent → the job's first command, the snapshot of a ${b.repoMb} MB repository`, b.big.sendToFirstMs, 5000, 'ms'])
  rows.push(['end', "job's last command → TerminateInstances sent, no artifacts", b.warm.lastToTerminateMs, 2000, 'ms'])
  // the upload's own time is the runner's, as its log says it (the same tree through aws s3 sync varies by ±10 % from run to run: the row below)
  if (b.big.uploadMs === undefined) throw new Error("the runner's log has no `artifacts: … stored in` line")
  rows.push(['end', `the same with ${(b.artifactBytes / 1048576).toFixed(0)} MiB of artifacts, minus the upload's own time (${secs(b.big.lastToTerminateMs)} − ${secs(b.big.uploadMs)})`, b.big.lastToTerminateMs - b.big.uploadMs, 2000, 'ms'])
  rows.push(['end', `that upload vs aws s3 sync of the same tree (${secs(b.big.uploadMs)} vs ${secs(b.syncMs)}; the artifacts row above is the target's)`, b.big.uploadMs / b.syncMs, null, '×'])
  rows.push(['cluster', '2 nodes: action start → RunInstances sent (warm)', b.cluster.startMs, 1500, 'ms'])
  rows.push(['cluster', "2 nodes: SendCommand sent → the last node's first command", b.cluster.sendToFirstMs, 3000, 'ms'])
  rows.push(['cluster', "2 nodes: the last node's last command → TerminateInstances sent for both", b.cluster.lastToTerminateMs, 2000, 'ms'])
  rows.push(['billed', `billed seconds not spent on the job, over EC2's boot (${secs(b.billedOverheadMs)}: boot ${secs(EC2_FIGURES.bootMs)} + Online seen ${secs(b.onlineLagMs)} later (${secs(b.onlineLagMinuteMs)} at a 1-minute boot) + ${secs(b.warm.onlineToSendMs + b.warm.sendToFirstMs)} to the job + ${secs(b.warm.lastToTerminateMs)} after it)`, b.billedRatio, null, '×'])
} finally {
  rmSync(folder, { recursive: true, force: true })
  await s3.close()
}
process.stdout.write(JSON.stringify(rows) + '\n')
