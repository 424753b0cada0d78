/**
 * Names, tags and env are checked before any work starts: with the CLI on the local backend, a bad
 * request fails before a run is submitted or a job runs, and no run is left `submitted`.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'
import { runWorkflow } from '../../src/orchestrate/index.js'
import { FolderStore, RunStore } from '../../src/store/index.js'
import { LocalBackend } from '../../src/backends/local/index.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - touch "$MARK"
  - name: reserved
    provider: bash
    env:
      - DSTACK_WORK_ROOT=/tmp/elsewhere
    commands:
      - touch "$MARK"
  - name: path
    provider: bash
    env:
      - PATH=/nowhere
    commands:
      - touch "$MARK"
`
const REPO_ID = 'github.com/acme/ml-demo'
let repo: { dir: string; cleanup: () => void }
let root: string
let n = 0

async function cli(args: string[], store: string) {
  let err = ''
  const mark = join(root, `mark-${++n}`)
  const code = await main([...args, '-e', `MARK=${mark}`, '-C', repo.dir, '--store', store], {
    environ: { ...process.env, DSTACK_WORK_ROOT: join(root, 'work') },
    cwd: repo.dir,
    out: { write: () => true },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, err, ran: existsSync(mark) }
}
const runs = (store: string) => (existsSync(join(store, REPO_ID, 'runs')) ? readdirSync(join(store, REPO_ID, 'runs')) : [])

beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  root = mkdtempSync(join(tmpdir(), 'preflight-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(root, { recursive: true, force: true })
})

describe('checked before any work starts', () => {
  it.each([
    ['an invalid tag', ['run', 'train', '--tag', 'bad tag!'], /invalid tag "bad tag!"/],
    ['a tag with a path in it', ['run', 'train', '--tag', '../x'], /invalid tag/],
    ['a reserved env name in the workflow', ['run', 'reserved'], /env name DSTACK_WORK_ROOT is reserved/],
    ['PATH in the workflow', ['run', 'path'], /env name PATH is reserved/],
    ['a reserved env name from -e', ['run', 'train', '-e', 'DSTACK_RUN_NAME=x'], /env name DSTACK_RUN_NAME is reserved/],
    ['an invalid env name from -e', ['run', 'train', '-e', 'A-B=x'], /A-B/]
  ])('%s: exit 1, no run submitted, no job ran', async (_what, args, message) => {
    const store = join(root, `store-${n + 1}`)
    const r = await cli(args, store)
    expect(r.code).toBe(1)
    expect(r.err).toMatch(message)
    expect(r.ran).toBe(false)
    expect(runs(store)).toEqual([])
  })

  it('a tag already taken fails before the run, naming a flag that exists; --force-tag moves it', async () => {
    const store = join(root, 'store-tags')
    const made = await cli(['run', 'train', '--tag', 'best'], store)
    expect(made.code).toBe(0)
    const first = runs(store)
    const again = await cli(['run', 'train', '--tag', 'best'], store)
    expect(again.code).toBe(1)
    expect(again.ran).toBe(false)
    expect(again.err).toContain('tag `best` already exists')
    expect(again.err).toContain('run --force-tag')
    expect(runs(store)).toEqual(first)
    const forced = await cli(['run', 'train', '--tag', 'best', '--force-tag'], store)
    expect(forced.code).toBe(0)
    // a run outside CI is untrusted: its tag is in the untrusted namespace (docs/trust-model.md)
    const tag = JSON.parse(readFileSync(join(store, REPO_ID, 'untrusted-tags', 'best.json'), 'utf8')) as { run: string }
    expect(first).not.toContain(tag.run)
  })

  it('an error after the run was submitted leaves it failed with the reason, not submitted', async () => {
    const store = join(root, 'store-late')
    class ScriptlessStore extends RunStore {
      override async putRunnerScript(): Promise<string> {
        throw new Error('EROFS: read-only file system, open runner.sh')
      }
    }
    const runStore = new ScriptlessStore(new FolderStore(store))
    const mark = join(root, 'late-mark')
    // the launch goes beside the runner script's write: the attempt fails with the write's error, and the job never runs
    const ended = await runWorkflow({
      repoDir: repo.dir,
      workflow: 'train',
      args: [],
      environ: { ...process.env, MARK: mark },
      env: { MARK: mark },
      backend: new LocalBackend(),
      store: runStore,
      storeLocation: { kind: 'folder', root: store },
      signal: new AbortController().signal,
      emit: () => undefined
    })
    expect(ended).toMatchObject({ status: 'failed', reason: expect.stringContaining('EROFS') })
    expect(ended.attempts[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('EROFS') })
    expect(existsSync(mark)).toBe(false)
    const [rec] = await runStore.listRuns(REPO_ID)
    expect(rec).toMatchObject({ status: 'failed', reason: expect.stringContaining('EROFS') })
  })
})
