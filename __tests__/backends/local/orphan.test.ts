/**
 * `kill -9` of the CLI: the runner notices that the process watching it is gone and stops the job
 * (saving what it can); a run whose runner died too shows as `lost` in `ps`, not `running`.
 * For real: the CLI runs in a child process that is killed with SIGKILL; the tests wait on what
 * the processes and the store show, not on fixed sleeps.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { main } from '../../../src/entry/cli.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { waitFor } from '../../runner/fixture.js'

const ROOT = process.cwd()
const WORKFLOWS = `workflows:
  - name: slow
    provider: bash
    commands:
      - echo $$ > "$PIDFILE"
      - echo started
      - sleep 290 # not 300, which action.test.ts looks for machine-wide
`
const REPO_ID = 'github.com/acme/ml-demo'
let repo: { dir: string; cleanup: () => void }
let root: string
const children: ChildProcess[] = []

beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  root = mkdtempSync(join(tmpdir(), 'orphan-'))
})
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  repo.cleanup()
  rmSync(root, { recursive: true, force: true })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** `dstack-run run slow` in its own node process (the TypeScript sources, through tsx) */
function startCli(store: string, pidFile: string) {
  const env: Record<string, string | undefined> = { ...process.env, DSTACK_WORK_ROOT: join(root, 'work'), PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/entry/cli-index.ts'), 'run', 'slow', '-e', `PIDFILE=${pidFile}`, '-C', repo.dir, '--store', store], {
    env,
    cwd: repo.dir,
    stdio: ['ignore', 'ignore', 'ignore']
  })
  children.push(child)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return { child, exited }
}

async function cli(args: string[], store: string) {
  let out = ''
  const code = await main([...args, '-C', repo.dir, '--store', store], {
    environ: process.env,
    cwd: repo.dir,
    out: { write: (s: string) => ((out += s), true) },
    err: { write: () => true },
    signal: new AbortController().signal
  })
  return { code, out }
}

function onlyRun(store: string): { name: string; dir: string } {
  const names = readdirSync(join(store, REPO_ID, 'runs'))
  expect(names).toHaveLength(1)
  return { name: names[0]!, dir: join(store, REPO_ID, 'runs', names[0]!) }
}

describe('a CLI killed with SIGKILL', () => {
  it('the job notices its watcher died, stops and saves; ps shows the result, not running', async () => {
    const store = join(root, 'store-orphan')
    const pidFile = join(root, 'job-orphan.pid')
    const cliProc = startCli(store, pidFile)
    const jobPid = await waitFor('the job to start', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), 60_000)
    cliProc.child.kill('SIGKILL')
    await cliProc.exited
    const run = onlyRun(store)
    const statusFile = join(run.dir, 'attempts', '1', 'status.json')
    const status = await waitFor('the runner to report the attempt', () => {
      const st = existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, 'utf8')) as { status?: string; reason?: string }) : undefined
      return st?.status ? st : undefined
    })
    expect(status.status).toBe('cancelled')
    expect(status.reason).toMatch(/the process that started this run \(pid \d+\) is gone: the job was stopped/)
    await waitFor('the job process to be gone', () => !alive(jobPid))
    // run.json still says running (nobody was left to update it); ps reads the truth
    expect(JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).status).toBe('running')
    const ps = JSON.parse((await cli(['ps', '--json'], store)).out) as { run: string; status: string }[]
    expect(ps).toEqual([expect.objectContaining({ run: run.name, status: 'cancelled' })])
  })

  it('when the runner died as well, ps shows the run as lost and logs -f returns', async () => {
    const store = join(root, 'store-lost')
    const pidFile = join(root, 'job-lost.pid')
    const cliProc = startCli(store, pidFile)
    const jobPid = await waitFor('the job to start', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), 60_000)
    const run = onlyRun(store)
    const machineId = (JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')) as { attempts: { machine: { id: string } }[] }).attempts[0]!.machine.id
    const runnerPid = Number(machineId.replace('local:', ''))
    // the whole machine dies: runner, job and CLI, with no chance to write anything
    process.kill(-runnerPid, 'SIGKILL')
    process.kill(-jobPid, 'SIGKILL')
    cliProc.child.kill('SIGKILL')
    await cliProc.exited
    await waitFor('the runner and the job to be gone', () => !alive(runnerPid) && !alive(jobPid))
    expect(existsSync(join(run.dir, 'attempts', '1', 'status.json')) && JSON.parse(readFileSync(join(run.dir, 'attempts', '1', 'status.json'), 'utf8')).status).toBeFalsy()
    const ps = await cli(['ps'], store)
    expect(ps.out).toMatch(new RegExp(`^${run.name}\\s+slow\\s+.*\\blost\\b`, 'm'))
    // it returns, and exits as a run that did not succeed (`logs -f` exits with the run's status)
    const logs = await cli(['logs', run.name, '-f'], store)
    expect(logs.code).toBe(1)
  })
})
