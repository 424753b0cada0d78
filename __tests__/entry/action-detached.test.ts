/**
 * Detached runs through the action as a user drives it (docs/long-runs.md): @github/local-action
 * against src/ on the local backend. `mode: start` returns while the job still runs (outputs
 * `run-name`, `status: running`) and its post step leaves the run alone; `mode: attach` with a short
 * `attach-timeout` leaves the live run as it is and says how to attach again; `mode: attach` with
 * `run: <name>` follows the job to its end and publishes what `mode: run` publishes (the same
 * outputs, the job summary) and fails the step with the run. The job waits on a FIFO that the test
 * writes to once the attach shows the job's line, so nothing depends on timing.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { localRunnerLiveness } from '../../src/backends/local/liveness.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "waiting for go"
      - read -r word < "$GO"; echo "got $word"
      - mkdir -p out && echo "$word" > out/answer.txt
      - if [ "$word" != go ]; then exit 3; fi
    artifacts:
      - path: out
`

let repo: { dir: string; cleanup: () => void }
let tmp: string
let store: string
let fifo: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  tmp = mkdtempSync(join(tmpdir(), 'action-detached-'))
  store = join(tmp, 'store')
  fifo = join(tmp, 'go')
  execFileSync('mkfifo', [fifo])
})
afterAll(async () => {
  // a test that failed half-way leaves the job reading the FIFO: let it end before the folder goes
  if (machineId && localRunnerLiveness({ id: machineId, backend: 'local' }) === 'alive') await run('sh', ['-c', `echo stop > "${fifo}"`], { timeoutMs: 10_000 })
  repo.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

function childEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete env[k]
  return env
}

/** a dotenv of the step's inputs and GitHub files; `go` is the file the job reads its word from */
function dotenv(name: string, extra: Record<string, string>): string {
  const vars = {
    INPUT_WORKFLOW: 'train', INPUT_STORE: store, INPUT_BACKEND: 'local', 'INPUT_WORKING-DIRECTORY': '.', INPUT_BASELINE: 'none',
    GITHUB_WORKSPACE: repo.dir, DSTACK_WORK_ROOT: join(tmp, 'work'), ACTIONS_STEP_DEBUG: 'false',
    ...extra
  }
  const file = join(tmp, `${name}.env`)
  writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  return file
}

/** local-action on the main entry (and `post`, when given); `onOutput` sees its output as it grows */
function localAction(env: string, opts: { post?: string; onOutput?: (all: string) => void } = {}): Promise<string> {
  const args = ['run', ROOT, 'src/entry/action-main.ts', env, ...(opts.post ? ['--post', opts.post] : [])]
  const child = spawn(join(ROOT, 'node_modules/.bin/local-action'), args, { env: childEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let all = ''
  const grow = (d: Buffer) => {
    all += d.toString()
    opts.onOutput?.(all)
  }
  child.stdout.on('data', grow)
  child.stderr.on('data', grow)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', () => resolve(all))
  })
}

function output(text: string, name: string): string | undefined {
  return new RegExp(`^::set-output name=${name}::(.*)$`, 'm').exec(text)?.[1]
}

function outputNames(text: string): string[] {
  return [...new Set([...text.matchAll(/^::set-output name=([\w-]+)::/gm)].map((m) => m[1]!))].sort()
}

let runOutputs: string[] = []
let runName = ''
let machineId = ''

