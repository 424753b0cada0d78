/**
 * JSON Schemas of what the store keeps (run.json, status.json, tags/<tag>.json), published as
 * schemas/store-*.schema.json (kept equal by a test). They hold what the readers rely on and
 * allow more, so a newer writer's extra fields do not make a record "damaged" for an older reader.
 */
import { SCHEMA_BASE, type JsonSchema } from '../workflows/schemas/common.js'
import { ACTIVE_STATUSES, TERMINAL_STATUSES } from '../model/status.js'

const str: JsonSchema = { type: 'string' }
const nonEmpty: JsonSchema = { type: 'string', minLength: 1 }
const terminal: JsonSchema = { enum: [...TERMINAL_STATUSES] }

const machine: JsonSchema = {
  type: 'object',
  required: ['id', 'backend'],
  properties: { id: nonEmpty, backend: { enum: ['local', 'aws'] }, pid: { type: 'integer' }, rank: { type: 'integer', minimum: 0 }, privateIp: str }
}

/** one node of a multi-node attempt */
const node: JsonSchema = {
  type: 'object',
  required: ['rank'],
  properties: { rank: { type: 'integer', minimum: 0 }, group: str, machine, status: terminal, exitCode: { type: 'integer' }, reason: str }
}

export const runRecordSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${SCHEMA_BASE}store-run.schema.json`,
  title: 'run.json: one run in the run store',
  type: 'object',
  required: ['run', 'repoId', 'workflow', 'spec', 'revision', 'backend', 'args', 'status', 'submittedAt', 'attempts', 'tags'],
  properties: {
    run: nonEmpty,
    repoId: nonEmpty,
    workflow: nonEmpty,
    spec: { type: 'object' },
    revision: { type: 'object', required: ['sha'], properties: { sha: str } },
    backend: { enum: ['local', 'aws'] },
    args: { type: 'array', items: str },
    status: { enum: [...ACTIVE_STATUSES, ...TERMINAL_STATUSES] },
    reason: str,
    exitCode: { type: 'integer' },
    submittedAt: nonEmpty,
    endedAt: str,
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['n', 'startedAt'],
        properties: { n: { type: 'integer', minimum: 1 }, startedAt: str, endedAt: str, status: terminal, machine, nodes: { type: 'array', items: node } }
      }
    },
    tags: { type: 'array', items: str },
    requestedTag: str,
    group: {
      type: 'object',
      required: ['name'],
      properties: { name: nonEmpty, pipeline: str, size: { type: 'integer', minimum: 1 }, member: str }
    }
  }
}

export const attemptStatusSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${SCHEMA_BASE}store-status.schema.json`,
  title: 'attempts/<n>/status.json (a node of a multi-node attempt: attempts/<n>/nodes/<rank>/status.json): where an attempt is, written by the runner',
  type: 'object',
  required: ['phase'],
  properties: {
    phase: { enum: ['starting', 'code', 'deps', 'setup', 'running', 'uploading', 'done'] },
    status: terminal,
    exitCode: { type: 'integer' },
    reason: str,
    startedAt: str,
    endedAt: str,
    logChunks: { type: 'integer', minimum: 0 },
    scratch: str
  }
}

export const tagRecordSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${SCHEMA_BASE}store-tag.schema.json`,
  title: 'tags/<tag>.json: a name for a succeeded run',
  type: 'object',
  required: ['tag', 'run', 'workflow', 'repoId', 'revision', 'created_at'],
  properties: {
    tag: nonEmpty,
    run: nonEmpty,
    workflow: str,
    repoId: nonEmpty,
    revision: { type: 'object', required: ['sha'], properties: { sha: str } },
    created_at: str,
    manifest_sha256: str
  }
}

export const STORE_SCHEMAS = {
  'store-run.schema.json': runRecordSchema,
  'store-status.schema.json': attemptStatusSchema,
  'store-tag.schema.json': tagRecordSchema
} as const
