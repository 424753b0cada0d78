/**
 * `dstack-run metrics RUN [--baseline REF] [--json]`: the final metrics of a run (what its job
 * wrote to $DSTACK_METRICS) against a baseline, as the summary shows them.
 */
import type { Command } from 'commander'
import { resolveRunRef, printTable } from './cli-views.js'
import { readRunMetrics, resolveBaseline } from '../orchestrate/report-data.js'
import { untrustedDepsAllowed } from '../orchestrate/prepare.js'
import { compareMetrics, formatDelta, formatMetric, VERDICT_MARK } from '../report/metrics.js'
import { directionsFrom } from '../ci/run-report.js'
import { withBaselineOptions, type StoreOpts, type VerbDeps } from './cli-shared.js'

export function registerMetricsCommand(program: Command, d: VerbDeps): void {
  withBaselineOptions(d.withStore(program.command('metrics')), 'a tag, a run name, `auto` (the latest succeeded run of the workflow on the base branch / this branch) or `none`')
    .description('print the final metrics of a run (from $DSTACK_METRICS) against a baseline')
    .argument('<run>', 'run name, or :TAG')
    .option('--base-branch <branch>', 'for --baseline auto: the branch to compare with (default: the run\'s own branch)')
    .option('--json', 'JSON output')
    .action(async (runRef: string, o: StoreOpts & { baseline: string; baseBranch?: string; lowerIsBetter?: string; higherIsBetter?: string; json?: boolean }) => {
      const c = await d.ctx(o)
      const rec = await resolveRunRef(c.store, await c.repoId(), runRef)
      const metrics = await readRunMetrics(c.store, rec.repoId, rec.run)
      // outside CI, a laptop's own (untrusted) runs may be the baseline, as for deps (docs/trust-model.md)
      const baseline = await resolveBaseline(c.store, rec, o.baseline, o.baseBranch, { untrustedRuns: untrustedDepsAllowed({ environ: d.io.environ }) })
      const rows = compareMetrics(metrics, baseline?.metrics, directionsFrom(o.lowerIsBetter, o.higherIsBetter))
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
