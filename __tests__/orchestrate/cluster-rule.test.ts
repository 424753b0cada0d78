/** dstack's rule for multi-node runs (cluster-rule.ts) and the per-node log lines (watch-cluster.ts). */
import { describe, expect, it } from '@jest/globals'
import { allEnded, clusterOutcome, clusterTrigger, nodeResult, type NodeView } from '../../src/orchestrate/cluster-rule.js'
import { NodeLines } from '../../src/orchestrate/watch-cluster.js'
import type { AttemptStatus } from '../../src/model/index.js'

const running = (rank: number, phase: AttemptStatus['phase'] = 'running'): NodeView => ({ rank, written: { phase }, exec: { state: 'running' } })
const done = (rank: number, status: AttemptStatus['status'], exitCode?: number, reason?: string): NodeView => ({
  rank,
  written: { phase: 'done', status, ...(exitCode !== undefined ? { exitCode } : {}), ...(reason ? { reason } : {}) },
  exec: { state: 'running' }
})

describe("dstack's rule for a multi-node run", () => {
  it('keeps waiting while every node runs, or while some are done and the others still run (all-done)', () => {
    expect(clusterTrigger([running(0), running(1)])).toBeUndefined()
    expect(clusterTrigger([done(0, 'succeeded', 0), running(1)])).toBeUndefined()
    expect(allEnded([done(0, 'succeeded', 0), running(1)])).toBe(false)
  })

  it('a failed worker ends the run with its result, naming it, and the others are to be stopped', () => {
    const t = clusterTrigger([running(0), done(1, 'failed', 3, 'python exited with 3'), running(2)])!
    expect(t).toMatchObject({ rank: 1, outcome: { status: 'failed', exitCode: 3, reason: 'node 1 failed: python exited with 3', event: 'error' } })
    expect(t.stopReason).toBe('node 1 failed: this node was stopped')
  })

  it('the lowest failed rank decides; a failure wins over a master that is done', () => {
    expect(clusterTrigger([done(0, 'succeeded', 0), done(1, 'timed-out'), done(2, 'failed', 1)], 'master-done')!.rank).toBe(1)
  })

  it('a node the backend saw reclaimed is an interruption of the whole attempt (retried as a new cluster)', () => {
    const t = clusterTrigger([running(0), { rank: 1, exec: { state: 'ended', interrupted: true, reclaimed: true, reason: 'the spot instance i-2 was reclaimed' } }])!
    expect(t.outcome).toMatchObject({ status: 'interrupted', event: 'interruption', reclaimed: true, reason: 'node 1 interrupted: the spot instance i-2 was reclaimed' })
  })

  it('master-done: the master succeeding ends the run as succeeded while workers still run', () => {
    const t = clusterTrigger([done(0, 'succeeded', 0), running(1), running(2)], 'master-done')!
    expect(t.outcome.status).toBe('succeeded')
    expect(t.stopReason).toContain('stop_criteria: master-done')
    // all-done waits for the workers instead
    expect(clusterTrigger([done(0, 'succeeded', 0), running(1)], 'all-done')).toBeUndefined()
  })

  it('the outcome: the trigger when there was one, else all succeeded, else the first node that did not', () => {
    const nodes = [done(0, 'succeeded', 0), done(1, 'succeeded', 0)]
    expect(clusterOutcome(nodes, undefined, false)).toEqual({ status: 'succeeded', reason: 'all 2 nodes exited with 0', exitCode: 0 })
    const stopped = [done(0, 'cancelled'), done(1, 'failed', 7, 'x')]
    const trigger = clusterTrigger([running(0), done(1, 'failed', 7, 'x')])
    expect(clusterOutcome(stopped, trigger, false)).toMatchObject({ status: 'failed', exitCode: 7 })
  })

  it('a cancellation by the user is `cancelled`, unless a node was reclaimed (then `interrupted`, as for one node)', () => {
    expect(clusterOutcome([done(0, 'cancelled'), done(1, 'cancelled')], undefined, true).status).toBe('cancelled')
    expect(clusterOutcome([done(0, 'cancelled'), { rank: 1, exec: { state: 'ended', interrupted: true } }], undefined, true).status).toBe('interrupted')
  })

  it("a node whose runner is gone without a status counts as ended, failed, with the backend's reason", () => {
    const gone: NodeView = { rank: 2, written: { phase: 'running' }, exec: { state: 'ended', exitCode: 137, reason: 'the runner script was killed by SIGKILL' } }
    expect(nodeResult(gone)).toMatchObject({ status: 'failed', reason: 'the runner script was killed by SIGKILL' })
    expect(nodeResult(running(1))).toBeUndefined()
  })
})

describe('NodeLines: whole lines, each with its node', () => {
  it('holds a partial line until its end, prefixes empty lines too, flushes the rest', () => {
    const out: string[] = []
    const l = new NodeLines(2, (_r, t) => void out.push(t))
    l.write('a\nb')
    l.write('c\n\nd')
    l.flush()
    expect(out.join('')).toBe('[node 2] a\n[node 2] bc\n[node 2] \n[node 2] d\n')
  })

  it('a line the job never ends (a progress bar) is printed once it is long', () => {
    const out: string[] = []
    const l = new NodeLines(0, (_r, t) => void out.push(t))
    l.write('x'.repeat(5000))
    expect(out).toEqual([`[node 0] ${'x'.repeat(5000)}\n`])
  })

  it('a line that starts like a workflow command cannot start it: the prefix comes first', () => {
    const out: string[] = []
    new NodeLines(1, (_r, t) => void out.push(t)).write('::set-output name=x::y\n')
    expect(out.join('').startsWith('[node 1] ::')).toBe(true)
  })
})
