/**
 * Reading JSON records back from the store: every read tolerates damage. A truncated file,
 * `null`, `{}` or a record with a missing or mistyped field is a DamagedRecordError that names
 * the file and what is wrong with it (one line), never a TypeError further on.
 */
import { Ajv, type ValidateFunction } from 'ajv'
import { UserError } from '../model/errors.js'
import type { JsonSchema } from '../workflows/schemas/common.js'
import { runRecordSchema, attemptStatusSchema, tagRecordSchema } from './record-schemas.js'

export type RecordKind = 'run' | 'status' | 'tag'
const SCHEMAS: Record<RecordKind, JsonSchema> = { run: runRecordSchema, status: attemptStatusSchema, tag: tagRecordSchema }

/** a store file that exists but cannot be used; `file` is where a human finds it (path or URL) */
export class DamagedRecordError extends UserError {
  constructor(
    readonly file: string,
    readonly why: string
  ) {
    super(`damaged store file ${file}: ${why}`, 'repair or delete that file; nothing else in the store depends on it being readable')
    this.name = 'DamagedRecordError'
  }
}

let ajv: Ajv | undefined
const compiled = new Map<RecordKind, ValidateFunction>()

function validator(kind: RecordKind): ValidateFunction {
  let v = compiled.get(kind)
  if (!v) {
    ajv ??= new Ajv({ allErrors: false, strict: true })
    v = ajv.compile(SCHEMAS[kind])
    compiled.set(kind, v)
  }
  return v
}

function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > max ? t.slice(0, max) + '…' : t
}

/** JSON text → a record of that kind, or a DamagedRecordError naming `file` */
export function parseRecord<T>(text: string, kind: RecordKind, file: string): T {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new DamagedRecordError(file, text.trim() === '' ? 'the file is empty' : `not valid JSON (${oneLine((err as Error).message)})`)
  }
  const v = validator(kind)
  if (!v(value)) {
    const e = v.errors?.[0]
    const where = e?.instancePath ? `field ${e.instancePath.slice(1).replace(/\//g, '.')}` : 'the record'
    throw new DamagedRecordError(file, value === null ? 'it holds null' : `${where} ${oneLine(e?.message ?? 'is invalid')}`)
  }
  return value as T
}
