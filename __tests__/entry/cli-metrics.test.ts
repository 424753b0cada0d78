/**
 * Metrics and reports through the CLI on the local backend, as a user runs them: a job writes
 * $DSTACK_METRICS and $DSTACK_REPORT; the run's `metrics` output (--json, --dotenv), `dstack-run
 * metrics RUN --baseline …` and `dstack-run report RUN` show them against a tagged baseline.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo, git } from '../helpers/git-repo.js'
import { checkMarkdown, parseMermaid, releaseDom } from '../helpers/markdown-check.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - bash train.sh \${{ run.args }}
`
// loss falls from 2 by a factor per step; accuracy is the second argument
const TRAIN = `f=$1; acc=$2
loss=2
for s in 0 1 2 3 4 5 6 7 8 9; do echo "{\\"step\\": $s, \\"loss\\": $loss}" >> "$DSTACK_METRICS"; loss=$(awk "BEGIN{print $loss*$f}"); done
echo "{\\"accuracy\\": $acc}" >> "$DSTACK_METRICS"
printf '## Model card\\n\\nAccuracy **%s**.\\n' "$acc" > "$DSTACK_REPORT"
`

async function cli(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ: { ...process.env, DSTACK_WORK_ROOT: work, ...extraEnv },
    cwd,
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

/** the --json document after the job's log lines on stdout */
/** `run --json`: one document on stdout, outputs typed (lists are lists, metrics an object) */
function jsonOf(out: string): { record: { run: string }; outputs: Record<string, unknown> & { 'artifacts-url'?: string; artifacts?: { url: string }[]; metrics?: Record<string, number> } } {
  return JSON.parse(out)
}

let repo: { dir: string; cleanup: () => void }
let store: string
let work: string
let base: string
let feature: string

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'metrics-store-'))
  work = mkdtempSync(join(tmpdir(), 'metrics-work-'))
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'train.sh': TRAIN })
  const first = await cli(['run', 'train', '--store', store, '--tag', 'latest-main', '--comment', 'false', '--json', '--', '0.7', '0.90'], repo.dir)
  expect(first.code).toBe(0)
  base = jsonOf(first.out).record.run
  git(repo.dir, 'checkout', '-qb', 'feature')
  const second = await cli(['run', 'train', '--store', store, '--comment', 'false', '--json', '--dotenv', 'out.env', '--', '0.5', '0.93'], repo.dir)
  expect(second.code).toBe(0)
  const parsed = jsonOf(second.out)
  feature = parsed.record.run
  expect(parsed.outputs.metrics).toEqual({ loss: expect.closeTo(2 * 0.5 ** 9, 6), accuracy: 0.93 })
})
afterAll(() => {
  releaseDom()
  repo.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

describe('metrics through the CLI', () => {
  it('the dotenv file carries DSTACK_METRICS as one JSON line', () => {
    const line = readFileSync(join(repo.dir, 'out.env'), 'utf8').split('\n').find((l) => l.startsWith('DSTACK_METRICS='))!
    expect(JSON.parse(line.slice('DSTACK_METRICS='.length))).toMatchObject({ accuracy: 0.93 })
  })

  it('`metrics RUN --baseline TAG --json` compares with the tagged run', async () => {
    const r = await cli(['metrics', feature, '--store', store, '--baseline', 'latest-main', '--json'], repo.dir)
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.baseline).toMatchObject({ run: base, label: 'untrusted tag latest-main' }) // a laptop's runs are untrusted: the label says so
    expect(j.rows.map((x: { name: string; verdict: string; direction: string }) => [x.name, x.direction, x.verdict])).toEqual([['loss', 'lower', 'better'], ['accuracy', 'higher', 'better']])
  })

  it('`metrics RUN` prints a table; `auto` on a branch without runs says there is no baseline', async () => {
    const r = await cli(['metrics', feature, '--store', store], repo.dir)
    expect(r.err).toContain('no baseline: no succeeded run of train on feature yet')
    expect(r.out).toMatch(/^METRIC\s+VALUE\s+BETTER\nloss\s+0\.003906\s+lower\naccuracy\s+0\.93\s+higher\n$/)
    const vs = await cli(['metrics', feature, '--store', store, '--baseline', 'auto', '--base-branch', 'main'], repo.dir)
    expect(vs.out).toMatch(/accuracy\s+0\.93\s+0\.9\s+\+0\.03 \(\+3\.3%\)\s+higher\s+🟢 better/)
  })

  it('in a GitLab job, --export-artifacts copies a folder store\'s artifacts for the job and links them', async () => {
    const gitlab = { GITLAB_CI: 'true', CI_PROJECT_URL: 'https://gitlab.example.com/acme/ml', CI_JOB_ID: '321', CI_JOB_URL: 'https://gitlab.example.com/acme/ml/-/jobs/321' }
    const r = await cli(['run', 'train', '--store', store, '--comment', 'false', '--json', '--export-artifacts', 'dstack-artifacts', '--', '0.6', '0.91'], repo.dir, gitlab)
    expect(r.code).toBe(0)
    expect(readFileSync(join(repo.dir, 'dstack-artifacts/_dstack/report.md'), 'utf8')).toContain('Accuracy **0.91**')
    const outputs = jsonOf(r.out).outputs
    expect(outputs['artifacts-url']).toBe('https://gitlab.example.com/acme/ml/-/jobs/321/artifacts/browse/dstack-artifacts/')
    expect(outputs.artifacts![0]!.url).toBe('https://gitlab.example.com/acme/ml/-/jobs/321/artifacts/file/dstack-artifacts/_dstack/metrics.jsonl')
  })

  it('`report RUN` prints the comment section: metrics table, chart, the job report', async () => {
    const r = await cli(['report', feature, '--store', store, '--baseline', ':latest-main'], repo.dir)
    expect(r.code).toBe(0)
    expect(r.out).toContain('**Metrics** against the baseline untrusted tag latest-main')
    expect(r.out).toContain('#### Report from the job\n\n## Model card\n\nAccuracy **0.93**.')
    const check = await checkMarkdown(r.out, [])
    expect(check.problems).toEqual([])
    expect(check.mermaid).toHaveLength(1)
    await parseMermaid(check.mermaid[0]!)
  })
})
