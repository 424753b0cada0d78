/**
 * The CLI as scripts use it (issue 11): `--json` is exactly one JSON document on stdout with typed
 * values, `--version`, help with descriptions and examples, errors for impossible arguments, one
 * result line with correct plurals, warnings (untracked file a command names, GPU on a host without
 * one) with their fix, and no temporary files left behind. Local backend, folder store, real bash.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { hostHasGpu } from '../../src/orchestrate/preflight-warnings.js'
import { runCli } from '../helpers/cli-main.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "training with" \${{ run.args }}
      - mkdir -p model && echo 1 > model/w.txt
    artifacts:
      - path: model
  - name: reads-notes
    provider: bash
    commands:
      - cat notes.txt
  - name: gpu
    provider: bash
    commands:
      - echo on-gpu
    resources:
      gpu:
        name: A10G
        count: 1
  - name: broken
    provider: bash
    commands:
      - exit 5
  - name: slow
    provider: bash
    commands:
      - sleep 1
      - echo done
`

const cli = (args: string[]) => runCli(args)

let repo: { dir: string; cleanup: () => void }
let store: string
let work: string
const saved = process.env.DSTACK_WORK_ROOT
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  writeFileSync(join(repo.dir, 'notes.txt'), 'not committed\n')
  store = mkdtempSync(join(tmpdir(), 'cli-scripts-store-'))
  work = mkdtempSync(join(tmpdir(), 'cli-scripts-work-'))
  process.env.DSTACK_WORK_ROOT = work
})
afterAll(() => {
  repo.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
  if (saved === undefined) delete process.env.DSTACK_WORK_ROOT
  else process.env.DSTACK_WORK_ROOT = saved
})
const R = () => ['-C', repo.dir, '--store', store]
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('dstack-run for scripts', () => {
  let runName = ''
  it('run --json: one JSON document on stdout, numbers and lists typed, logs on stderr', async () => {
    const r = await cli(['run', ...R(), 'train', '--json', '--', '--epochs', '3'])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.out) // throws if anything but one document is on stdout
    runName = doc.record.run
    expect(doc.outputs).toMatchObject({ 'run-name': runName, status: 'succeeded', 'exit-code': 0, attempts: 1, tags: [], cost: null })
    expect(typeof doc.outputs.duration).toBe('number')
    expect(doc.outputs.artifacts).toEqual([expect.objectContaining({ path: 'model/w.txt', size: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })])
    expect(r.err).toContain('training with --epochs 3')
  })

  it('prints the result once, with correct plurals, and says the run was on this host', async () => {
    const r = await cli(['run', ...R(), 'train'])
    expect(r.code).toBe(0)
    expect(r.err.split('\n').filter((l) => /\b[a-z]+-[a-z]+-\d+\b.*\bsucceeded\b/.test(l))).toHaveLength(1)
    expect(r.err).toContain('artifacts (1 file):')
    expect(r.out).toMatch(/\[dstack\] run [a-z]+-[a-z]+-\d+, workflow train, attempt 1, revision [0-9a-f]{40}, on this host\n/)
  })

  it('--version prints the package version', async () => {
    const r = await cli(['--version'])
    expect(r.code).toBe(0)
    expect(r.out.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version)
  })

  it('help: every verb has a description, verbs have examples and their --json shape', async () => {
    const top = await cli(['--help'])
    expect(top.code).toBe(0)
    const verbs = [...top.out.matchAll(/^ {2}([a-z]+)(?: \[options\]| <| \[| +)/gm)].map((m) => m[1]).filter((v) => v !== 'help')
    expect(verbs).toEqual(expect.arrayContaining(['run', 'ps', 'logs', 'artifacts', 'tags']))
    for (const line of top.out.split('\n').filter((l) => /^ {2}[a-z]/.test(l))) expect(line.trim()).toMatch(/\S {2,}\S/)
    expect(top.out).toContain('Examples:')
    for (const sub of [['artifacts'], ['tags']]) {
      const h = await cli([...sub, '--help'])
      for (const line of h.out.split('\n').filter((l) => /^ {2}(list|add|delete|download)\b/.test(l))) expect(line.trim()).toMatch(/\S {2,}\S/)
    }
    const run = await cli(['run', '--help'])
    expect(run.out).toMatch(/Examples:\n {2}\$ dstack-run run train/)
    expect(run.out).toMatch(/--json output \(exactly one JSON document on stdout\)/)
    const al = await cli(['artifacts', 'list', '--help'])
    expect(al.out).toContain('[ { path, size: number, sha256, url } ]')
  })

  it('logs --attempt beyond the run\'s attempts is an error', async () => {
    for (const n of ['9', '0', 'x']) {
      const r = await cli(['logs', ...R(), runName, '--attempt', n])
      expect(r.code).toBe(1)
      expect(r.err).toContain(`--attempt ${n}: run ${runName} has 1 attempt`)
      expect(r.out).toBe('')
    }
    expect((await cli(['logs', ...R(), runName, '--attempt', '1'])).out).toContain('training with --epochs 3')
  })

  it('an error under --json is still one JSON document', async () => {
    const r = await cli(['artifacts', 'list', ...R(), ':no-such-tag', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toEqual({ error: expect.stringContaining('no tag `no-such-tag`'), hint: expect.any(String) })
  })

  it('a broken workflow file under run --json is one JSON document too', async () => {
    const broken = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: a\n    provider: bash\n    comands: [echo]\n' })
    try {
      const r = await cli(['run', '-C', broken.dir, '--store', store, 'a', '--json'])
      expect(r.code).toBe(1)
      expect(JSON.parse(r.out)).toEqual({ error: '1 problem in the workflow files', problems: [expect.stringMatching(/^.dstack\/workflows.yaml:4:5: .*comands.*did you mean `commands`/)] })
    } finally {
      broken.cleanup()
    }
  })

  it('warns with the fix when a command names an untracked file', async () => {
    const r = await cli(['run', ...R(), 'reads-notes'])
    expect(r.err).toContain("warning: workflow `reads-notes` names `notes.txt`, which git does not track: it is not sent with the run's code. Commit it (git add notes.txt), or send untracked files with --include-untracked")
    expect(r.code).not.toBe(0)
    const ok = await cli(['run', ...R(), 'reads-notes', '--include-untracked'])
    expect(ok.code).toBe(0)
    expect(ok.err).not.toContain('git does not track')
  })

  it('warns with the fix when a GPU workflow runs on a host without a GPU', async () => {
    const r = await cli(['run', ...R(), 'gpu'])
    expect(r.code).toBe(0)
    const warning = 'warning: workflow `gpu` asks for 1 GPU (resources.gpu: A10G:1..), but this host has none'
    if (hostHasGpu()) expect(r.err).not.toContain(warning)
    else expect(r.err).toContain(`${warning} (no /dev/nvidia*, /dev/kfd or nvidia-smi): the job runs without one. Run it on a GPU instance with --backend aws`)
  })

  it('removes the work folder after a success, keeps it after a failure and says so', async () => {
    const ok = JSON.parse((await cli(['run', ...R(), 'train', '--json'])).out).record.run as string
    expect(existsSync(join(work, ok))).toBe(false)
    const failed = await cli(['run', ...R(), 'broken'])
    expect(failed.code).toBe(5)
    const name = /run ([a-z]+-[a-z]+-\d+) failed/.exec(failed.err)![1]!
    expect(failed.out).toContain(`[dstack] work folder kept to look into, as the run failed: ${join(work, name, '1')}`)
    expect(existsSync(join(work, name, '1', 'runner', 'job.log'))).toBe(true)
  })

  it('DSTACK_KEEP_WORK=1 keeps the work folder of a success and says so', async () => {
    process.env.DSTACK_KEEP_WORK = '1'
    try {
      const r = await cli(['run', ...R(), 'train'])
      const name = /run ([a-z]+-[a-z]+-\d+) succeeded/.exec(r.err)![1]!
      expect(r.out).toContain(`[dstack] work folder kept (DSTACK_KEEP_WORK=1): ${join(work, name, '1')}`)
      expect(existsSync(join(work, name, '1', 'code', '.dstack', 'workflows.yaml'))).toBe(true)
    } finally {
      delete process.env.DSTACK_KEEP_WORK
    }
  })

  it('a detached run removes its runner folder from the temp dir when it ends', async () => {
    const r = await cli(['run', ...R(), 'slow', '-d', '--json'])
    expect(r.code).toBe(0)
    const { record } = JSON.parse(r.out)
    const name = record.run as string
    const pid = Number(/^local:(\d+)$/.exec(record.attempts[0].machine.id)![1])
    const ours = () => readdirSync(tmpdir()).filter((d) => d.startsWith('dstack-runner-') && existsSync(join(tmpdir(), d, 'runner.sh')) && readFileSync(join(tmpdir(), d, 'runner.sh'), 'utf8').includes(`run ${name},`))
    expect(ours()).toHaveLength(1) // it is there while the runner runs
    const f = await cli(['logs', ...R(), name, '-f']) // returns when the run ended
    expect(f.out).toContain('done')
    while (alive(pid)) await new Promise((res) => setTimeout(res, 50)) // its last step: the runner exits
    expect(ours()).toEqual([])
  })
})
