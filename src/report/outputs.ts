/**
 * Pure: a finished run → the step outputs (names as in action.yml). Every value is a string;
 * lists are JSON. The same map feeds GitHub outputs, the GitLab dotenv and the CLI's --json.
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { nodeCount, nodeStatusesOutput } from './node-results.js'

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

export function runDurationSec(r: RunRecord): number | undefined {
  if (!r.endedAt) return undefined
  return Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.submittedAt)) / 1000))
}

export function runOutputs(r: RunRecord, manifest: ManifestEntry[], ctx: OutputContext): Record<string, string> {
  const last = r.attempts[r.attempts.length - 1]
  const m = last?.machine
  const artifacts: ArtifactOutput[] = manifest.map((e) => ({ ...e, url: ctx.artifactUrl(e.path) }))
  const out: Record<string, string> = {
    'run-name': r.run,
    workflow: r.workflow,
    status: r.status,
    'exit-code': String(r.exitCode ?? (r.status === 'succeeded' ? 0 : 1)),
    reason: r.reason ?? '',
    revision: r.revision.sha,
    'repo-id': r.repoId,
    artifacts: JSON.stringify(artifacts),
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
  if (ctx.workflowArtifactUrl) out['workflow-artifact-url'] = ctx.workflowArtifactUrl
  if (ctx.metrics !== undefined) out.metrics = ctx.metrics
  if (r.provenance?.statementKey && ctx.storeUrl) out.provenance = ctx.storeUrl(r.provenance.statementKey)
  return out
}
