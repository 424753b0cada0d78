/** `working_dir` that leaves the repository is an error at its file and line, never silently `.`. */
import { describe, it, expect } from '@jest/globals'
import { parseWorkflowFile, formatProblem } from '../../src/workflows/index.js'

const seed = (wd: string) => `workflows:\n  - name: train\n    provider: bash\n    working_dir: ${wd}\n    commands:\n      - pwd\n`
const task = (wd: string) => `type: task\nworking_dir: ${wd}\ncommands:\n  - pwd\n`

describe('working_dir outside the repository', () => {
  it.each(['..', '"./.."', '"../"', '" .. "', '...', '".../"', 'a/../..', '"././.."'])('seed format %s: a problem at line 4', (wd) => {
    const r = parseWorkflowFile('.dstack/workflows.yaml', seed(wd))
    if (wd === '...' || wd === '".../"') {
      // `...` is a folder name, not the parent: it stays inside (and is not `.`)
      expect(r.problems).toEqual([])
      expect(r.specs[0]!.workingDir).toBe('...')
      return
    }
    expect(r.specs).toEqual([])
    expect(r.problems).toHaveLength(1)
    expect(formatProblem(r.problems[0]!)).toMatch(/^\.dstack\/workflows\.yaml:4:\d+: workflows\[0\]\.working_dir: .*\.\./)
  })

  it.each(['..', '"./.."'])('task format %s: a problem at line 2', (wd) => {
    const r = parseWorkflowFile('train.dstack.yml', task(wd))
    expect(r.specs).toEqual([])
    expect(formatProblem(r.problems[0]!)).toMatch(/^train\.dstack\.yml:2:\d+: working_dir: /)
  })

  it.each(['.', './', '"././"'])('%s is the repository root', (wd) => {
    const r = parseWorkflowFile('.dstack/workflows.yaml', seed(wd))
    expect(r.problems).toEqual([])
    expect(r.specs[0]!.workingDir).toBe('.')
  })
})
