/**
 * `dstack-run metrics RUN [--baseline REF] [--json]`: the final metrics of a run (what its job
 * wrote to $DSTACK_METRICS) against a baseline, as the summary shows them.
 * `dstack-run metrics --group RUN|:TAG` (or `metrics RUN --group`): the run's whole group (a CI
 * matrix over seeds) with mean, sd, n and min–max per metric, against the baseline group with
 * Welch's verdict, and the groups' cost and time; `--json` carries every number.
 */
import type { Command } from 'commander'
import { resolveRunRef, printTable } from './cli-views.js'
import { readRunMetrics, resolveBaseline } from '../orchestrate/report-data.js'
import { untrustedDepsAllowed } from '../orchestrate/prepare.js'
import { loadGroup, resolveBaselineGroup } from '../orchestrate/group-data.js'
import { compareMetrics, formatDelta, formatMetric, VERDICT_MARK } from '../report/metrics.js'
import { groupNumbers, type BaselineGroup, type GroupNumbers, type GroupView } from '../report/group.js'
import { formatP, GROUP_VERDICT_MARK, type Summary } from '../report/group-stats.js'
import { directionsFrom } from '../ci/run-report.js'
import { staleLimit } from '../ci/group-section.js'
import { UserError } from '../model/errors.js'
import { withBaselineOptions, type StoreOpts, type VerbDeps } from './cli-shared.js'

type MetricsOpts = StoreOpts & {
  baseline: string
  baseBranch?: string
  lowerIsBetter?: string
  higherIsBetter?: string
  json?: boolean
  group?: string | boolean
  baselineMaxDays?: string
}

export function registerMetricsCommand(program: Command, d: VerbDeps): void {
  withBaselineOptions(d.withStore(program.command('metrics')), 'a tag, a run name, `auto` (the latest succeeded run of the workflow on the base branch / this branch) or `none`; with --group: the group of that run')
    .description('print the final metrics of a run (from $DSTACK_METRICS) against a baseline; with --group, of its whole group of runs against a baseline group')
    .argument('[run]', 'run name, or :TAG')
    .option('--group [run]', 'show the group of this run (a run name or :TAG; default: the <run> argument): mean, sd, n, min-max per metric and a verdict against the baseline group')
    .option('--base-branch <branch>', 'for --baseline auto: the branch to compare with (default: the run\'s own branch)')
    .option('--baseline-max-days <n>', 'with --group: call the baseline group stale when its runs are older than this many days (default 14)')
    .option('--json', 'JSON output')
    .action(async (runArg: string | undefined, o: MetricsOpts) => {
      const c = await d.ctx(o)
      const runRef = typeof o.group === 'string' ? o.group : runArg
      if (!runRef) throw new UserError('no run given', 'name a run (`dstack-run metrics RUN`) or a run of the group (`dstack-run metrics --group RUN`)')
      const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
      const directions = directionsFrom(o.lowerIsBetter, o.higherIsBetter)
      if (o.group !== undefined && o.group !== false) {
        const view = await loadGroup(c.store, rec)
        const baseline = await resolveBaselineGroup(c.store, rec, o.baseline, { baseBranch: o.baseBranch, maxDays: staleLimit(o.baselineMaxDays, '--baseline-max-days'), untrustedRuns: untrustedDepsAllowed({ environ: d.io.environ }) })
        const nums = groupNumbers(view, baseline, directions)
        if (o.json) return void d.json(groupJson(view, baseline, nums))
        return printGroup(d, view, baseline, nums)
      }
      const metrics = await readRunMetrics(c.store, rec.repoId, rec.run)
      // outside CI, a laptop's own (untrusted) runs may be the baseline, as for deps (docs/trust-model.md)
      const baseline = await resolveBaseline(c.store, rec, o.baseline, o.baseBranch, { untrustedRuns: untrustedDepsAllowed({ environ: d.io.environ }) })
      const rows = compareMetrics(metrics, baseline?.metrics, directions)
      if (o.json) {
        return void d.json({ run: rec.run, final: metrics?.final ?? {}, series: Object.keys(metrics?.series ?? {}), baseline: baseline ? { label: baseline.label, run: baseline.run, missing: baseline.missing, final: baseline.metrics?.final } : null, rows })
      }
      if (!metrics) {
        d.io.err.write(`run ${rec.run} stored no metrics (its job writes them to $DSTACK_METRICS, one JSON object per line)\n`)
        return
      }
      if (baseline) d.io.err.write(baseline.missing ? `no baseline: ${baseline.missing}\n` : `baseline: ${baseline.label} (run ${baseline.run})\n`)
      const withBase = Boolean(baseline?.metrics)
      printTable(
        d.io.out,
        withBase ? ['METRIC', 'THIS RUN', 'BASELINE', 'DIFFERENCE', 'BETTER', 'VERDICT'] : ['METRIC', 'VALUE', 'BETTER'],
        rows.map((r) =>
          withBase
            ? [r.name, formatMetric(r.value), formatMetric(r.baseline), formatDelta(r), r.direction, VERDICT_MARK[r.verdict]]
            : [r.name, formatMetric(r.value), r.direction]
        )
      )
    })
}

