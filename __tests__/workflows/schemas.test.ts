/** The published JSON Schemas: in sync with the bundled copies, documented, and lazily compiled. */
import { describe, it, expect } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { Ajv } from 'ajv'
import { workflowsSchema } from '../../src/workflows/schemas/workflows-schema.js'
import { dstackTaskSchema } from '../../src/workflows/schemas/dstack-task-schema.js'
import { validatorFor, compileTimesMs } from '../../src/workflows/schema-check.js'
import { readFixture } from './helpers.js'

const published = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url)), 'utf8')) as Record<string, unknown>

const CASES = [
  { file: 'workflows.schema.json', schema: workflowsSchema, name: 'workflows' as const },
  { file: 'dstack-task.schema.json', schema: dstackTaskSchema, name: 'dstack-task' as const }
]

/** every schema under `properties` / `patternProperties`, with its path */
function properties(schema: unknown, path = '#'): [string, Record<string, unknown>][] {
  if (!schema || typeof schema !== 'object') return []
  const s = schema as Record<string, unknown>
  const out: [string, Record<string, unknown>][] = []
  for (const kw of ['properties', 'patternProperties']) {
    for (const [k, v] of Object.entries((s[kw] as Record<string, unknown> | undefined) ?? {})) {
      out.push([`${path}/${k}`, v as Record<string, unknown>])
      out.push(...properties(v, `${path}/${k}`))
    }
  }
  if (s.items) out.push(...properties(s.items, `${path}[]`))
  return out
}

// `UPDATE_SCHEMAS=1 npm test -- __tests__/workflows/schemas` rewrites schemas/*.json from src/workflows/schemas/*.ts
if (process.env.UPDATE_SCHEMAS === '1') {
  for (const c of CASES) writeFileSync(fileURLToPath(new URL(`../../schemas/${c.file}`, import.meta.url)), JSON.stringify(c.schema, null, 2) + '\n')
}

describe.each(CASES)('$file', ({ file, schema, name }) => {
  it('is the same as the schema the code validates with (regenerate with UPDATE_SCHEMAS=1 when this fails)', () => {
    expect(published(file)).toEqual(JSON.parse(JSON.stringify(schema)))
    expect(readFileSync(fileURLToPath(new URL(`../../schemas/${file}`, import.meta.url)), 'utf8')).toBe(JSON.stringify(schema, null, 2) + '\n')
  })

  it('has $id, draft-07 $schema, title, description and examples', () => {
    expect(schema.$id).toBe(`https://raw.githubusercontent.com/dstack/run-action/v1/schemas/${file}`)
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(typeof schema.title).toBe('string')
    expect(typeof schema.description).toBe('string')
    expect(Array.isArray(schema.examples)).toBe(true)
  })

  it('describes every property', () => {
    const props = properties(schema)
    expect(props.length).toBeGreaterThan(20)
    const undocumented = props.filter(([, s]) => typeof s.description !== 'string' || !s.description).map(([p]) => p)
    expect(undocumented).toEqual([])
  })

  it('accepts its own examples', () => {
    const validate = validatorFor(name)
    for (const ex of schema.examples as unknown[]) expect(validate(ex)).toBe(true)
    const ajv = new Ajv({ allowUnionTypes: true, strict: false })
    const bad: string[] = []
    for (const [path, prop] of properties(schema)) {
      const v = ajv.compile(prop)
      for (const ex of (prop.examples as unknown[] | undefined) ?? []) if (!v(ex)) bad.push(`${path}: ${JSON.stringify(ex)}`)
    }
    expect(bad).toEqual([])
  })

  it('is compiled once, on first use, and cached', () => {
    const a = validatorFor(name)
    const b = validatorFor(name)
    expect(a).toBe(b)
    expect(compileTimesMs[name]).toBeGreaterThan(0)
    // measured: ~45 ms (workflows, includes ajv warm-up) and ~20 ms (task) on this machine
    expect(compileTimesMs[name]).toBeLessThan(2000)
  })
})

describe('fixtures against the schemas', () => {
  it('the valid fixtures validate', () => {
    const seed = parseDocument(readFixture('seed-valid', '.dstack/workflows.yaml')).toJS()
    expect(validatorFor('workflows')(seed)).toBe(true)
    const task = parseDocument(readFixture('task-valid', 'train.dstack.yml')).toJS()
    expect(validatorFor('dstack-task')(task)).toBe(true)
  })

  it('the quoted dstack examples of the reference validate', () => {
    const quoted = `workflows:
  - name: "train"
    provider: bash
    deps:
      - tag: some_tag
    python: 3.10
    commands:
      - pip install requirements.txt
      - python src/train.py
    artifacts:
      - path: checkpoint
    resources:
      interruptible: true
      gpu: 1
`
    expect(validatorFor('workflows')(parseDocument(quoted).toJS())).toBe(true)
    const torchrun = 'type: task\nname: train-distrib\nnodes: 2\npython: 3.12\nenv:\n  - NCCL_DEBUG=INFO\ncommands:\n  - echo\nresources:\n  gpu: 1..8\n  shm_size: 16GB\n'
    expect(validatorFor('dstack-task')(parseDocument(torchrun).toJS())).toBe(true)
  })
})
