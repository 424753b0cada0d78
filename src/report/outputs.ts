/**
 * Pure: a finished run → the step outputs (names as in action.yml). Every value is a string;
 * lists are JSON. The same map feeds GitHub outputs, the GitLab dotenv and the CLI's --json.
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { nodeCount, nodeStatusesOutput } from './node-results.js'
import { capOutputs } from './output-caps.js'

export interface ArtifactOutput extends ManifestEntry {
  url: string
}

export interface OutputContext {
  /** URL of one artifact file, from the store */
  artifactUrl: (path: string) => string
  /** URL of the run's artifacts folder */
  artifactsUrl: string
  /** a workflow-artifact link (upload-artifact: true) */
  workflowArtifactUrl?: string
  /** final metric values as JSON (report/metrics.ts metricsOutput) */
  metrics?: string
  /** where a store key is (a path for folder stores, an https URL for S3): for the provenance statement */
  storeUrl?: (key: string) => string
}

/**
 * bytes the `artifacts` output may hold: GitHub documents 1 MB per output (and 50 MB per job); the
 * list stops before it, and `artifacts-truncated` says how many entries are left out (the whole
 * list is the run's artifacts.json, at `artifacts-url`)
 */
export const ARTIFACTS_OUTPUT_MAX_BYTES = 900 * 1024

/** the JSON list of as many whole entries as fit in `max` bytes, and how many were left out */
export function cappedJsonList(items: unknown[], max = ARTIFACTS_OUTPUT_MAX_BYTES): { json: string; left: number } {
  const parts: string[] = []
  let size = 2
  for (const it of items) {
    const j = JSON.stringify(it)
    const add = Buffer.byteLength(j) + (parts.length ? 1 : 0)
    if (size + add > max) break
    parts.push(j)
    size += add
  }
  return { json: `[${parts.join(',')}]`, left: items.length - parts.length }
}

export function runDurationSec(r: RunRecord): number | undefined {
  if (!r.endedAt) return undefined
  return Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.submittedAt)) / 1000))
}

export function runOutputs(r: RunRecord, manifest: ManifestEntry[], ctx: OutputContext): Record<string, string> {
  const last = r.attempts[r.attempts.length - 1]
  const m = last?.machine
  const artifacts: ArtifactOutput[] = manifest.map((e) => ({ ...e, url: ctx.artifactUrl(e.path) }))
  const list = cappedJsonList(artifacts)
  const out: Record<string, string> = {
    'run-name': r.run,
    workflow: r.workflow,
    status: r.status,
    'exit-code': String(r.exitCode ?? (r.status === 'succeeded' ? 0 : 1)),
    reason: r.reason ?? '',
    revision: r.revision.sha,
    'repo-id': r.repoId,
    artifacts: list.json,
    'artifacts-url': ctx.artifactsUrl,
    tags: JSON.stringify(r.tags),
    duration: String(runDurationSec(r) ?? ''),
    attempts: String(r.attempts.length),
    nodes: String(nodeCount(r)),
    'node-statuses': nodeStatusesOutput(r),
    'instance-id': m && m.backend === 'aws' ? m.id : '',
    'instance-type': m?.instanceType ?? '',
    market: m?.market ?? '',
    cost: r.costUsd !== undefined ? r.costUsd.toFixed(4) : ''
  }
  if (list.left) out['artifacts-truncated'] = String(list.left)
  if (ctx.workflowArtifactUrl) out['workflow-artifact-url'] = ctx.workflowArtifactUrl
  if (ctx.metrics !== undefined) out.metrics = ctx.metrics
  if (r.provenance?.statementKey && ctx.storeUrl) out.provenance = ctx.storeUrl(r.provenance.statementKey)
  return capOutputs(out)
}
