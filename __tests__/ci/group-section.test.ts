/**
 * Groups read from a real folder store (orchestrate/group-data.ts) and their section written into
 * one shared comment by several jobs at once (ci/group-section.ts + comment-thread.ts): the jobs of
 * a matrix finish while the others still run, and the comment ends on what the store holds.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore } from '../../src/store/index.js'
import type { RunRecord } from '../../src/model/index.js'
import { loadGroup, resolveBaselineGroup } from '../../src/orchestrate/group-data.js'
import { groupSectionSource } from '../../src/ci/group-section.js'
import { upsertSection, type CommentThread, type ThreadComment } from '../../src/ci/comment-thread.js'
import { parseSections } from '../../src/report/comment.js'
import { PrCommenter } from '../../src/ci/pr-comment.js'
import { groupRecord, metricsFile, putBaselineGroup, putGroupRun, putPrGroup, MAIN_RUNS, PR_FINALS, PR_RUNS, MAIN_FINALS } from '../report/group-fixtures.js'

const ENV = { GITHUB_SERVER_URL: 'https://github.com' }
let dir: string
let store: RunStore
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'group-section-'))
  store = new RunStore(new FolderStore(dir))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const prRun = (i: number, over: Partial<Parameters<typeof groupRecord>[0]> = {}): RunRecord =>
  groupRecord({ run: PR_RUNS[i]!, seed: i + 1, branch: 'feature/better-lr', start: i, minutes: 30 + i * 3, ...over })

describe('seed group: which runs form one', () => {
  it('the runs of one workflow at one commit with the same group name and pipeline, oldest first', async () => {
    await putPrGroup(store, 3)
    await putGroupRun(store, prRun(0, { run: 'other-pipe-1', pipeline: '78' }))
    await putGroupRun(store, prRun(0, { run: 'other-name-1', group: 'lrs' }))
    await putGroupRun(store, prRun(0, { run: 'no-group-1', group: null }))
    await putBaselineGroup(store)
    const view = await loadGroup(store, prRun(4, { status: 'running' }))
    expect(view.runs.map((g) => g.record.run)).toEqual(PR_RUNS)
    expect(view.group).toEqual({ name: 'seeds', pipeline: '77', size: 5, member: undefined })
    expect(view.runs.map((g) => g.metrics?.final.accuracy)).toEqual([0.91, 0.92, 0.93, undefined, undefined])
    // runs without a group at one commit are a group of their own
    expect((await loadGroup(store, prRun(0, { run: 'no-group-1', group: null }))).runs.map((g) => g.record.run)).toEqual(['no-group-1'])
  })
})

describe('baseline group', () => {
  it('auto: the latest trusted group of the workflow on the base branch; untrusted runs are skipped', async () => {
    await putBaselineGroup(store)
    // a newer group on main started by an untrusted trigger (issue #19's `trust`), and a failed run
    for (const [i, run] of ['sly-fox-1', 'sly-fox-2'].entries()) {
      const r = groupRecord({ run, seed: i + 1, branch: 'main', start: 100 + i, minutes: 5, day: '2026-02-20', pipeline: '55', trust: false })
      await putGroupRun(store, { ...r, revision: { ...r.revision, sha: 'e'.repeat(40) } }, metricsFile([0.5, 0.5, 1], i, 'main'))
    }
    const b = await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'main', now: () => new Date('2026-02-21T00:00:00Z') })
    expect(b?.label).toBe('auto: latest trusted train group on main')
    expect(b?.view?.runs.map((g) => g.record.run)).toEqual(MAIN_RUNS)
    expect(b?.view?.runs.map((g) => g.metrics?.final.accuracy)).toEqual(MAIN_FINALS.map((f) => f[0]))
    expect(b?.stale).toBeUndefined()
  })

  it('a tag on one run names its whole group; an unknown ref says so', async () => {
    await putBaselineGroup(store)
    await store.addTag('github.com/acme/ml', 'best-seeds', MAIN_RUNS[3]!)
    const b = await resolveBaselineGroup(store, prRun(0), 'best-seeds', { baseBranch: 'main', now: () => new Date('2026-02-11T00:00:00Z') })
    expect(b?.label).toBe('tag best-seeds')
    expect(b?.view?.runs).toHaveLength(5)
    expect(await resolveBaselineGroup(store, prRun(0), 'nope', {})).toEqual({ label: 'run nope', missing: 'no tag or run nope in github.com/acme/ml' })
    expect((await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'release-2' }))?.missing).toBe('no succeeded, trusted run of train on release-2 yet')
  })

  it('stale baseline: more commits behind the base than allowed, or older than allowed, is said; within both it is not', async () => {
    await putBaselineGroup(store)
    const at = (iso: string) => () => new Date(iso)
    const fresh = await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'main', commitsBehind: async () => 3, now: at('2026-02-12T00:00:00Z') })
    expect(fresh?.stale).toBeUndefined()
    const byCommits = await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'main', commitsBehind: async () => 21, maxCommits: 20, now: at('2026-02-12T00:00:00Z') })
    expect(byCommits?.stale).toBe('its commit is 21 commits behind main (limit 20)')
    const byDays = await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'main', maxDays: 7, now: at('2026-02-18T12:00:00Z') })
    expect(byDays?.stale).toBe('its runs are 8 days old (limit 7)')
    // git could not tell (a shallow clone): only the age counts
    const unknown = await resolveBaselineGroup(store, prRun(0), 'auto', { baseBranch: 'main', commitsBehind: async () => { throw new Error('shallow') }, now: at('2026-02-12T00:00:00Z') })
    expect(unknown?.stale).toBeUndefined()
  })
})

/** an in-memory PR thread whose every call yields, so concurrent jobs interleave */
class SharedThread implements CommentThread {
  readonly where = 'pull request acme/ml#12'
  comments: ThreadComment[] = []
  history: string[] = []
  next = 1
  beforeUpdate?: () => Promise<void>
  private tick = () => new Promise<void>((r) => setImmediate(r))
  async list() {
    await this.tick()
    return this.comments.map((c) => ({ ...c }))
  }
  async create(body: string) {
    await this.tick()
    const c = { id: String(this.next++), body }
    this.comments.push(c)
    this.history.push(body)
    return { ...c }
  }
  async update(id: string, body: string) {
    const hook = this.beforeUpdate
    this.beforeUpdate = undefined
    await hook?.()
    await this.tick()
    this.comments.find((c) => c.id === id)!.body = body
    this.history.push(body)
  }
  async remove(id: string) {
    await this.tick()
    this.comments = this.comments.filter((c) => c.id !== id)
  }
}

