/**
 * Every value form of both formats means here what it means in dstack: the fixtures
 * (fixtures/dstack-meaning/*.yml) hold each form with dstack's meaning or refusal beside it, taken
 * from dstack's own source and named there; this runs each through run-action's reader.
 */
import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { parseWorkflowFile } from '../../src/workflows/index.js'

interface FormCase {
  form: string
  source: string
  file: string
  meaning?: Record<string, unknown>
  refused?: string
}

function cases(name: string): [string, FormCase][] {
  const text = readFileSync(fileURLToPath(new URL(`./fixtures/dstack-meaning/${name}`, import.meta.url)), 'utf8')
  const list = parse(text) as FormCase[]
  for (const c of list) expect(Boolean(c.meaning) !== Boolean(c.refused)).toBe(true)
  return list.map((c) => [`${c.form} (${c.source})`, c])
}

describe.each([
  ['task-forms.yml', 'train.dstack.yml'],
  ['seed-forms.yml', '.dstack/workflows.yaml']
])('%s', (fixture, file) => {
  it.each(cases(fixture))('%s', (_, c) => {
    const r = parseWorkflowFile(file, c.file)
    if (c.refused) {
      const re = new RegExp(c.refused)
      expect(r.problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(re)]))
      expect(r.specs).toEqual([])
    } else {
      expect(r.problems).toEqual([])
      expect(r.specs).toHaveLength(1)
      expect(r.specs[0]).toMatchObject(c.meaning!)
    }
  })
})

describe('effective settings: the defaults that differ from dstack\'s, and where each value came from', () => {
  it('says the value, whether the file set it, and dstack\'s own default', async () => {
    const { effectiveSettings } = await import('../../src/workflows/index.js')
    const left = parseWorkflowFile('a.dstack.yml', 'type: task\nname: left\ncommands: [echo]\n').specs[0]!
    expect(effectiveSettings(left)).toEqual([
      { setting: 'spot_policy', value: 'auto', from: 'run-action default', dstackDefault: 'on-demand' },
      { setting: 'retry', value: 'no-capacity, interruption for 1h', from: 'run-action default', dstackDefault: 'off' },
      { setting: 'max_duration', value: '6h', from: 'run-action default', dstackDefault: 'off (no limit)' }
    ])
    const set = parseWorkflowFile('a.dstack.yml', 'type: task\nname: set\ncommands: [echo]\nspot_policy: on-demand\nretry: false\nmax_duration: 90m\n').specs[0]!
    expect(effectiveSettings(set).map((e) => [e.setting, e.value, e.from])).toEqual([
      ['spot_policy', 'on-demand', 'file'], ['retry', 'off', 'file'], ['max_duration', '90m', 'file']
    ])
    const seed = parseWorkflowFile('.dstack/workflows.yaml', 'workflows:\n  - name: w\n    provider: bash\n    commands: [echo]\n    resources:\n      interruptible: yes\n').specs[0]!
    expect(effectiveSettings(seed)[0]).toMatchObject({ value: 'spot', from: 'file' })
  })
})