describe('mode: start, then mode: attach (local backend, @github/local-action)', () => {
  it('mode: run of the same workflow, for the outputs an attach must set', async () => {
    const word = join(tmp, 'word')
    writeFileSync(word, 'no\n')
    const text = await localAction(dotenv('run', { INPUT_ENV: `GO=${word}`, GITHUB_STEP_SUMMARY: join(tmp, 'summary-run.md') }))
    expect(output(text, 'status')).toBe('failed')
    expect(output(text, 'exit-code')).toBe('3')
    runOutputs = outputNames(text)
    expect(runOutputs).toEqual(expect.arrayContaining(['run-name', 'status', 'exit-code', 'artifacts', 'reason', 'attempts']))
  }, 180_000)

  it('mode: start returns while the job runs, with the run name and status running; the post step leaves the run alone', async () => {
    const summary = join(tmp, 'summary-start.md')
    writeFileSync(summary, '')
    const text = await localAction(dotenv('start', { INPUT_MODE: 'start', INPUT_ENV: `GO=${fifo}`, GITHUB_STEP_SUMMARY: summary }), { post: '__tests__/helpers/action-post-entry.ts' })
    expect(text).not.toContain('::error::')
    runName = output(text, 'run-name') ?? ''
    expect(runName).toMatch(/^[a-z]+-[a-z]+-\d+$/)
    expect(output(text, 'status')).toBe('running')
    expect(output(text, 'workflow')).toBe('train')
    machineId = output(text, 'instance-id') ?? ''
    expect(machineId).toMatch(/^local:\d+$/)
    expect(output(text, 'exit-code')).toBeUndefined()
    expect(text).toContain(`Follow it with \`mode: attach\` and \`run: ${runName}\``)
    // the post step has nothing of the run's to release, and the job (blocked on the FIFO nobody wrote) goes on
    expect(text).toContain('no machine left to release')
    expect(text).not.toContain(`released ${machineId}`)
    expect(localRunnerLiveness({ id: machineId, backend: 'local' })).toBe('alive')
    expect(readFileSync(summary, 'utf8')).toBe('')
  }, 180_000)

  it('mode: attach with a short attach-timeout leaves the live run untouched, says how to attach again and succeeds', async () => {
    expect(runName).not.toBe('')
    const summary = join(tmp, 'summary-early.md')
    writeFileSync(summary, '')
    const text = await localAction(dotenv('early', { INPUT_MODE: 'attach', INPUT_RUN: runName, 'INPUT_ATTACH-TIMEOUT': '1s', GITHUB_STEP_SUMMARY: summary }))
    expect(text).not.toContain('::error::')
    expect(text).toContain(`attaching to ${runName} (train, running) for at most 1s`)
    expect(output(text, 'run-name')).toBe(runName)
    expect(output(text, 'status')).toBe('running')
    expect(text).toContain(`Follow it with \`mode: attach\` and \`run: ${runName}\``)
    expect(localRunnerLiveness({ id: machineId, backend: 'local' })).toBe('alive')
    expect(readFileSync(summary, 'utf8')).toBe('')
  }, 180_000)

  it('mode: attach with run: <name> follows the job to its end, sets the outputs of mode: run, writes the summary and fails the step', async () => {
    expect(runName).not.toBe('')
    const summary = join(tmp, 'summary-attach.md')
    writeFileSync(summary, '')
    let told = false
    const text = await localAction(dotenv('attach', { INPUT_MODE: 'attach', INPUT_RUN: runName, GITHUB_STEP_SUMMARY: summary }), {
      onOutput: (all) => {
        // the attach prints the attempt's log from its start: the job is waiting, so let it go on
        if (!told && all.includes('waiting for go')) {
          told = true
          void writeFile(fifo, 'no\n')
        }
      }
    })
    expect(told).toBe(true)
    expect(text).toContain('got no')
    expect(output(text, 'run-name')).toBe(runName)
    expect(output(text, 'status')).toBe('failed')
    expect(output(text, 'exit-code')).toBe('3')
    expect(output(text, 'artifacts')).toMatch(/^\[\{"path":"out\/answer.txt","size":3/)
    expect(outputNames(text)).toEqual(runOutputs)
    expect(text).toMatch(new RegExp(`::error(?: [^:]*)?::run ${runName} failed`))
    expect(readFileSync(summary, 'utf8')).toMatch(new RegExp(`\`train\` — run \`${runName}\` failed`))
  }, 180_000)
})
