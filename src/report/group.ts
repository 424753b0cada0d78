/**
 * Pure: a group of runs (a CI matrix over seeds) as numbers and as the workflow's section of the
 * PR / MR comment: how many runs are done, each metric's mean, sd, n and min–max, the verdict of
 * each metric against a baseline group (group-stats.ts), the series as a band (chart.ts), and the
 * group's GPU-hours, dollars and wall time beside the baseline's.
 *
 * The section depends only on what the store holds (never on the job that renders it), so every
 * job of the matrix renders the same markdown from the same store state and concurrent updates
 * of the comment settle on one text (ci/comment-thread.ts).
 */
import type { RunGroup, RunRecord } from '../model/index.js'
import { isTerminal } from '../model/index.js'
import { direction, formatMetric, type DirectionConfig, type Direction, type RunMetrics } from './metrics.js'
import { compareGroups, summarize, formatP, GROUP_VERDICT_MARK, type GroupComparison, type Summary } from './group-stats.js'
import { bandChart } from './chart.js'
import { cellCode, codeSpan, escapeText, link, type LinkPolicy } from './md-escape.js'
import { formatDuration } from './markdown.js'
import { MAX_CHARTS } from './section.js'

export interface GroupRun {
  record: RunRecord
  /** read for succeeded runs that stored metrics */
  metrics?: RunMetrics
}

export interface GroupView {
  workflow: string
  sha: string
  branch?: string
  /** the group's name and expected size; undefined for the runs of a commit without a group */
  group?: RunGroup
  /** oldest first */
  runs: GroupRun[]
}

export interface BaselineGroup {
  /** how it was chosen: `tag latest-main`, `auto: latest trusted train group on main` */
  label: string
  view?: GroupView
  /** why there is none */
  missing?: string
  /** says the baseline is stale: `its commit is 73 commits behind main (limit 50)` */
  stale?: string
}

export interface GroupCost {
  runs: number
  /** sum over attempts of hours × GPUs requested × nodes */
  gpuHours: number
  costUsd?: number
  /** first submit → last end of the group's finished runs */
  wallSec?: number
  /** mean of the finished runs' own durations */
  meanRunSec?: number
}

export interface MetricStats {
  name: string
  direction: Direction
  current?: Summary
  baseline?: Summary
  comparison?: GroupComparison
}

export interface GroupNumbers {
  done: number
  /** the group's expected size, else the runs seen */
  of: number
  succeeded: number
  metrics: MetricStats[]
  cost: GroupCost
  baselineCost?: GroupCost
}

const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits

function gpuCount(r: RunRecord): number {
  const g = r.spec.resources.gpu
  if (!g) return 0
  return g.count.min ?? g.count.max ?? 1
}

export function groupCost(view: GroupView): GroupCost {
  const finished = view.runs.map((g) => g.record).filter((r) => isTerminal(r.status) && r.endedAt)
  let gpuHours = 0
  for (const r of finished) {
    for (const a of r.attempts) {
      if (!a.endedAt) continue
      const h = Math.max(0, Date.parse(a.endedAt) - Date.parse(a.startedAt)) / 3_600_000
      gpuHours += h * gpuCount(r) * Math.max(1, r.spec.nodes ?? 1)
    }
  }
  const costs = finished.map((r) => r.costUsd).filter((c): c is number => typeof c === 'number')
  const starts = finished.map((r) => Date.parse(r.submittedAt))
  const ends = finished.map((r) => Date.parse(r.endedAt!))
  const durations = finished.map((r) => (Date.parse(r.endedAt!) - Date.parse(r.submittedAt)) / 1000)
  return {
    runs: finished.length,
    gpuHours: round(gpuHours),
    costUsd: costs.length ? round(costs.reduce((a, b) => a + b, 0)) : undefined,
    wallSec: finished.length ? Math.round((Math.max(...ends) - Math.min(...starts)) / 1000) : undefined,
    meanRunSec: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : undefined
  }
}

/** metric name → one final value per succeeded run that reported it */
function finals(view: GroupView | undefined): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const g of view?.runs ?? []) {
    if (g.record.status !== 'succeeded' || !g.metrics) continue
    for (const [k, v] of Object.entries(g.metrics.final)) {
      const list = out.get(k) ?? []
      list.push(v)
      out.set(k, list)
    }
  }
  return out
}

