/**
 * JSON Schema validation with ajv (allErrors). Validators are compiled lazily on first use and
 * cached, so loading this module costs nothing at start-up. ajv errors are mapped back to YAML
 * positions through their `instancePath`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { FieldPath, FileContext } from './source.js'
import { didYouMean } from './suggest.js'
import { workflowsSchema } from './schemas/workflows-schema.js'
import { dstackTaskSchema } from './schemas/dstack-task-schema.js'
import type { JsonSchema } from './schemas/common.js'

export type SchemaName = 'workflows' | 'dstack-task'
const SCHEMAS: Record<SchemaName, JsonSchema> = { workflows: workflowsSchema, 'dstack-task': dstackTaskSchema }

let ajv: Ajv | undefined
const compiled = new Map<SchemaName, ValidateFunction>()
/** milliseconds spent compiling each schema (for the start-up budget) */
export const compileTimesMs: Partial<Record<SchemaName, number>> = {}

export function validatorFor(name: SchemaName): ValidateFunction {
  let v = compiled.get(name)
  if (!v) {
    const t0 = performance.now()
    ajv ??= new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true })
    v = ajv.compile(SCHEMAS[name])
    compileTimesMs[name] = performance.now() - t0
    compiled.set(name, v)
  }
  return v
}

const TYPE_WORDS: Record<string, string> = {
  array: 'a list', object: 'a mapping', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null'
}

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function words(list: string[]): string {
  return list.length <= 1 ? (list[0] ?? '') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`
}

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return []
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function schemaDescription(e: ErrorObject): string | undefined {
  const s = e.parentSchema as JsonSchema | undefined
  return typeof s?.description === 'string' ? s.description : undefined
}

function describe(e: ErrorObject, base: FieldPath): { path: FieldPath; message: string; hint?: string; atKey?: boolean } {
  const path = [...base, ...pathOf(e.instancePath)]
  const p = e.params as Record<string, unknown>
  const hint = schemaDescription(e)
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty)
      const known = Object.keys(((e.parentSchema as JsonSchema | undefined)?.properties as JsonSchema | undefined) ?? {})
      return { path: [...path, key], message: `unknown key \`${key}\``, hint: didYouMean(key, known) ?? `expected one of: ${known.join(', ')}`, atKey: true }
    }
    case 'required':
      return { path, message: `missing required key \`${String(p.missingProperty)}\`` }
    case 'type': {
      const types = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',')
      const got = typeOf(e.data)
      // `- echo a: b` is a one-key mapping to YAML: the usual way a shell command turns into an object
      const colonHint =
        types.includes('string') && got === 'object' && e.data !== null && Object.keys(e.data as object).length === 1
          ? 'a `: ` (colon and space) in an unquoted value makes YAML read it as a mapping: quote the whole value, or use a `|` block'
          : undefined
      // dstack reads YAML 1.1, so an unquoted `yes`, `no`, `on`, `off` is a boolean there and here
      const boolHint = types.includes('string') && got === 'boolean' ? `dstack reads YAML 1.1, where an unquoted \`yes\`, \`no\`, \`on\`, \`off\`, \`true\` or \`false\` is a boolean (here \`${String(e.data)}\`): quote it` : undefined
      return { path, message: `expected ${words(types.map((t) => TYPE_WORDS[t] ?? t))}, got ${TYPE_WORDS[got] ?? got}`, hint: colonHint ?? boolHint ?? hint }
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String)
      return { path, message: `\`${String(e.data)}\` is not one of ${allowed.map((a) => `\`${a}\``).join(', ')}`, hint: didYouMean(String(e.data), allowed) ?? hint }
    }
    case 'pattern':
      return { path, message: `invalid value \`${String(e.data)}\``, hint }
    case 'minimum':
    case 'exclusiveMinimum':
      return { path, message: `${String(e.data)} ${e.message ?? 'is out of range'}`, hint }
    default:
      return { path, message: e.message ?? `fails ${e.keyword}`, hint }
  }
}

/** validate `value` against a schema; every error becomes a problem at its YAML position */
export function checkSchema(ctx: FileContext, name: SchemaName, value: unknown, base: FieldPath = []): boolean {
  const validate = validatorFor(name)
  if (validate(value)) return true
  const seen = new Set<string>()
  for (const e of validate.errors ?? []) {
    const x = describe(e, base)
    const key = JSON.stringify([x.path, x.message])
    if (seen.has(key)) continue
    seen.add(key)
    ctx.report(x.path, x.message, x.hint, x.atKey)
  }
  return false
}
