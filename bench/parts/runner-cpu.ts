/**
 * The runner's own CPU while a job prints continuously, on this machine: `dstack-run run` (local
 * backend) with a `bash` first on PATH that runs the runner script and then reports, with the
 * `times` builtin, the CPU of everything the runner waited for (itself, its curl / aws / cp
 * processes, and the job). The job's own CPU (the same job run alone) is taken off, and so is the
 * fixed cost of starting and finishing (a job that prints nothing), measured in the same run:
 *   cpuPerHour = (runner CPU of the chatty run − fixed CPU) / the chatty job's seconds × 3600
 * Alone: `node --import tsx bench/parts/runner-cpu.ts folder|s3`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { S3TestServer } from '../../__tests__/helpers/s3server.js'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'src/entry/cli-index.ts')

/** a line every 1/rate s for `seconds`, sleeping without a process (read -t on a private pipe) */
const chattyJob = (seconds: number, rate: number) =>
  `exec 3<> <(:); end=$((SECONDS + ${seconds})); i=0; while [ $SECONDS -lt $end ]; do i=$((i + 1)); echo "line $i of a chatty job"; read -t ${(1 / rate).toFixed(3)} -u 3 _ || true; done`

/** total CPU seconds in the output of `times` (the shell's and its children's, user + sys) */
export function parseTimes(text: string): number {
  let s = 0
  for (const m of text.matchAll(/(\d+)m([\d.]+)s/g)) s += Number(m[1]) * 60 + Number(m[2])
  return s
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-1500)}`))))
  })
}

/** CPU seconds of the runner (and what it waited for) for one run of `job` */
async function runnerCpu(job: string, storeArgs: string[], env: Record<string, string>): Promise<{ cpu: number; wall: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cpu-'))
  const cpuFile = join(dir, 'cpu')
  const bin = join(dir, 'bin')
  // release() may send SIGTERM while the runner tidies up after status.json `done`: the wrapper
  // outlives it with a handler (not an ignore: the runner must still be able to trap it)
  const wrapper = `#!/bin/bash
trap ':' TERM
case "$1" in
  */dstack-runner-*/runner.sh) DSTACK_WATCHER_PID=$$ /bin/bash "$@"; rc=$?; times > ${JSON.stringify(cpuFile)}; exit $rc ;;
esac
exec /bin/bash "$@"
`
  mkdirSync(bin)
  writeFileSync(join(bin, 'bash'), wrapper)
  chmodSync(join(bin, 'bash'), 0o755)
  const repo = makeRepo({ '.dstack/workflows.yaml': `workflows:\n  - name: chatty\n    provider: bash\n    commands:\n      - ${JSON.stringify(job)}\n` })
  try {
    const t0 = performance.now()
    await run(process.execPath, ['--import', 'tsx', CLI, 'run', 'chatty', '-C', repo.dir, '--backend', 'local', '--comment', 'false', ...storeArgs], {
      ...process.env,
      ...env,
      PATH: `${bin}:${process.env.PATH}`,
      DSTACK_WORK_ROOT: join(dir, 'work'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
    })
    const wall = (performance.now() - t0) / 1000
    const cpu = parseTimes(readFileSync(cpuFile, 'utf8'))
    return { cpu, wall }
  } finally {
    repo.cleanup()
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
  }
}

/** CPU seconds of the job alone, as the runner starts it (bash job.sh) */
async function jobCpu(job: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cpu-job-'))
  try {
    writeFileSync(join(dir, 'job.sh'), `${job}\n`)
    const out = join(dir, 'cpu')
    await run('/bin/bash', ['-c', `/bin/bash ${JSON.stringify(join(dir, 'job.sh'))} > /dev/null; times > ${JSON.stringify(out)}`], process.env)
    return parseTimes(readFileSync(out, 'utf8'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface CpuFigures {
  /** runner CPU s of the chatty run, the job's own taken off */
  cpu: number
  /** start + finish: the runner's CPU with a job that prints nothing */
  fixedCpu: number
  /** (cpu − fixedCpu) per hour of chatty output */
  cpuPerHour: number
  seconds: number
}

async function measure(storeArgs: string[], env: Record<string, string>, seconds: number, rate: number): Promise<CpuFigures> {
  const job = chattyJob(seconds, rate)
  const fixed = await runnerCpu('true', storeArgs, env)
  const chatty = await runnerCpu(job, storeArgs, env)
  const cpu = chatty.cpu - (await jobCpu(job))
  return { cpu, fixedCpu: fixed.cpu, cpuPerHour: (Math.max(0, cpu - fixed.cpu) / seconds) * 3600, seconds }
}

export function runnerCpuFolder(seconds: number, rate: number): Promise<CpuFigures> {
  const store = mkdtempSync(join(tmpdir(), 'bench-cpu-store-'))
  return measure(['--store', store], {}, seconds, rate).finally(() => rmSync(store, { recursive: true, force: true }))
}

export function runnerCpuS3(s3: S3TestServer, awsCli: string, seconds: number, rate: number, env: Record<string, string> = {}): Promise<CpuFigures> {
  return measure(['--store', `s3://${s3.bucket}/cpu`, '--store-region', 'us-east-1', '--endpoint', s3.endpoint], { ...s3.env, DSTACK_AWS_CLI: awsCli, ...env }, seconds, rate)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.env.BENCH_CPU_SECONDS ?? 30)
  if (process.argv[2] === 's3') {
    const { startS3Server, awsCliPath } = await import('../../__tests__/helpers/s3server.js')
    const s3 = await startS3Server('bench-cpu')
    try {
      console.log('curl', JSON.stringify(await runnerCpuS3(s3, awsCliPath(), seconds, 20)))
      console.log('aws CLI', JSON.stringify(await runnerCpuS3(s3, awsCliPath(), seconds, 20, { DSTACK_S3_CURL: '0' })))
    } finally {
      await s3.close()
    }
  } else console.log('folder', JSON.stringify(await runnerCpuFolder(seconds, 20)))
}
