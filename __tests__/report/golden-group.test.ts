/**
 * The golden PR comment of a 5-seed group against a 5-seed baseline group
 * (`__tests__/report/golden/seed-group-vs-baseline.comment.md`), rendered from a store the way each
 * job of the matrix renders it, and checked as the other golden comments are: GFM (marked) with
 * intact tables, only allowed links, no raw HTML, every chart parsed by Mermaid 11 and 10.7.
 * The fixture's statistics have a closed form (group-fixtures.ts): t = 2, 5 and 4 with df = 8,
 * whose two-sided p-values are the t(8) table's. `UPDATE_GOLDEN=1` rewrites the file.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore } from '../../src/store/index.js'
import { mergeSection, COMMENT_MAX_CHARS } from '../../src/report/comment.js'
import { groupSectionSource } from '../../src/ci/group-section.js'
import { loadGroup, resolveBaselineGroup } from '../../src/orchestrate/group-data.js'
import { groupNumbers } from '../../src/report/group.js'
import { checkMarkdown, parseMermaid, releaseDom } from '../helpers/markdown-check.js'
import { groupRecord, putBaselineGroup, putPrGroup, PR_RUNS } from './group-fixtures.js'

const GOLDEN = join(process.cwd(), '__tests__/report/golden')
const ENV = { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/ml', GITHUB_BASE_REF: 'main' }
const now = () => new Date('2026-03-01T11:00:00Z')

let dir: string
let store: RunStore
let comment: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'golden-group-'))
  store = new RunStore(new FolderStore(dir))
  await putBaselineGroup(store)
  await putPrGroup(store)
  const me = groupRecord({ run: PR_RUNS[2]!, seed: 3, branch: 'feature/better-lr', start: 2, minutes: 36 })
  const source = groupSectionSource(me, { store, environ: ENV, baseline: 'auto', baseBranch: 'main', commitsBehind: async () => 73, now })
  comment = mergeSection(undefined, 'train', await source.render())
})
afterAll(() => {
  releaseDom()
  rmSync(dir, { recursive: true, force: true })
})

function golden(file: string, text: string): void {
  const path = join(GOLDEN, file)
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text)
  expect(text).toBe(readFileSync(path, 'utf8'))
}

describe('seed group golden comment: 5 seeds against a 5-seed baseline group', () => {
  it('matches the golden comment and fits a GitHub comment', () => {
    golden('seed-group-vs-baseline.comment.md', comment)
    expect(comment.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
  })

  it('renders as GFM with intact tables, only allowed links, no raw HTML, charts Mermaid parses', async () => {
    const r = await checkMarkdown(comment, ['github.com'])
    expect(r.problems).toEqual([])
    expect(r.tables).toBe(3)
    expect(r.mermaid).toHaveLength(1)
    for (const chart of r.mermaid) await parseMermaid(chart)
    // 4 lines: the group's mean, min, max and the baseline group's mean
    expect(r.mermaid[0]!.match(/^ {4}line \[/gm)).toHaveLength(4)
  })

  it('shows mean ± sd, n, min–max and a verdict per metric with the p-value and interval', () => {
    expect(comment).toContain('seed group `seeds`: 5 of 5 runs done')
    expect(comment).toContain('**Metrics**: 2 better, 1 worse, 1 within noise')
    // accuracy: Δ = 0.02, t = 2, df = 8 → p = 0.0805 (t table): within noise
    expect(comment).toMatch(/\| `accuracy` ↑ \| 0\.93 ± 0\.01581 \| 5 \| 0\.91 – 0\.95 \| 0\.91 ± 0\.01581 \| 5 \| \+0\.02 \| .* \| p = 0\.081 \| ⚪ within noise \|/)
    // val_loss: Δ = −0.05, t = −5 → p = 0.00105: better (lower is better)
    expect(comment).toMatch(/\| `val_loss` ↓ \| 0\.2 ± 0\.01581 \| 5 \| 0\.18 – 0\.22 \| 0\.25 ± 0\.01581 \| 5 \| −0\.05 \| .* \| p = 0\.0011 \| 🟢 better \|/)
    // latency_ms: Δ = +4, t = 4 → p = 0.00395: worse
    expect(comment).toMatch(/\| `latency_ms` ↓ \| 16 ± 1\.581 \| 5 \| 14 – 18 \| 12 ± 1\.581 \| 5 \| \+4 \| .* \| p = 0\.0039 \| 🔴 worse \|/)
  })

  it('baseline group: the latest trusted group on main, said stale (73 commits, 19 days)', () => {
    expect(comment).toContain('Baseline group: auto: latest trusted train group on main — group `seeds`, commit `c0ffee00c0ff` on `main`, 5 succeeded runs.')
    expect(comment).toContain('**Stale baseline:** its commit is 73 commits behind main \\(limit 50\\); its runs are 19 days old \\(limit 14\\)')
  })

  it('cost and time of the group against the baseline group', () => {
    // PR runs 30..42 min at $0.40/h on 1 GPU: 180 min = 3 GPU-hours; main runs 40..48 min: 220 min
    expect(comment).toContain('| GPU-hours | 3.00 | 3.67 |')
    expect(comment).toContain('| Cost | $1.2000 | $1.4667 |')
    expect(comment).toContain('| Wall time (first start → last end) | 46m 0s | 52m 0s |')
  })

  it('hostile members, links and branch names stay text inside their cells', async () => {
    const bad = groupRecord({ run: 'evil-eel-1', seed: 1, branch: 'feature/better-lr', start: 50, minutes: 3, pipeline: '99' })
    const evil = { ...bad, ciUrl: 'javascript:alert(1)', group: { ...bad.group!, member: '1 | <img src=x onerror=alert(1)> [x](https://evil.example)' } }
    await store.saveRun(evil)
    const md = await groupSectionSource(evil, { store, environ: ENV, baseline: 'auto', baseBranch: 'main) <b>x</b> [y](https://evil.example', now }).render()
    const r = await checkMarkdown(md, ['github.com'])
    expect(r.problems).toEqual([])
    expect(r.links).toEqual([])
    expect(md).toContain('1 of 5 runs done')
  })

  it('the numbers behind it are the closed-form t(8) values', async () => {
    const me = groupRecord({ run: PR_RUNS[0]!, seed: 1, branch: 'feature/better-lr', start: 0, minutes: 30 })
    const nums = groupNumbers(await loadGroup(store, me), await resolveBaselineGroup(store, me, 'auto', { baseBranch: 'main', now }))
    const by = Object.fromEntries(nums.metrics.map((m) => [m.name, m.comparison!]))
    expect(by.accuracy!.statistic).toBeCloseTo(2, 10)
    expect(by.accuracy!.df).toBeCloseTo(8, 10)
    expect(by.accuracy!.pValue).toBeCloseTo(0.0805, 4)
    expect(by.val_loss!.statistic).toBeCloseTo(-5, 10)
    expect(by.val_loss!.pValue).toBeCloseTo(0.00105, 5)
    expect(by.latency_ms!.pValue).toBeCloseTo(0.00395, 5)
  })
})
