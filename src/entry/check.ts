/**
 * `dstack-run check --backend aws` and the action's `mode: check`: the AWS preflight as one row
 * per check with its fix, launching nothing. With a workflow, its candidates are checked against
 * the vCPU quotas too.
 */
import { loadWorkflows } from '../workflows/index.js'
import { UserError, WorkflowErrors, type RunSpec, type StoreLocation } from '../model/index.js'
import type { CheckRow } from '../backends/aws/check-rows.js'

export interface CheckInput {
  aws: Record<string, unknown>
  store?: StoreLocation
  repoDir?: string
  workflow?: string
  log?: (line: string) => void
}

export async function runAwsCheck(c: CheckInput): Promise<CheckRow[]> {
  let spec: RunSpec | undefined
  if (c.workflow) {
    const loaded = await loadWorkflows(c.repoDir ?? '.')
    if (loaded.problems.length) throw new WorkflowErrors(loaded.problems)
    spec = loaded.specs.find((s) => s.workflow === c.workflow)
    if (!spec) throw new UserError(`no workflow named ${JSON.stringify(c.workflow)}`, `known: ${loaded.specs.map((s) => s.workflow).join(', ') || 'none'}`)
  }
  const aws = await import('../backends/aws/index.js')
  const backend = aws.createAwsBackend(c.aws)
  try {
    return await backend.check({ spec, store: c.store, log: c.log })
  } finally {
    backend.close()
  }
}

export function checkFailed(rows: CheckRow[]): boolean {
  return rows.some((r) => r.status === 'fail')
}
