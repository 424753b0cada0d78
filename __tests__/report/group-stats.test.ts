/**
 * The group statistics against published reference values, each with its source:
 * - R's `t.test` (Welch by default) on the examples of its own help page (`?t.test`, package stats)
 *   and on Student's sleep data (`datasets::sleep`), as R 4.x prints them;
 * - NIST StRD univariate summary statistics (itl.nist.gov/div898/strd/univ/), certified mean and
 *   standard deviation of the NumAcc data sets, which catch a naive variance formula.
 */
import { describe, it, expect } from '@jest/globals'
import { compareGroups, summarize, formatP } from '../../src/report/group-stats.js'

// datasets::sleep, extra by group (Cushny & Peebles, as printed by R)
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i)

describe('seed group statistics: Welch t-test against R reference values', () => {
  it('t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 0.2054832 → within noise', () => {
    const c = compareGroups(SLEEP_1, SLEEP_2, 'higher')
    expect(c.method).toBe('welch')
    expect(c.statistic).toBeCloseTo(-1.8608, 4)
    expect(c.df).toBeCloseTo(17.776, 3)
    expect(c.pValue).toBeCloseTo(0.07939, 5)
    expect(c.ci![0]).toBeCloseTo(-3.3654832, 6)
    expect(c.ci![1]).toBeCloseTo(0.2054832, 6)
    expect(c.delta).toBeCloseTo(0.75 - 2.33, 12)
    expect(c.verdict).toBe('within noise')
    expect(c.n).toEqual({ current: 10, baseline: 10 })
  })

  it('?t.test: t.test(1:10, y = c(7:20)) has P = .00001855: a real difference, its side from the direction', () => {
    const lower = compareGroups(range(1, 10), range(7, 20), 'lower')
    expect(lower.statistic).toBeCloseTo(-5.4349, 4)
    expect(lower.df).toBeCloseTo(21.982, 3)
    expect(lower.pValue).toBeCloseTo(1.855e-5, 8)
    expect(lower.ci![0]).toBeCloseTo(-11.052802, 5)
    expect(lower.ci![1]).toBeCloseTo(-4.947198, 5)
    expect(lower.verdict).toBe('better') // lower mean, lower is better
    expect(compareGroups(range(1, 10), range(7, 20), 'higher').verdict).toBe('worse')
    expect(formatP(lower.pValue)).toBe('p < 0.001')
  })

  it('?t.test: t.test(1:10, y = c(7:20, 200)) has P = .1245 — "NOT significant anymore": within noise', () => {
    const c = compareGroups(range(1, 10), [...range(7, 20), 200], 'lower')
    expect(c.statistic).toBeCloseTo(-1.6329, 4)
    expect(c.df).toBeCloseTo(14.165, 3)
    expect(c.pValue).toBeCloseTo(0.1245, 4)
    expect(c.verdict).toBe('within noise')
    expect(formatP(c.pValue)).toBe('p = 0.12')
  })

  it('not enough runs to tell below two runs a side, with the n of each side', () => {
    expect(compareGroups([0.5], [0.4, 0.41, 0.39], 'higher')).toMatchObject({ verdict: 'not enough runs', n: { current: 1, baseline: 3 }, method: 'none' })
    expect(compareGroups([0.5, 0.6], [0.4], 'higher').verdict).toBe('not enough runs')
    expect(compareGroups([0.5, 0.6], [], 'higher').verdict).toBe('not enough runs')
  })

  it('groups with no spread at all (deterministic jobs): equal is within noise, different is a difference', () => {
    expect(compareGroups([1, 1, 1], [1, 1], 'lower')).toMatchObject({ verdict: 'within noise', pValue: 1, method: 'no spread' })
    expect(compareGroups([0.9, 0.9], [1, 1], 'lower')).toMatchObject({ verdict: 'better', method: 'no spread' })
  })
})

describe('seed group statistics: summaries against NIST StRD certified values', () => {
  it('NumAcc1 (10000001, 10000003, 10000002): mean 10000002, sd 1', () => {
    const s = summarize([10000001, 10000003, 10000002])!
    expect(s.mean).toBe(10000002)
    expect(s.sd).toBeCloseTo(1, 12)
    expect([s.n, s.min, s.max]).toEqual([3, 10000001, 10000003])
  })
  it('NumAcc3 (1000000.2, then 1000000.1 / 1000000.3 alternating, 1001 values): mean 1000000.2, sd 0.1', () => {
    const xs = [1000000.2, ...Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 1000000.1 : 1000000.3))]
    const s = summarize(xs)!
    expect(s.mean).toBeCloseTo(1000000.2, 8)
    expect(s.sd).toBeCloseTo(0.1, 8)
    expect(s.n).toBe(1001)
  })
  it('one run has a mean and no standard deviation; none has no summary', () => {
    expect(summarize([0.42])).toEqual({ n: 1, mean: 0.42, sd: undefined, min: 0.42, max: 0.42 })
    expect(summarize([])).toBeUndefined()
  })
})
