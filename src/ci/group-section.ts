/**
 * The section of a group of runs (a CI matrix over seeds) in the PR / MR comment, read from the
 * store each time it is written: every job of the matrix renders it from what the store holds, so
 * the jobs that finish at the same time write the same text, and a job whose text was overtaken by
 * a run that ended meanwhile renders it again (comment-thread.ts, `SectionSource`).
 */
import type { RunRecord } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import { loadGroup, groupFingerprint, resolveBaselineGroup, type BaselineGroupOptions } from '../orchestrate/group-data.js'
import { groupSection, type BaselineGroup } from '../report/group.js'
import type { DirectionConfig } from '../report/metrics.js'
import { policyFor } from '../report/md-escape.js'
import type { SectionSource } from './comment-thread.js'
import { directionsFrom } from './run-report.js'
import { UserError } from '../model/errors.js'
import { commitsBehind, gitAt } from '../revision/index.js'

export interface GroupSectionOptions extends BaselineGroupOptions {
  store: RunStore
  environ: Record<string, string | undefined>
  /** input / flag `baseline` */
  baseline?: string
  directions?: DirectionConfig
}

/** the hosts a group section may link to: the CI's own (each run's job link) */
export function groupLinkPolicy(environ: Record<string, string | undefined>) {
  return policyFor([environ.GITHUB_SERVER_URL, environ.CI_SERVER_URL, environ.CI_PROJECT_URL])
}

export function groupSectionSource(record: RunRecord, o: GroupSectionOptions): SectionSource {
  let baseline: Promise<BaselineGroup | undefined> | undefined
  let rendered: string | undefined
  return {
    render: async () => {
      baseline ??= resolveBaselineGroup(o.store, record, o.baseline, o)
      const view = await loadGroup(o.store, record)
      rendered = groupFingerprint(view)
      return groupSection(view, await baseline, { policy: groupLinkPolicy(o.environ), directions: o.directions })
    },
    unchanged: async () => rendered === groupFingerprint(await loadGroup(o.store, record))
  }
}

export interface GroupCommentInputs {
  store: RunStore
  environ: Record<string, string | undefined>
  baseline?: string
  lowerIsBetter?: string
  higherIsBetter?: string
  /** the job's checkout, to count how far the baseline's commit is behind the base branch */
  repoDir?: string
  /** inputs `baseline-max-commits`, `baseline-max-days` */
  maxCommits?: number
  maxDays?: number
  /** untrusted runs may be the baseline group (input `untrusted-deps`; allowed outside CI) */
  untrustedRuns?: boolean
}

/** for PrCommenter: the section source of a grouped run, with the base branch from the CI */
export function groupSectionFor(i: GroupCommentInputs): (record: RunRecord) => SectionSource {
  const baseBranch = i.environ.GITHUB_BASE_REF || i.environ.CI_MERGE_REQUEST_TARGET_BRANCH_NAME || undefined
  return (record) =>
    groupSectionSource(record, {
      store: i.store,
      environ: i.environ,
      baseline: i.baseline,
      baseBranch,
      directions: directionsFrom(i.lowerIsBetter, i.higherIsBetter),
      commitsBehind: i.repoDir ? commitsBehind(gitAt(i.repoDir), { sha: record.revision.baseSha, branch: baseBranch ?? record.revision.branch }) : undefined,
      maxCommits: i.maxCommits,
      maxDays: i.maxDays,
      untrustedRuns: i.untrustedRuns
    })
}

/** `baseline-max-commits` / `baseline-max-days`: a whole number ≥ 0, or empty for the default */
export function staleLimit(value: string | undefined, field: string): number | undefined {
  const v = (value ?? '').trim()
  if (!v) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${field} is ${JSON.stringify(value)}`, 'give a whole number (0 or more)')
  return n
}
