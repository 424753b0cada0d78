/**
 * AWS's own rules for a request: botocore's service models (the JSON `service-2.json` AWS publishes with
 * its Python SDK and the AWS CLI), read from an installed botocore (or the copy inside Debian's awscli,
 * or AWS_MODELS_DIR), and a checker of a request's input against its operation's input shape: required
 * members, members the operation does not have, types, enums, string lengths, number ranges, list and
 * map sizes. botocore's own ParamValidator checks `min` but not `max` nor enums; this checks all three.
 * Patterns are not checked (some are Java regular expressions).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

interface Shape {
  type: string
  members?: Record<string, { shape: string }>
  required?: string[]
  member?: { shape: string }
  key?: { shape: string }
  value?: { shape: string }
  enum?: string[]
  min?: number
  max?: number
  /** a member that is a document (any JSON) */
  document?: boolean
}

export interface ServiceModel {
  /** botocore's folder name, e.g. `service-quotas` */
  name: string
  apiVersion: string
  serviceId: string
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>
  shapes: Record<string, Shape>
  /** where it was read from */
  file: string
}

export interface Violation {
  /** e.g. `SSM.SendCommand` */
  call: string
  /** e.g. `InstanceIds` or `Filters[0].Values[2]` */
  field: string
  problem: string
}

/** the services the AWS backend and the store use, by the SDK's serviceId */
export const SERVICE_FOLDERS: Record<string, string> = {
  EC2: 'ec2',
  SSM: 'ssm',
  S3: 's3',
  IAM: 'iam',
  STS: 'sts',
  Pricing: 'pricing',
  'Service Quotas': 'service-quotas'
}

let dataDir: string | undefined | null = null
const models = new Map<string, ServiceModel>()

/** botocore's data folder: AWS_MODELS_DIR, else python3's botocore, else Debian awscli's copy; undefined when none */
export function modelsDir(): string | undefined {
  if (dataDir !== null) return dataDir
  const candidates: (string | undefined)[] = [process.env.AWS_MODELS_DIR]
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import botocore,os;print(os.path.join(os.path.dirname(botocore.__file__),"data"))'], { encoding: 'utf8', timeout: 30_000 })
    if (r.status === 0) candidates.push(r.stdout.trim())
  }
  candidates.push('/usr/lib/python3/dist-packages/awscli/botocore/data')
  dataDir = candidates.find((d) => d && existsSync(join(d, 'ec2')))
  return dataDir
}

