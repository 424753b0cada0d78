/** Discovery on disk, loading several files, duplicate names across files, findWorkflow. */
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { discoverWorkflowFiles, loadWorkflows, findWorkflow, formatProblem } from '../../src/workflows/index.js'
import { UserError, WorkflowErrors } from '../../src/model/index.js'
import { makeRepo, writeFiles } from '../helpers/git-repo.js'
import { fixtureRepo, parseOk } from './helpers.js'

const TASK = 'type: task\ncommands: [echo]\n'
const SEED = 'workflows:\n  - name: s\n    provider: bash\n    commands: [echo]\n'
const TREE: Record<string, string> = {
  '.dstack/workflows.yml': SEED,
  '.dstack/workflows/a.yaml': SEED.replace('name: s', 'name: a'),
  '.dstack/workflows/b.yml': SEED.replace('name: s', 'name: b'),
  '.dstack/workflows/notes.txt': 'not yaml',
  '.dstack/workflows/sub/c.yaml': SEED.replace('name: s', 'name: c'),
  '.dstack.yml': TASK,
  'x/y/z.dstack.yaml': TASK,
  'ignored/i.dstack.yml': TASK,
  'node_modules/p/p.dstack.yml': TASK,
  'dstack.yml': TASK,
  'config.yml': 'a: 1\n',
  '.gitignore': 'ignored/\nnode_modules/\n'
}

const cleanups: (() => void)[] = []
afterAll(() => cleanups.forEach((c) => c()))

function fixture(name: string): string {
  const r = fixtureRepo(name)
  cleanups.push(r.cleanup)
  return r.dir
}

describe('discoverWorkflowFiles', () => {
  it('in a git checkout: seed files, .dstack/workflows/*.y(a)ml, and *.dstack.y(a)ml git does not ignore (untracked included)', async () => {
    const repo = makeRepo(TREE)
    cleanups.push(repo.cleanup)
    writeFiles(repo.dir, { 'new/untracked.dstack.yml': TASK })
    expect(await discoverWorkflowFiles(repo.dir)).toEqual([
      '.dstack.yml',
      '.dstack/workflows.yml',
      '.dstack/workflows/a.yaml',
      '.dstack/workflows/b.yml',
      'new/untracked.dstack.yml',
      'x/y/z.dstack.yaml'
    ])
  })

  it('a deleted tracked file is not listed', async () => {
    const repo = makeRepo({ 'gone.dstack.yml': TASK, 'kept.dstack.yml': TASK })
    cleanups.push(repo.cleanup)
    rmSync(join(repo.dir, 'gone.dstack.yml'))
    expect(await discoverWorkflowFiles(repo.dir)).toEqual(['kept.dstack.yml'])
  })

  it('outside git: walks the tree, skipping .git and node_modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-nogit-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFiles(dir, { ...TREE, '.git/hooks/h.dstack.yml': TASK })
    expect(await discoverWorkflowFiles(dir)).toEqual([
      '.dstack.yml',
      '.dstack/workflows.yml',
      '.dstack/workflows/a.yaml',
      '.dstack/workflows/b.yml',
      'ignored/i.dstack.yml',
      'x/y/z.dstack.yaml'
    ])
  })

  it('this project\'s own discovery does not pick up the test fixtures', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const files = await discoverWorkflowFiles(root)
    expect(files.filter((f) => f.startsWith('__tests__/workflows/'))).toEqual([])
  })

  it('an empty folder has no workflow files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-empty-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    expect(await discoverWorkflowFiles(dir)).toEqual([])
    expect(await loadWorkflows(dir)).toEqual({ specs: [], workflows: [], problems: [], warnings: [], skipped: [], files: [] })
  })
})

describe('loadWorkflows', () => {
  it('loads both formats from a repo, names from files and folders', async () => {
    const repo = makeRepo(TREE)
    cleanups.push(repo.cleanup)
    const r = await loadWorkflows(repo.dir)
    expect(r.problems).toEqual([])
    expect(r.specs.map((s) => `${s.workflow}@${s.source.file}`)).toEqual([
      // the root .dstack.yml has no folder to take a name from
      `default@.dstack.yml`, 's@.dstack/workflows.yml', 'a@.dstack/workflows/a.yaml', 'b@.dstack/workflows/b.yml', 'z@x/y/z.dstack.yaml'
    ])
  })

  it('the valid fixtures load without problems', async () => {
    const seed = await loadWorkflows(fixture('seed-valid'))
    expect(seed.problems).toEqual([])
    expect(seed.specs.map((s) => s.workflow)).toEqual(['train', 'build-image', 'prepare'])
    const task = await loadWorkflows(fixture('task-valid'))
    expect(task.problems).toEqual([])
    expect(task.files).toEqual(['examples/qlora/.dstack.yml', 'train.dstack.yml'])
  })

  it('a duplicate name across two files is one problem naming both places', async () => {
    const r = await loadWorkflows(fixture('duplicates'))
    expect(r.problems).toEqual([{
      file: 'train.dstack.yml', line: 2, column: 7, path: 'name',
      message: 'duplicate workflow name `train`: first defined at .dstack/workflows.yaml:5:11',
      hint: expect.stringMatching(/unique across all workflow files/),
      workflow: 'train'
    }])
    expect(r.specs.map((s) => `${s.workflow}@${s.source.file}`)).toEqual(['prepare@.dstack/workflows.yaml', 'train@.dstack/workflows.yaml'])
  })

  it('problems of every file come back together, formatted file:line:col', async () => {
    const r = await loadWorkflows(fixture('invalid-task'))
    const text = new WorkflowErrors(r.problems).message
    expect(text).toContain('bad.dstack.yml:3:1: comands: unknown key `comands` (did you mean `commands`?)')
    expect(text).toContain('no-type.dstack.yml:1:1: (root): missing `type`')
    expect(text).not.toContain('service.dstack.yml')
    expect(r.skipped).toEqual([expect.objectContaining({ file: 'service.dstack.yml', kind: 'type: service' })])
    expect(text).toContain('syntax.dstack.yml:4:1: (root): YAML syntax error')
    expect(r.problems.map(formatProblem)).toHaveLength(text.split('\n').length)
  })
})

describe('findWorkflow', () => {
  const specs = Object.values(parseOk('.dstack/workflows.yaml', 'workflows:\n' + ['train', 'prepare', 'evaluate'].map((n) => `  - name: ${n}\n    provider: bash\n    commands: [x]\n`).join('')))

  it('finds by exact name', () => {
    expect(findWorkflow(specs, 'prepare').workflow).toBe('prepare')
  })
  it('an unknown name throws a UserError with did-you-mean and the available names', () => {
    expect(() => findWorkflow(specs, 'trian')).toThrow(UserError)
    try {
      findWorkflow(specs, 'trian')
    } catch (e) {
      expect((e as UserError).message).toBe('workflow `trian` not found; did you mean `train`?')
      expect((e as UserError).hint).toBe('available: evaluate, prepare, train')
    }
    expect(() => findWorkflow(specs, 'zzzzzz')).toThrow('workflow `zzzzzz` not found')
    expect(() => findWorkflow([], 'x')).toThrow(/no workflows are defined/)
  })
})
