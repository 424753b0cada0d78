/**
 * A repository as real teams have them, through the real CLI entry on the local backend: a service,
 * a dev environment, a fleet, a multi-node task (it runs, on two local nodes), a 0.x file mixing bash with `code` and `notebook`
 * workflows, a broken task, two unnamed tasks with the same file name, and a good task. The good
 * one runs end to end; `validate` lists the skipped ones with reasons and the broken one with its
 * position; `validate --json` is one JSON document of the documented shape.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeRepo } from '../helpers/git-repo.js'
import { runCli } from '../helpers/cli-main.js'

const FIXTURE = fileURLToPath(new URL('../workflows/fixtures/mixed-repo', import.meta.url))

/** the fixture's files, `.fixture` suffixes dropped (see __tests__/workflows/fixtures/README.md) */
function fixtureFiles(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(FIXTURE, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const p = relative(FIXTURE, join(e.parentPath, e.name))
    out[p.replace(/\.fixture$/, '')] = readFileSync(join(e.parentPath, e.name), 'utf8')
  }
  return out
}

const cli = (args: string[]) => runCli(args)

describe('a repository that mixes runnable, skipped and broken workflows', () => {
  let repo: { dir: string; cleanup: () => void }
  let store: string
  beforeAll(() => {
    repo = makeRepo({ ...fixtureFiles(), 'README.md': 'demo\n' })
    store = mkdtempSync(join(tmpdir(), 'store-'))
  })
  afterAll(() => {
    repo.cleanup()
    rmSync(store, { recursive: true, force: true })
  })

  it('validate lists the runnable workflows, the skipped ones with reasons, the broken one with its position, and exits 1', async () => {
    const r = await cli(['validate', '-C', repo.dir])
    expect(r.code).toBe(1)
    const table = r.out.split('\nskipped (cannot run in CI):\n')
    expect(table[0]).toMatch(/^WORKFLOW\s+FORMAT\s+SOURCE/)
    for (const [name, source] of [['prepare', '.dstack/workflows.yaml:3'], ['train', 'train.dstack.yml:1']]) {
      expect(table[0]).toMatch(new RegExp(`\\n${name}\\s+\\S+\\s+${source.replace(/[./]/g, '\\$&')}`))
    }
    expect(table[0]).not.toMatch(/\n(ide|explore|llm-endpoint|vscode|gpu-pool|broken)\s/)
    expect(table[0]).toMatch(/\ntrain-distrib\s+dstack\.yml\s+distributed\.dstack\.yml:1/)
    // two unnamed `task.dstack.yml`: names from their paths, unique
    expect(table[0]).toMatch(/\njobs-a-task\s+dstack\.yml\s+jobs\/a\/task\.dstack\.yml:1 \(name from the path\)/)
    expect(table[0]).toMatch(/\njobs-b-task\s+dstack\.yml\s+jobs\/b\/task\.dstack\.yml:1 \(name from the path\)/)
    const skipped = table[1]!
    expect(skipped).toMatch(/\.dstack\/workflows\.yaml:9\s+ide\s+provider: code\s+provider `code` opens VS Code/)
    expect(skipped).toMatch(/\.dstack\/workflows\.yaml:14\s+explore\s+provider: notebook\s+provider `notebook` opens Jupyter/)
    expect(skipped).toMatch(/serving\/\.dstack\.yml:1\s+llm-endpoint\s+type: service\s+a service keeps serving requests/)
    expect(skipped).toMatch(/ide\/\.dstack\.yml:1\s+vscode\s+type: dev-environment\s+a dev environment is interactive/)
    expect(skipped).toMatch(/infra\/fleet\.dstack\.yml:1\s+gpu-pool\s+type: fleet\s+a fleet describes machines/)
    expect(r.err).toContain('broken.dstack.yml:6:8: resources.gpu: gpu spec `A100:2:4` has more than one count (`4`)')
    expect(r.err).toContain('warning: train.dstack.yml:13:1: files: `files` is ignored: the whole repository is already checked out')
    expect(r.err).toMatch(/5 runnable workflows, 5 skipped, 1 problem in 1 file, 1 warning\n$/)
  })

  it('validate --json prints exactly one JSON document with workflows, skipped, problems and warnings', async () => {
    const r = await cli(['validate', '-C', repo.dir, '--json'])
    expect(r.code).toBe(1)
    expect(r.err).toBe('')
    const doc = JSON.parse(r.out) as Record<string, unknown>
    expect(Object.keys(doc)).toEqual(['ok', 'repo', 'files', 'workflows', 'skipped', 'problems', 'warnings', 'specs', 'effective'])
    expect((doc.effective as Record<string, { setting: string; from: string }[]>).train!.map((e) => e.setting)).toEqual(['spot_policy', 'retry', 'max_duration'])
    expect(doc.ok).toBe(false)
    expect(doc.workflows).toEqual(expect.arrayContaining([
      { name: 'train', file: 'train.dstack.yml', line: 1, column: 1, format: 'dstack.yml', derivedName: false },
      { name: 'jobs-a-task', file: 'jobs/a/task.dstack.yml', line: 1, column: 1, format: 'dstack.yml', derivedName: true },
      { name: 'prepare', file: '.dstack/workflows.yaml', line: 3, column: 5, format: 'workflows.yaml', derivedName: false }
    ]))
    expect(doc.skipped).toContainEqual({ file: 'serving/.dstack.yml', line: 1, column: 1, workflow: 'llm-endpoint', kind: 'type: service', reason: expect.any(String) })
    expect((doc.skipped as { workflow: string }[]).map((x) => x.workflow)).not.toContain('train-distrib')
    expect(doc.problems).toEqual([{
      file: 'broken.dstack.yml', line: 6, column: 8, path: 'resources.gpu', workflow: 'broken',
      message: 'gpu spec `A100:2:4` has more than one count (`4`)', hint: expect.stringContaining('colon-separated tokens')
    }])
    expect(doc.warnings).toEqual([expect.objectContaining({ file: 'train.dstack.yml', line: 13, column: 1, path: 'files', workflow: 'train' })])
    expect((doc.specs as { workflow: string }[]).map((s) => s.workflow).sort()).toEqual(['jobs-a-task', 'jobs-b-task', 'prepare', 'train', 'train-distrib'])
  })

  it('validate --json of a clean repository: ok, exit 0, still one document', async () => {
    const clean = makeRepo({ 'a.dstack.yml': 'type: task\ncommands: [echo a]\n' })
    try {
      const r = await cli(['validate', '-C', clean.dir, '--json'])
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out)).toMatchObject({ ok: true, problems: [], skipped: [], warnings: [], workflows: [{ name: 'a', derivedName: true }] })
    } finally {
      clean.cleanup()
    }
  })

  it('run of the good task succeeds whatever else the repository holds, saying in one line that others have problems', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'train', '--json'])
    expect(r.code).toBe(0)
    // --json: the job's lines go to stderr, stdout is one JSON document
    expect(r.err).toContain('trained on ')
    expect(r.err).toContain('warning: train.dstack.yml:13:1: files: `files` is ignored')
    const notices = r.err.split('\n').filter((l) => l.includes('dstack-run validate'))
    expect(notices).toEqual(['warning: other workflows have 1 problem (in 1 file); `train` is not affected; list them with `dstack-run validate`'])
    const { record, outputs } = JSON.parse(r.out) as { record: { status: string }; outputs: { artifacts: { path: string }[] } }
    expect(record.status).toBe('succeeded')
    expect(outputs.artifacts).toEqual([expect.objectContaining({ path: 'model/result.txt' })])
  })

  it('a task without `name:` runs by its derived name or by its file path', async () => {
    for (const ref of ['jobs-b-task', 'jobs/b/task.dstack.yml']) {
      const r = await cli(['run', '-C', repo.dir, '--store', store, ref])
      expect(r.code).toBe(0)
      expect(r.out).toContain('job b')
    }
  })

  it('run of the broken task fails with its own problem and position, nothing else', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'broken'])
    expect(r.code).toBe(1)
    expect(r.err.trim().split('\n').filter((l) => !l.startsWith('»'))).toEqual(['broken.dstack.yml:6:8: resources.gpu: gpu spec `A100:2:4` has more than one count (`4`) (expected colon-separated tokens in any order: vendor (nvidia, amd, google/tpu, intel, tenstorrent/tt), name (A100, or A10G,A100 for alternatives), memory per GPU (24GB, 40GB..80GB), count (2, 1..2, 2..); e.g. `A100:2`, `24GB..40GB:2`, `H100:1..2`, `nvidia`, or an object {vendor, name, count, memory, total_memory, compute_capability})'])
  })

  it('the multi-node task runs on two local nodes; its missing torchrun fails it by dstack\'s rule, naming the node', async () => {
    const multi = await cli(['run', '-C', repo.dir, '--store', store, 'train-distrib'])
    expect(multi.code).toBe(127)
    expect(multi.out).toMatch(/\[node 0\] .*torchrun.*not found/)
    expect(multi.out).toMatch(/\[node 1\] /)
    expect(multi.err).toMatch(/failed: node [01] failed: `commands\[1\]` \(torchrun .*\) exited with 127/)
  })

  it('run of a skipped workflow fails at once with its reason', async () => {
    const ide = await cli(['run', '-C', repo.dir, '--store', store, 'ide'])
    expect(ide.code).toBe(1)
    expect(ide.err).toContain('error: workflow `ide` (.dstack/workflows.yaml:9, provider: code) cannot run: provider `code` opens VS Code')
    // nothing was started or recorded for them
    const ps = JSON.parse((await cli(['ps', '-C', repo.dir, '--store', store, '--json'])).out) as { workflow: string }[]
    expect(ps.map((x) => x.workflow).filter((w) => w === 'ide')).toEqual([])
  })
})
