/**
 * Runs longer than a CI job on the local backend (docs/long-runs.md), through the real entry in
 * separate node processes: `run -d` returns once the job started and its process exits; `attach`
 * in another process follows the job, publishes the end and exits with the run's status; an attach
 * whose --timeout comes first leaves the run going and says how to attach again. The job waits on a
 * FIFO the test writes to, so nothing depends on timing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "waiting for go"
      - read -r word < "$GO"; echo "got $word"
      - exit 7
`

let repo: { dir: string; cleanup: () => void }
let scratch: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  scratch = mkdtempSync(join(tmpdir(), 'cli-detached-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

function env(): Record<string, string> {
  const e: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !['NODE_OPTIONS', 'DSTACK_STORE', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CI'].includes(k)) e[k] = v
  return { ...e, HOME: scratch, DSTACK_WORK_ROOT: join(scratch, 'work') }
}

/** the real entry in its own process; `onStderr` sees its stderr as it grows */
function cli(args: string[], onOutput?: (all: string) => void) {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/entry/cli-index.ts'), ...args], { env: env(), cwd: repo.dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
    onOutput?.(stdout + stderr)
  })
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
    onOutput?.(stdout + stderr)
  })
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.once('close', (code) => r({ code, stdout, stderr })))
}

describe('run -d in one process, attach in another (local backend)', () => {
  it('run -d exits once the job started; attach follows it from another process and exits with the run\'s status', async () => {
    const store = join(scratch, 'store')
    const fifo = join(scratch, 'go')
    execFileSync('mkfifo', [fifo])
    const started = await cli(['run', 'train', '-d', '--store', store, '-e', `GO=${fifo}`])
    expect(started.code).toBe(0)
    const name = started.stdout.trim()
    expect(name).toMatch(/^[a-z]+-[a-z]+-\d+$/)
    expect(started.stderr).toContain(`dstack-run attach ${name}`)

    // an attach whose time is up leaves the run going and says how to come back
    const early = await cli(['attach', name, '--store', store, '--timeout', '1s'])
    expect(early.code).toBe(0)
    expect(early.stderr).toContain(`run ${name} is still running: it goes on without this process; attach again with: dstack-run attach ${name}`)

    // the starting process is gone; a new one follows the job until it ends
    let told = false
    const attached = cli(['attach', '--latest', 'train', '--store', store, '--json'], (all) => {
      if (!told && all.includes('waiting for go')) {
        told = true
        void writeFile(fifo, 'go\n')
      }
    })
    const a = await attached
    expect(a.stderr).toContain('got go')
    expect(a.code).toBe(7)
    const doc = JSON.parse(a.stdout) as { record: { status: string; exitCode: number; attempts: { status: string }[] }; outputs: Record<string, unknown> }
    expect(doc.record.status).toBe('failed')
    expect(doc.record.exitCode).toBe(7)
    expect(doc.record.attempts.map((x) => x.status)).toEqual(['failed'])
    expect(doc.outputs.status).toBe('failed')

    // the end is in run.json now: ps says so, and a later attach returns at once with the same status
    const ps = await cli(['ps', '--store', store, '--json'])
    expect((JSON.parse(ps.stdout) as { run: string; status: string }[]).find((r) => r.run === name)?.status).toBe('failed')
    const again = await cli(['attach', name, '--store', store])
    expect(again.code).toBe(7)
    expect(again.stderr).toContain(`run ${name} failed`)
  })
})