const section = (t: SharedThread) => parseSections(t.comments[0]!.body).find((s) => s.workflow === 'train')!.markdown
const source = (r: RunRecord) => groupSectionSource(r, { store, environ: ENV, baseline: 'auto', baseBranch: 'main', now: () => new Date('2026-03-01T11:00:00Z') })

/** what one job of the matrix does at its end: save its run, then write the group's section */
async function finishJob(t: SharedThread, i: number): Promise<void> {
  await putGroupRun(store, prRun(i), metricsFile(PR_FINALS[i]!, i + 1, 'pr'))
  await upsertSection(t, 'train', source(prRun(i)))
}

describe('concurrent section updates of a seed group', () => {
  it('jobs finishing one after another show "3 of 5 runs done" while the others still run', async () => {
    await putBaselineGroup(store)
    await putPrGroup(store, 0)
    const t = new SharedThread()
    for (const i of [0, 1, 2]) await finishJob(t, i)
    expect(section(t)).toContain('seed group `seeds`: 3 of 5 runs done')
    expect(section(t)).toMatch(/\| \[swift-fox-4\]\(https:\/\/github\.com\/acme\/ml\/actions\/runs\/77\) \| `4` \| running \| … \| — \|/)
    expect(section(t)).toContain('| `accuracy` ↑ | 0.92 ± 0.01 | 3 | 0.91 – 0.93 |')
  })

  it('a job whose section was rendered before another run ended renders it again after its write', async () => {
    await putBaselineGroup(store)
    await putPrGroup(store, 3)
    const t = new SharedThread()
    await upsertSection(t, 'train', source(prRun(2)))
    // job 4 renders (4 of 5 done) but, before its write lands, job 5 saves its run and writes 5 of 5
    t.beforeUpdate = async () => finishJob(t, 4)
    await putGroupRun(store, prRun(3), metricsFile(PR_FINALS[3]!, 4, 'pr'))
    await upsertSection(t, 'train', source(prRun(3)))
    // job 4's stale "4 of 5" landed after job 5's write, then job 4 saw the store change and wrote again
    expect(t.history.some((b) => b.includes('4 of 5 runs done'))).toBe(true)
    expect(t.history[t.history.length - 1]).toContain('5 of 5 runs done')
    expect(section(t)).toContain('seed group `seeds`: 5 of 5 runs done')
    expect(t.comments).toHaveLength(1)
  })

  it('five jobs finishing at the same moment settle on one comment with all five runs', async () => {
    await putBaselineGroup(store)
    await putPrGroup(store, 0)
    const t = new SharedThread()
    await Promise.all([0, 1, 2, 3, 4].map((i) => finishJob(t, i)))
    expect(t.comments).toHaveLength(1)
    expect(section(t)).toContain('seed group `seeds`: 5 of 5 runs done')
    expect(section(t)).toMatch(/\| `accuracy` ↑ \| 0\.93 ± 0\.01581 \| 5 \|.*⚪ within noise \|/)
  })
})

describe('seed group in the PR comment of a run', () => {
  it('a grouped run writes its group\'s section at start and end; an ungrouped run its own', async () => {
    await putBaselineGroup(store)
    await putPrGroup(store, 2)
    const t = new SharedThread()
    const warnings: string[] = []
    const commenter = new PrCommenter({
      mode: 'always',
      choose: () => ({ thread: t }),
      urls: () => ({ artifactUrl: (p) => `https://github.com/a/${p}`, artifactsUrl: 'https://github.com/a' }),
      warn: (m) => void warnings.push(m),
      groupSection: (r) => source(r)
    })
    const running = prRun(2, { status: 'running' })
    await putGroupRun(store, running)
    commenter.onEvent({ type: 'status', status: 'running', record: running })
    while (!t.history.length) await new Promise((r) => setImmediate(r)) // the start's write, before the run ends
    await putGroupRun(store, prRun(2), metricsFile(PR_FINALS[2]!, 3, 'pr'))
    await commenter.finish(prRun(2), [])
    expect(t.history[0]).toContain('seed group `seeds`: 2 of 5 runs done')
    expect(section(t)).toContain('seed group `seeds`: 3 of 5 runs done')
    const { group: _g, ...plain } = prRun(0, { run: 'lone-wolf-1' })
    await new PrCommenter({ mode: 'always', choose: () => ({ thread: t }), urls: () => ({ artifactUrl: (p) => p, artifactsUrl: 'https://github.com/a' }), warn: (m) => void warnings.push(m), groupSection: (r) => source(r) }).finish(plain, [])
    expect(section(t)).toContain('run `lone-wolf-1` succeeded')
    expect(warnings).toEqual([])
  })
})
