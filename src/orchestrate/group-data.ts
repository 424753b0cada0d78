/**
 * Groups of runs read from the store: the runs of one workflow at one commit with the same group
 * (name and pipeline; docs/seed-groups.md), each succeeded run's metrics, and the baseline group
 * (`auto`: the latest trusted group of the workflow on the base branch; a tag or a run name: the
 * group of that run), with whether the baseline is stale.
 */
import type { RunRecord } from '../model/index.js'
import { UserError } from '../model/errors.js'
import type { RunStore } from '../store/index.js'
import type { BaselineGroup, GroupRun, GroupView } from '../report/group.js'
import { readRunMetrics } from './report-data.js'

/** a baseline whose commit is more commits behind the base branch than this is stale */
export const STALE_COMMITS = 50
/** …or more days older than this */
export const STALE_DAYS = 14

/** do two runs belong to one group? */
export function sameGroup(a: RunRecord, b: RunRecord): boolean {
  if (a.workflow !== b.workflow || a.revision.sha !== b.revision.sha) return false
  if (!a.group || !b.group) return !a.group && !b.group
  return a.group.name === b.group.name && (a.group.pipeline ?? '') === (b.group.pipeline ?? '')
}

/** a run whose code is not trusted (docs/trust-model.md; records without `trust` count as untrusted) */
function untrusted(r: RunRecord): boolean {
  return r.trust?.trusted !== true
}

async function withMetrics(store: RunStore, runs: RunRecord[]): Promise<GroupRun[]> {
  const oldestFirst = [...runs].sort((a, b) => (a.submittedAt < b.submittedAt ? -1 : a.submittedAt > b.submittedAt ? 1 : a.run < b.run ? -1 : 1))
  return Promise.all(oldestFirst.map(async (record) => ({ record, metrics: record.status === 'succeeded' ? await readRunMetrics(store, record.repoId, record.run) : undefined })))
}

function viewOf(member: RunRecord, runs: GroupRun[]): GroupView {
  const size = Math.max(0, ...runs.map((g) => g.record.group?.size ?? 0))
  return {
    workflow: member.workflow,
    sha: member.revision.sha,
    branch: member.revision.branch,
    group: member.group ? { ...member.group, size: size || undefined, member: undefined } : undefined,
    runs
  }
}

/** the group `r` belongs to, as the store holds it now (`all`: the repo's runs, when already listed) */
export async function loadGroup(store: RunStore, r: RunRecord, all?: RunRecord[]): Promise<GroupView> {
  const runs = (all ?? (await store.listRuns(r.repoId))).filter((x) => sameGroup(x, r))
  if (!runs.some((x) => x.run === r.run)) runs.push(r)
  return viewOf(r, await withMetrics(store, runs))
}

/**
 * What a group's section was rendered from: each run's name, status and end. Another job of the
 * group that finished in the meantime changes it (ci/comment-thread.ts renders again then).
 */
export function groupFingerprint(view: GroupView): string {
  return view.runs.map((g) => `${g.record.run}:${g.record.status}:${g.record.endedAt ?? ''}`).sort().join(',')
}

export interface BaselineGroupOptions {
  /** the pull / merge request's target branch */
  baseBranch?: string
  /** how many commits `sha` is behind the base branch's head (git), when that can be told */
  commitsBehind?: (sha: string) => Promise<number | undefined>
  maxCommits?: number
  maxDays?: number
  now?: () => Date
  /** untrusted runs and tags may be the baseline too (the deps rule: opt-in in CI, allowed on a laptop) */
  untrustedRuns?: boolean
}

function staleness(base: GroupView, commits: number | undefined, o: BaselineGroupOptions, branch: string | undefined): string | undefined {
  const maxCommits = o.maxCommits ?? STALE_COMMITS
  const maxDays = o.maxDays ?? STALE_DAYS
  const on = branch ? ` ${branch}` : ' the base branch'
  const reasons: string[] = []
  if (commits !== undefined && commits > maxCommits) reasons.push(`its commit is ${commits} commits behind${on} (limit ${maxCommits})`)
  const newest = Math.max(...base.runs.map((g) => Date.parse(g.record.endedAt ?? g.record.submittedAt)))
  const days = Math.floor(((o.now?.() ?? new Date()).getTime() - newest) / 86_400_000)
  if (Number.isFinite(days) && days > maxDays) reasons.push(`its runs are ${days} days old (limit ${maxDays})`)
  return reasons.length ? reasons.join('; ') : undefined
}

/** the baseline group for `ref` (`auto`, a tag, a run name, `none`); `missing` says why there is none */
export async function resolveBaselineGroup(store: RunStore, r: RunRecord, ref: string | undefined, o: BaselineGroupOptions = {}): Promise<BaselineGroup | undefined> {
  const want = (ref ?? '').trim()
  if (!want || want === 'none' || want === 'false') return undefined
  const all = await store.listRuns(r.repoId)
  let pick: RunRecord | undefined
  let label: string
  if (want === 'auto') {
    const branch = o.baseBranch || r.revision.branch
    const trusted = o.untrustedRuns ? '' : 'trusted '
    label = `auto: latest ${trusted}${r.workflow} group on ${branch ?? 'this branch'}`
    if (!branch) return { label, missing: 'the branch of this run is not known, so auto has nothing to compare with' }
    pick = all.find((x) => x.workflow === r.workflow && x.status === 'succeeded' && x.revision.branch === branch && !sameGroup(x, r) && x.submittedAt <= r.submittedAt && (o.untrustedRuns || !untrusted(x)))
    if (!pick) return { label, missing: `no succeeded, ${trusted}run of ${r.workflow} on ${branch} yet` }
  } else {
    const asTag = want.startsWith(':') ? want.slice(1) : want
    let tagRun: string | undefined
    try {
      tagRun = (await store.findTag(r.repoId, asTag, { untrusted: o.untrustedRuns }))?.run
    } catch (e) {
      if (!(e instanceof UserError)) throw e
    }
    label = tagRun ? `tag ${asTag}` : `run ${want}`
    const name = tagRun ?? (want.startsWith(':') ? undefined : want)
    pick = name ? all.find((x) => x.run === name) : undefined
    if (!pick) return { label, missing: `no tag or run ${want} in ${r.repoId}` }
  }
  if (sameGroup(pick, r)) return { label, missing: 'the baseline is this group itself' }
  const members = all.filter((x) => sameGroup(x, pick!) && x.status === 'succeeded' && x.revision.branch === pick!.revision.branch)
  const view = viewOf(pick, await withMetrics(store, members.length ? members : [pick]))
  const commits = o.commitsBehind ? await o.commitsBehind(pick.revision.sha).catch(() => undefined) : undefined
  return { label, view, stale: staleness(view, commits, o, want === 'auto' ? o.baseBranch || r.revision.branch : o.baseBranch) }
}
