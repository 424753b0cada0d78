/** The PR / MR comment of `run` and `attach`: one section per workflow, kept up to date (ci/pr-comment.ts). */
import { PrCommenter, commentThreadFromEnv, parseCommentMode } from '../ci/pr-comment.js'
import { groupSectionFor, staleLimit } from '../ci/group-section.js'
import { untrustedDepsAllowed } from '../orchestrate/prepare.js'
import type { RunStore } from '../store/index.js'
import type { CliIo } from './cli-shared.js'

export function cliCommenter(io: CliIo, store: RunStore, repoDir: string, o: Record<string, unknown>): PrCommenter {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  return new PrCommenter({
    mode: parseCommentMode(str(o.comment), '--comment'),
    choose: (pr) => commentThreadFromEnv(io.environ, pr),
    jobUrl: io.environ.CI_JOB_URL,
    urls: (r) => store.artifactLinks(r),
    warn: (m) => void io.err.write(`warning: ${m}\n`),
    groupSection: groupSectionFor({
      store, environ: io.environ, repoDir,
      baseline: str(o.baseline) ?? 'auto',
      lowerIsBetter: str(o.lowerIsBetter),
      higherIsBetter: str(o.higherIsBetter),
      maxCommits: staleLimit(str(o.baselineMaxCommits), '--baseline-max-commits'),
      maxDays: staleLimit(str(o.baselineMaxDays), '--baseline-max-days'),
      untrustedRuns: untrustedDepsAllowed({ environ: io.environ, untrustedDeps: o.untrustedDeps ? true : undefined })
    })
  })
}
