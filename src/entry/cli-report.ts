/**
 * `dstack-run report RUN`: prints the run's section exactly as the PR / MR comment would hold it
 * (status, failure with its log tail, metrics against the baseline with charts, the job's report,
 * artifacts), for a look before pushing or to paste somewhere.
 */
import type { Command } from 'commander'
import { resolveRunRef } from './cli-views.js'
import { prepareRunReport } from '../ci/run-report.js'
import { untrustedDepsAllowed } from '../orchestrate/prepare.js'
import { SECTION_MAX_CHARS } from '../report/comment.js'
import { artifactsNote } from '../ci/artifact-place.js'
import { describeStore } from '../model/index.js'
import { withBaselineOptions, type StoreOpts, type VerbDeps } from './cli-shared.js'

export function registerReportCommand(program: Command, d: VerbDeps): void {
  withBaselineOptions(d.withStore(program.command('report')), 'a tag, a run name, `auto` or `none`')
    .description('print the markdown section the PR / MR comment holds for a run')
    .argument('<run>', 'run name, or :TAG')
    .option('--platform <platform>', 'render links and images as for github or gitlab', 'github')
    .option('--max-chars <n>', 'length limit of the section', String(SECTION_MAX_CHARS))
    .action(async (runRef: string, o: StoreOpts & { baseline: string; lowerIsBetter?: string; higherIsBetter?: string; platform: string; maxChars: string }) => {
      const c = await d.ctx(o)
      const record = await resolveRunRef(c.store, await c.repoId(), runRef)
      const manifest = (await c.store.readManifest(record.repoId, record.run)) ?? []
      const links = c.store.artifactLinks(record)
      const report = await prepareRunReport({
        store: c.store,
        environ: d.io.environ,
        record,
        manifest,
        baseline: o.baseline,
        untrustedRuns: untrustedDepsAllowed({ environ: d.io.environ }),
        lowerIsBetter: o.lowerIsBetter,
        higherIsBetter: o.higherIsBetter,
        links,
        jobUrl: record.ciUrl,
        artifactsNote: manifest.length ? artifactsNote({ loc: c.loc, environ: {}, storeUrl: describeStore(c.loc) }) : undefined,
        warn: (m) => void d.io.err.write(`warning: ${m}\n`)
      })
      const max = Number(o.maxChars)
      d.io.out.write(await report.render(o.platform === 'gitlab' ? 'gitlab' : 'github', Number.isFinite(max) && max > 1000 ? max : SECTION_MAX_CHARS))
    })
}