function viewJson(v: GroupView) {
  return {
    workflow: v.workflow,
    sha: v.sha,
    branch: v.branch ?? null,
    group: v.group ?? null,
    runs: v.runs.map((g) => ({ run: g.record.run, member: g.record.group?.member ?? null, status: g.record.status, costUsd: g.record.costUsd ?? null, final: g.metrics?.final ?? null }))
  }
}

/** every number of the group view, with nulls where there is none */
export function groupJson(view: GroupView, baseline: BaselineGroup | undefined, nums: GroupNumbers) {
  const summary = (s: Summary | undefined) => (s ? { n: s.n, mean: s.mean, sd: s.sd ?? null, min: s.min, max: s.max } : null)
  return {
    group: viewJson(view),
    done: nums.done,
    of: nums.of,
    succeeded: nums.succeeded,
    baseline: baseline ? { label: baseline.label, missing: baseline.missing ?? null, stale: baseline.stale ?? null, group: baseline.view ? viewJson(baseline.view) : null } : null,
    metrics: nums.metrics.map((m) => ({
      name: m.name,
      direction: m.direction,
      current: summary(m.current),
      baseline: summary(m.baseline),
      comparison: m.comparison
        ? { verdict: m.comparison.verdict, method: m.comparison.method, delta: Number.isFinite(m.comparison.delta) ? m.comparison.delta : null, pValue: m.comparison.pValue ?? null, ci95: m.comparison.ci ?? null, df: m.comparison.df ?? null, t: m.comparison.statistic ?? null, n: m.comparison.n }
        : null
    })),
    cost: nums.cost,
    baselineCost: nums.baselineCost ?? null
  }
}

function printGroup(d: VerbDeps, view: GroupView, baseline: BaselineGroup | undefined, nums: GroupNumbers): void {
  const name = view.group ? `group ${view.group.name}` : `runs at ${view.sha.slice(0, 12)}`
  d.io.err.write(`${view.workflow} ${name}: ${nums.done} of ${nums.of} runs done, ${nums.succeeded} succeeded\n`)
  if (baseline) {
    d.io.err.write(baseline.view ? `baseline group: ${baseline.label} (${baseline.view.runs.length} runs at ${baseline.view.sha.slice(0, 12)})\n` : `no baseline group: ${baseline.missing}\n`)
    if (baseline.stale) d.io.err.write(`stale baseline: ${baseline.stale}\n`)
  }
  const ms = (s: Summary | undefined) => (s ? `${formatMetric(s.mean)}${s.sd !== undefined ? ` ± ${formatMetric(s.sd)}` : ''}` : '—')
  printTable(
    d.io.out,
    ['METRIC', 'MEAN ± SD', 'N', 'MIN – MAX', 'BASELINE', 'N', 'DIFFERENCE', 'P', 'VERDICT'],
    nums.metrics.map((m) => [
      m.name,
      ms(m.current),
      String(m.current?.n ?? 0),
      m.current ? `${formatMetric(m.current.min)} – ${formatMetric(m.current.max)}` : '—',
      ms(m.baseline),
      String(m.baseline?.n ?? 0),
      m.comparison && Number.isFinite(m.comparison.delta) ? formatMetric(m.comparison.delta) : '—',
      m.comparison ? formatP(m.comparison.pValue) : '—',
      m.comparison ? GROUP_VERDICT_MARK[m.comparison.verdict] : '—'
    ])
  )
  const c = nums.cost
  const b = nums.baselineCost
  d.io.err.write(`cost: ${c.gpuHours.toFixed(2)} GPU-hours, $${(c.costUsd ?? 0).toFixed(4)}, wall ${c.wallSec ?? 0}s${b ? ` (baseline group: ${b.gpuHours.toFixed(2)} GPU-hours, $${(b.costUsd ?? 0).toFixed(4)}, wall ${b.wallSec ?? 0}s)` : ''}\n`)
}