export function groupNumbers(view: GroupView, baseline: BaselineGroup | undefined, cfg: DirectionConfig = {}): GroupNumbers {
  const cur = finals(view)
  const base = baseline?.view ? finals(baseline.view) : undefined
  const names = [...cur.keys(), ...[...(base?.keys() ?? [])].filter((k) => !cur.has(k))]
  const metrics = names.map((name): MetricStats => {
    const dir = direction(name, cfg)
    const c = cur.get(name) ?? []
    const b = base?.get(name)
    return {
      name,
      direction: dir,
      current: summarize(c),
      baseline: b ? summarize(b) : undefined,
      comparison: b && c.length ? compareGroups(c, b, dir) : undefined
    }
  })
  const done = view.runs.filter((g) => isTerminal(g.record.status)).length
  return {
    done,
    of: Math.max(view.group?.size ?? 0, view.runs.length),
    succeeded: view.runs.filter((g) => g.record.status === 'succeeded').length,
    metrics,
    cost: groupCost(view),
    baselineCost: baseline?.view ? groupCost(baseline.view) : undefined
  }
}

// the numbers below are ours (digits, signs, `±`, `–`, `…`): safe in a table cell as they are
function meanSd(s: Summary | undefined): string {
  if (!s) return '—'
  return s.sd === undefined ? formatMetric(s.mean) : `${formatMetric(s.mean)} ± ${formatMetric(s.sd)}`
}

function minMax(s: Summary | undefined): string {
  return s ? `${formatMetric(s.min)} – ${formatMetric(s.max)}` : '—'
}

function signed(v: number): string {
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${formatMetric(Math.abs(v))}`
}

function interval(c: GroupComparison | undefined): string {
  if (!c?.ci) return '—'
  return `${signed(c.ci[0])} … ${signed(c.ci[1])}`
}

export function groupTitle(view: GroupView): string {
  return view.group ? `group ${codeSpan(view.group.name)}` : `commit ${codeSpan(view.sha.slice(0, 12))}`
}

export interface GroupSectionContext {
  policy: LinkPolicy
  directions?: DirectionConfig
}

/** the workflow's section of the comment for a group of runs */
export function groupSection(view: GroupView, baseline: BaselineGroup | undefined, ctx: GroupSectionContext): string {
  const nums = groupNumbers(view, baseline, ctx.directions)
  const allDone = nums.done >= nums.of
  const icon = !allDone ? '🏃' : nums.succeeded === nums.of ? '✅' : '⚠️'
  const out: string[] = []
  const what = view.group ? `seed group ${codeSpan(view.group.name)}` : 'runs'
  out.push(`### ${icon} ${codeSpan(view.workflow)} — ${what}: ${nums.done} of ${nums.of} runs done`, '')
  out.push(`Commit ${codeSpan(view.sha.slice(0, 12))}${view.branch ? ` on ${codeSpan(view.branch)}` : ''}; ${nums.succeeded} succeeded.`, '')
  out.push('| Run | Member | Status | Duration | Cost |', '|---|---|---|---|---|')
  for (const g of view.runs) {
    const r = g.record
    const name = link(r.run, r.ciUrl, ctx.policy, { inTable: true })
    const dur = r.endedAt ? formatDuration(Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.submittedAt)) / 1000))) : '…'
    out.push(`| ${name === r.run ? cellCode(r.run) : name} | ${r.group?.member ? cellCode(r.group.member) : '—'} | ${r.status} | ${dur} | ${r.costUsd !== undefined ? `$${r.costUsd.toFixed(4)}` : '—'} |`)
  }
  out.push('')
  out.push(...metricsTable(nums, baseline))
  out.push(...charts(view, baseline))
  out.push(...costTable(nums))
  return out.join('\n')
}

function baselineLine(b: BaselineGroup | undefined): string[] {
  if (!b) return []
  if (!b.view) return [`*No baseline group: ${escapeText(b.missing ?? 'none chosen')} (${escapeText(b.label)}).*`, '']
  const n = b.view.runs.filter((g) => g.record.status === 'succeeded').length
  const lines = [`Baseline group: ${escapeText(b.label)} — ${groupTitle(b.view)}, commit ${codeSpan(b.view.sha.slice(0, 12))}${b.view.branch ? ` on ${codeSpan(b.view.branch)}` : ''}, ${n} succeeded runs.`, '']
  if (b.stale) lines.push(`> ⚠️ **Stale baseline:** ${escapeText(b.stale)}. Run the workflow on the base branch again for a current baseline.`, '')
  return lines
}