/** a service's newest model (botocore keeps older API versions beside it) */
export function loadModel(folder: string): ServiceModel {
  const cached = models.get(folder)
  if (cached) return cached
  const dir = modelsDir()
  if (!dir) throw new Error("AWS service models not found: install botocore (python3 -m pip install botocore) or Debian's awscli, or set AWS_MODELS_DIR to botocore's data folder (scripts/install-prereqs.sh does this)")
  const versions = readdirSync(join(dir, folder)).filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v)).sort()
  for (const v of versions.reverse()) {
    for (const f of ['service-2.json', 'service-2.json.gz']) {
      const file = join(dir, folder, v, f)
      if (!existsSync(file)) continue
      const raw = readFileSync(file)
      const json = JSON.parse((f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as {
        metadata: { apiVersion: string; serviceId: string }
        operations: ServiceModel['operations']
        shapes: ServiceModel['shapes']
      }
      const model: ServiceModel = { name: folder, apiVersion: json.metadata.apiVersion, serviceId: json.metadata.serviceId, operations: json.operations, shapes: json.shapes, file }
      models.set(folder, model)
      return model
    }
  }
  throw new Error(`no service-2.json for ${folder} under ${dir}`)
}

/** the model of an SDK client's service (its `config.serviceId`), or undefined for a service we do not check */
export function modelForService(serviceId: string): ServiceModel | undefined {
  const folder = SERVICE_FOLDERS[serviceId]
  return folder ? loadModel(folder) : undefined
}

/** check one request against its operation's input shape */
export function checkRequest(model: ServiceModel, operation: string, input: unknown): Violation[] {
  const call = `${model.serviceId}.${operation}`
  const op = model.operations[operation]
  if (!op) return [{ call, field: '(operation)', problem: `${model.serviceId} has no operation ${operation} in API ${model.apiVersion}` }]
  const out: Violation[] = []
  if (!op.input) {
    if (input && typeof input === 'object' && Object.keys(input).length) out.push({ call, field: '(input)', problem: 'the operation takes no input' })
    return out
  }
  checkValue(model, model.shapes[op.input.shape], op.input.shape, input ?? {}, '', (field, problem) => out.push({ call, field: field || '(input)', problem }))
  return out
}

/** check an answer (a stand-in's) against its operation's output shape: what the SDK would parse from AWS */
export function checkResponse(model: ServiceModel, operation: string, output: unknown): Violation[] {
  const call = `${model.serviceId}.${operation} (answer)`
  const op = model.operations[operation]
  if (!op) return [{ call, field: '(operation)', problem: `${model.serviceId} has no operation ${operation}` }]
  const out: Violation[] = []
  if (!op.output) return out
  const { $metadata: _ignored, ...body } = (output ?? {}) as Record<string, unknown>
  checkValue(model, model.shapes[op.output.shape], op.output.shape, body, '', (field, problem) => out.push({ call, field: field || '(output)', problem }))
  return out
}

type Report = (field: string, problem: string) => void

function checkValue(model: ServiceModel, shape: Shape | undefined, shapeName: string, value: unknown, path: string, report: Report): void {
  if (value === undefined || value === null) return
  if (!shape) return report(path, `unknown shape ${shapeName}`)
  if (shape.document) return
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) return report(path, `must be an object (${shapeName}), got ${describe(value)}`)
      const obj = value as Record<string, unknown>
      for (const name of shape.required ?? []) if (obj[name] === undefined || obj[name] === null) report(join2(path, name), `required member ${name} of ${shapeName} is missing`)
      for (const [name, v] of Object.entries(obj)) {
        if (v === undefined) continue
        const m = shape.members?.[name]
        if (!m) {
          report(join2(path, name), `${shapeName} has no member ${name} (the SDK would silently drop it)`)
          continue
        }
        checkValue(model, model.shapes[m.shape], m.shape, v, join2(path, name), report)
      }
      return
    }
    case 'list': {
      if (!Array.isArray(value)) return report(path, `must be a list (${shapeName}), got ${describe(value)}`)
      size(shape, shapeName, value.length, 'items', path, report)
      value.forEach((v, i) => checkValue(model, model.shapes[shape.member!.shape], shape.member!.shape, v, `${path}[${i}]`, report))
      return
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) return report(path, `must be a map (${shapeName}), got ${describe(value)}`)
      const entries = Object.entries(value as Record<string, unknown>)
      size(shape, shapeName, entries.length, 'entries', path, report)
      for (const [k, v] of entries) {
        checkValue(model, model.shapes[shape.key!.shape], shape.key!.shape, k, `${path}{key ${JSON.stringify(k)}}`, report)
        checkValue(model, model.shapes[shape.value!.shape], shape.value!.shape, v, `${path}[${JSON.stringify(k)}]`, report)
      }
      return
    }
    case 'string': {
      if (typeof value !== 'string') return report(path, `must be a string (${shapeName}), got ${describe(value)}`)
      if (shape.enum && !shape.enum.includes(value)) return report(path, `${JSON.stringify(value.slice(0, 80))} is not one of ${shapeName}'s values (${shape.enum.slice(0, 12).join(', ')}${shape.enum.length > 12 ? ', …' : ''})`)
      size(shape, shapeName, [...value].length, 'characters', path, report)
      return
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return report(path, `must be an integer (${shapeName}), got ${describe(value)}`)
      range(shape, shapeName, value, path, report)
      return
    }
    case 'float':
    case 'double': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return report(path, `must be a number (${shapeName}), got ${describe(value)}`)
      range(shape, shapeName, value, path, report)
      return
    }
    case 'boolean':
      if (typeof value !== 'boolean') report(path, `must be a boolean (${shapeName}), got ${describe(value)}`)
      return
    case 'timestamp':
      if (!(value instanceof Date) && typeof value !== 'number' && typeof value !== 'string') report(path, `must be a timestamp (${shapeName}), got ${describe(value)}`)
      else if (value instanceof Date && Number.isNaN(value.getTime())) report(path, `is an invalid date (${shapeName})`)
      return
    case 'blob': {
      const ok = typeof value === 'string' || value instanceof Uint8Array || ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function' || typeof (value as { getReader?: unknown }).getReader === 'function' || (typeof Blob !== 'undefined' && value instanceof Blob)
      if (!ok) return report(path, `must be bytes, a string or a stream (${shapeName}), got ${describe(value)}`)
      if (typeof value === 'string' || value instanceof Uint8Array) size(shape, shapeName, typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength, 'bytes', path, report)
      return
    }
    default:
      return
  }
}

function size(shape: Shape, shapeName: string, n: number, unit: string, path: string, report: Report): void {
  if (shape.min !== undefined && n < shape.min) report(path, `has ${n} ${unit}, ${shapeName} needs at least ${shape.min}`)
  if (shape.max !== undefined && n > shape.max) report(path, `has ${n} ${unit}, ${shapeName} allows at most ${shape.max}`)
}

function range(shape: Shape, shapeName: string, n: number, path: string, report: Report): void {
  if (shape.min !== undefined && n < shape.min) report(path, `is ${n}, ${shapeName} needs at least ${shape.min}`)
  if (shape.max !== undefined && n > shape.max) report(path, `is ${n}, ${shapeName} allows at most ${shape.max}`)
}

function join2(path: string, name: string): string {
  return path ? `${path}.${name}` : name
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Date) return 'a date'
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : typeof v
}

export function formatViolations(vs: Violation[]): string {
  return vs.map((v) => `${v.call}: ${v.field}: ${v.problem}`).join('\n')
}
