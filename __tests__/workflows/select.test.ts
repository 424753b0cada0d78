/** selectWorkflow: one workflow is judged by its own definition only; checkPlacement: where absolute paths may go. */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadWorkflows, parseWorkflowFile, selectWorkflow, type LoadedWorkflows } from '../../src/workflows/index.js'
import { checkPlacement } from '../../src/orchestrate/placement.js'
import { UserError, WorkflowErrors } from '../../src/model/index.js'
import { parseOk } from './helpers.js'

/** several files as one repository (what loadWorkflows returns), without touching the disk */
function repo(files: Record<string, string>): LoadedWorkflows {
  const parts = Object.entries(files).map(([f, t]) => parseWorkflowFile(f, t))
  return {
    specs: parts.flatMap((p) => p.specs),
    workflows: parts.flatMap((p) => p.workflows),
    problems: parts.flatMap((p) => p.problems),
    warnings: parts.flatMap((p) => p.warnings),
    skipped: parts.flatMap((p) => p.skipped),
    files: Object.keys(files)
  }
}

const GOOD = 'type: task\nname: good\ncommands: [echo]\nuser: root\n'

describe('selectWorkflow', () => {
  it('a valid workflow is selected whatever else is broken, with its own warnings and a count of the other problems', () => {
    const r = repo({ 'good.dstack.yml': GOOD, 'bad.dstack.yml': 'type: task\nname: bad\ncomands: [x]\n', 'syntax.dstack.yml': 'type: task\n  x: [\n' })
    const s = selectWorkflow(r, 'good')
    expect(s.spec.workflow).toBe('good')
    expect(s.warnings.map((w) => w.path)).toEqual(['user'])
    expect(s.otherProblems).toBe(r.problems.length)
    expect(s.otherProblems).toBeGreaterThanOrEqual(2)
  })

  it('a workflow with problems throws only its own', () => {
    const r = repo({ 'good.dstack.yml': GOOD, 'bad.dstack.yml': 'type: task\nname: bad\ncomands: [x]\n' })
    expect(() => selectWorkflow(r, 'bad')).toThrow(WorkflowErrors)
    try {
      selectWorkflow(r, 'bad')
    } catch (e) {
      expect((e as WorkflowErrors).problems.map((p) => [p.file, p.path])).toEqual([['bad.dstack.yml', 'comands']])
    }
  })

  it('a name defined twice is ambiguous: run refuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'select-'))
    try {
      writeFileSync(join(dir, 'a.dstack.yml'), GOOD)
      writeFileSync(join(dir, 'b.dstack.yml'), GOOD)
      const r = await loadWorkflows(dir)
      expect(() => selectWorkflow(r, 'good')).toThrow(/duplicate workflow name `good`: first defined at a\.dstack\.yml/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an unknown name: the problems of files whose workflows could not be read, else "not found" with a suggestion', () => {
    expect(() => selectWorkflow(repo({ 'good.dstack.yml': GOOD, 'syntax.dstack.yml': 'type: task\n  x: [\n' }), 'other')).toThrow(/YAML syntax error/)
    expect(() => selectWorkflow(repo({ 'good.dstack.yml': GOOD }), 'god')).toThrow(/workflow `god` not found; did you mean `good`\?/)
  })

  it('a task file path selects its task; a skipped workflow says why', () => {
    const r = repo({ 'jobs/x.dstack.yml': 'type: task\ncommands: [echo]\n', 'svc.dstack.yml': 'type: service\nname: svc\nport: 80\ncommands: [x]\n' })
    expect(selectWorkflow(r, 'jobs/x.dstack.yml').spec.workflow).toBe('x')
    expect(() => selectWorkflow(r, 'svc')).toThrow(/workflow `svc` \(svc\.dstack\.yml:1, type: service\) cannot run: a service keeps serving requests/)
  })
})

describe('checkPlacement', () => {
  const abs = parseOk('a.dstack.yml', 'type: task\nname: abs\ncommands: [echo]\nartifacts: [/opt/env]\n').abs!
  const rel = parseOk('r.dstack.yml', 'type: task\nname: rel\ncommands: [echo]\nartifacts: [out]\n').rel!
  const img = { ...abs, image: 'python:3.12' }

  it('refuses absolute paths, its own or a dependency\'s, only on the local backend without an image', () => {
    expect(() => checkPlacement(abs, [], 'local')).toThrow(UserError)
    expect(() => checkPlacement(rel, [{ label: 'tag:env', spec: abs }], 'local')).toThrow(/dependency tag:env restores absolute artifact paths \(`\/opt\/env`\)/)
    expect(() => checkPlacement(abs, [], 'aws')).not.toThrow()
    expect(() => checkPlacement(img, [{ label: 'tag:env', spec: abs }], 'local')).not.toThrow()
    expect(() => checkPlacement(rel, [{ label: 'tag:out', spec: rel }], 'local')).not.toThrow()
  })
})