function metricsTable(nums: GroupNumbers, b: BaselineGroup | undefined): string[] {
  const out = baselineLine(b)
  if (!nums.metrics.length) {
    out.push(nums.succeeded ? '*No metrics: the jobs wrote none to `$DSTACK_METRICS`.*' : '*No metrics yet: no run of the group has succeeded.*', '')
    return out
  }
  if (b?.view) {
    const count = (v: string) => nums.metrics.filter((m) => m.comparison?.verdict === v).length
    out.push(`**Metrics**: ${count('better')} better, ${count('worse')} worse, ${count('within noise')} within noise (Welch's t-test, two-sided, α = 0.05)`, '')
    out.push('| Metric | This group mean ± sd | n | min – max | Baseline mean ± sd | n | Difference | 95% CI | p | Verdict |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|')
    for (const m of nums.metrics) {
      const c = m.comparison
      const diff = c && Number.isFinite(c.delta) ? signed(c.delta) : '—'
      const verdict = c ? GROUP_VERDICT_MARK[c.verdict] : m.current ? '🆕 new' : '— not reported'
      out.push(
        `| ${cellCode(m.name)} ${m.direction === 'lower' ? '↓' : '↑'} | ${meanSd(m.current)} | ${m.current?.n ?? 0} | ${minMax(m.current)} | ${meanSd(m.baseline)} | ${m.baseline?.n ?? 0} | ${diff} | ${interval(c)} | ${c?.pValue !== undefined ? formatP(c.pValue) : '—'} | ${verdict} |`
      )
    }
    out.push('', '*↓ lower is better, ↑ higher is better (input `lower-is-better` / `higher-is-better` changes it). A verdict needs 2 succeeded runs on each side; "within noise" means the difference could be the seed (p ≥ 0.05).*', '')
  } else {
    out.push('**Metrics**', '')
    out.push('| Metric | Mean ± sd | n | min – max |', '|---|---:|---:|---:|')
    for (const m of nums.metrics) out.push(`| ${cellCode(m.name)} | ${meanSd(m.current)} | ${m.current?.n ?? 0} | ${minMax(m.current)} |`)
    out.push('')
  }
  return out
}

function charts(view: GroupView, b: BaselineGroup | undefined): string[] {
  const seriesOf = (v: GroupView | undefined, name: string) =>
    (v?.runs ?? []).filter((g) => g.record.status === 'succeeded').map((g) => g.metrics?.series[name]).filter((s): s is NonNullable<typeof s> => Boolean(s))
  const names: string[] = []
  for (const g of view.runs) for (const k of Object.keys(g.metrics?.series ?? {})) if (!names.includes(k)) names.push(k)
  const out: string[] = []
  for (const name of names.slice(0, MAX_CHARTS)) {
    const chart = bandChart({ name, current: seriesOf(view, name), baseline: b?.view ? seriesOf(b.view, name) : undefined, baselineLabel: b?.view ? b.label : undefined })
    if (chart) out.push(chart, '')
  }
  if (names.length > MAX_CHARTS) out.push(`*${names.length - MAX_CHARTS} more series not drawn.*`, '')
  return out
}

function costTable(nums: GroupNumbers): string[] {
  const withBase = Boolean(nums.baselineCost)
  const c = nums.cost
  const bc = nums.baselineCost
  const money = (v: number | undefined) => (v === undefined ? '—' : `$${v.toFixed(4)}`)
  const hours = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(2))
  const row = (label: string, a: string, z: string | undefined) => `| ${label} | ${a} |${withBase ? ` ${z ?? '—'} |` : ''}`
  const out = [`**Cost and time** of the ${c.runs} finished runs${withBase ? ` against the baseline group's ${bc!.runs}` : ''}`, '']
  out.push(withBase ? '| | This group | Baseline |' : '| | This group |', withBase ? '|---|---:|---:|' : '|---|---:|')
  out.push(row('GPU-hours', hours(c.gpuHours), hours(bc?.gpuHours)))
  out.push(row('Cost', money(c.costUsd), money(bc?.costUsd)))
  out.push(row('Wall time (first start → last end)', formatDuration(c.wallSec), formatDuration(bc?.wallSec)))
  out.push(row('Mean run time', formatDuration(c.meanRunSec), formatDuration(bc?.meanRunSec)))
  out.push('')
  return out
}
