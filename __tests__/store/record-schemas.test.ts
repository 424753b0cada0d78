/** The store's record schemas: published as schemas/store-*.schema.json, and damage is one clear line. */
import { describe, it, expect } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { STORE_SCHEMAS } from '../../src/store/record-schemas.js'
import { parseRecord, DamagedRecordError } from '../../src/store/records.js'
import { parseManifest } from '../../src/store/run-store.js'

const file = (name: string) => fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url))
// `UPDATE_SCHEMAS=1 npm test -- __tests__/store/record-schemas` rewrites schemas/store-*.json from src/store/record-schemas.ts
if (process.env.UPDATE_SCHEMAS) for (const [name, schema] of Object.entries(STORE_SCHEMAS)) writeFileSync(file(name), JSON.stringify(schema, null, 2) + '\n')

describe('store record schemas', () => {
  it.each(Object.entries(STORE_SCHEMAS))('schemas/%s is the published copy', (name, schema) => {
    expect(readFileSync(file(name), 'utf8')).toBe(JSON.stringify(schema, null, 2) + '\n')
  })

  const RUN = { run: 'a-b-1', repoId: 'github.com/o/r', workflow: 'w', spec: {}, revision: { sha: 'x' }, backend: 'local', args: [], status: 'succeeded', submittedAt: '2026-01-01T00:00:00Z', attempts: [], tags: [] }
  it.each([
    ['truncated', JSON.stringify(RUN).slice(0, 40), /not valid JSON/],
    ['empty', '', /the file is empty/],
    ['null', 'null', /holds null/],
    ['{}', '{}', /must have required property 'run'/],
    ['missing attempts', JSON.stringify({ ...RUN, attempts: undefined }), /attempts/],
    ['a status that does not exist', JSON.stringify({ ...RUN, status: 'pwned' }), /field status must be equal to one of the allowed values/],
    ['tags not a list', JSON.stringify({ ...RUN, tags: 'x' }), /field tags must be array/],
    ['an attempt without a number', JSON.stringify({ ...RUN, attempts: [{ startedAt: 'x' }] }), /field attempts\.0 must have required property 'n'/]
  ])('run.json %s: one line naming the file', (_what, text, why) => {
    let err: unknown
    try {
      parseRecord(text, 'run', '/store/x/run.json')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DamagedRecordError)
    const msg = (err as Error).message
    expect(msg).toMatch(/^damaged store file \/store\/x\/run\.json: /)
    expect(msg).toMatch(why)
    expect(msg).not.toContain('\n')
  })

  it('a record with extra fields from a newer writer is not damaged', () => {
    expect(parseRecord(JSON.stringify({ ...RUN, provenance: { x: 1 } }), 'run', 'f')).toMatchObject({ run: 'a-b-1' })
  })

  it('a damaged manifest names its file', () => {
    expect(() => parseManifest('[{"path":"a","size":-1}]', 's3://b/artifacts.json')).toThrow(/^damaged store file s3:\/\/b\/artifacts\.json: entry 0/)
    expect(() => parseManifest('{', 'm')).toThrow(DamagedRecordError)
  })
})
