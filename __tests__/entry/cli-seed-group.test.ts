/**
 * A seed group end to end through the CLI on the local backend: `run --group seeds` three times on a
 * feature commit (one per seed), twice on main for the baseline group, then `metrics --group` with
 * `--baseline auto` reads both groups back from the store with their verdicts, in text and JSON.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo, git } from '../helpers/git-repo.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - bash train.sh \${{ run.args }}
`
// the loss falls by the first argument per step; the accuracy is the second
const TRAIN = `f=$1; acc=$2
loss=2
for s in 0 1 2 3 4; do echo "{\\"step\\": $s, \\"loss\\": $loss}" >> "$DSTACK_METRICS"; loss=$(awk "BEGIN{print $loss*$f}"); done
echo "{\\"accuracy\\": $acc}" >> "$DSTACK_METRICS"
`

let repo: { dir: string; cleanup: () => void }
let store: string
let work: string
const featureRuns: string[] = []

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ: { ...process.env, DSTACK_WORK_ROOT: work, GITHUB_ACTIONS: '', GITLAB_CI: '' },
    cwd: repo.dir,
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

async function seed(member: string, factor: string, accuracy: string, size?: string): Promise<string> {
  const r = await cli(['run', 'train', '--store', store, '--comment', 'false', '--json', '--group', 'seeds', '--group-member', member, ...(size ? ['--group-size', size] : []), '--', factor, accuracy])
  expect(r.code).toBe(0)
  return (JSON.parse(r.out) as { record: { run: string } }).record.run
}

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'seed-group-store-'))
  work = mkdtempSync(join(tmpdir(), 'seed-group-work-'))
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'train.sh': TRAIN })
  await seed('1', '0.7', '0.90')
  await seed('2', '0.72', '0.91')
  git(repo.dir, 'checkout', '-qb', 'feature')
  writeFileSync(join(repo.dir, 'NOTES.md'), 'a better learning rate\n')
  git(repo.dir, 'add', '-A')
  git(repo.dir, 'commit', '-qm', 'better lr')
  for (const [i, acc] of ['0.95', '0.96', '0.97'].entries()) featureRuns.push(await seed(String(i + 1), String(0.5 + i * 0.01), acc, '3'))
}, 600_000)
afterAll(() => {
  repo.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

describe('seed group through the CLI', () => {
  it('`metrics --group RUN --json` carries the group, the baseline group and every number', async () => {
    const r = await cli(['metrics', '--group', featureRuns[1]!, '--store', store, '--baseline', 'auto', '--base-branch', 'main', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.group.runs.map((x: { run: string; member: string }) => [x.run, x.member])).toEqual(featureRuns.map((run, i) => [run, String(i + 1)]))
    expect(j.group.group).toMatchObject({ name: 'seeds', size: 3 })
    expect([j.done, j.of, j.succeeded]).toEqual([3, 3, 3])
    // a laptop's runs are untrusted; outside CI they may be the baseline, as for deps (docs/trust-model.md)
    expect(j.baseline.label).toBe('auto: latest train group on main')
    expect(j.baseline.group.runs).toHaveLength(2)
    const acc = j.metrics.find((m: { name: string }) => m.name === 'accuracy')
    expect(acc.current).toEqual({ n: 3, mean: expect.closeTo(0.96, 12), sd: expect.closeTo(0.01, 12), min: 0.95, max: 0.97 })
    expect(acc.baseline).toMatchObject({ n: 2, mean: expect.closeTo(0.905, 12) })
    expect(acc.comparison).toMatchObject({ verdict: 'better', method: 'welch', n: { current: 3, baseline: 2 } })
    expect(acc.comparison.pValue).toBeLessThan(0.05)
    expect(acc.comparison.ci95).toHaveLength(2)
    expect(j.metrics.find((m: { name: string }) => m.name === 'loss').direction).toBe('lower')
    expect(j.cost).toMatchObject({ runs: 3, gpuHours: 0 })
  })

  it('`metrics RUN --group` prints the group table; `--baseline none` compares with nothing', async () => {
    const r = await cli(['metrics', featureRuns[0]!, '--group', '--store', store, '--baseline', 'auto', '--base-branch', 'main'])
    expect(r.err).toContain('train group seeds: 3 of 3 runs done, 3 succeeded')
    expect(r.out).toMatch(/accuracy\s+0\.96 ± 0\.01\s+3\s+0\.95 – 0\.97\s+0\.905 ± 0\.007071\s+2\s+0\.055\s+p = 0\.0\d+\s+🟢 better/)
    const one = await cli(['metrics', '--group', featureRuns[0]!, '--store', store, '--baseline', 'none', '--json'])
    expect(JSON.parse(one.out).baseline).toBeNull()
  })
})
