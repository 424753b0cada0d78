/**
 * Pure: the statistics of a group of runs (one value per run, e.g. the final `loss` of each seed)
 * and the verdict of a group against a baseline group. The numbers come from libraries, not from
 * formulas written here: `simple-statistics` for mean, standard deviation, min and max, and
 * `@stdlib/stats-ttest2` for Welch's two-sample t-test (unequal variances, Satterthwaite degrees
 * of freedom) with its p-value and the confidence interval of the difference of the means.
 */
import { mean, sampleStandardDeviation, min, max } from 'simple-statistics'
import ttest2 from '@stdlib/stats-ttest2'
import type { Direction } from './metrics.js'

/** significance level of the verdict: a difference with p < ALPHA is better or worse */
export const ALPHA = 0.05
/** runs needed on each side before a verdict is given */
export const MIN_RUNS_PER_SIDE = 2

export interface Summary {
  n: number
  mean: number
  /** sample standard deviation (n − 1); undefined for a single run */
  sd?: number
  min: number
  max: number
}

export function summarize(values: number[]): Summary | undefined {
  if (!values.length) return undefined
  return { n: values.length, mean: mean(values), sd: values.length >= 2 ? sampleStandardDeviation(values) : undefined, min: min(values), max: max(values) }
}

export type GroupVerdict = 'better' | 'worse' | 'within noise' | 'not enough runs'

export interface GroupComparison {
  verdict: GroupVerdict
  /** mean of this group − mean of the baseline group */
  delta: number
  /** two-sided p-value of Welch's t-test */
  pValue?: number
  /** 95% confidence interval of the difference of the means (this − baseline) */
  ci?: [number, number]
  /** Welch–Satterthwaite degrees of freedom */
  df?: number
  statistic?: number
  n: { current: number; baseline: number }
  /** how the verdict was reached, for the JSON and the docs */
  method: 'welch' | 'no spread' | 'none'
}

/**
 * `current` against `baseline` for a metric whose better direction is `dir`. Below two runs a side
 * there is no verdict. When neither side varies at all (deterministic jobs), equal means are
 * within noise and different means are a real difference (the t-test is undefined there).
 */
export function compareGroups(current: number[], baseline: number[], dir: Direction, alpha = ALPHA): GroupComparison {
  const n = { current: current.length, baseline: baseline.length }
  const delta = current.length && baseline.length ? mean(current) - mean(baseline) : NaN
  if (current.length < MIN_RUNS_PER_SIDE || baseline.length < MIN_RUNS_PER_SIDE) return { verdict: 'not enough runs', delta, n, method: 'none' }
  const direction = (d: number): GroupVerdict => ((d < 0) === (dir === 'lower') ? 'better' : 'worse')
  if (sampleStandardDeviation(current) === 0 && sampleStandardDeviation(baseline) === 0) {
    return delta === 0 ? { verdict: 'within noise', delta, pValue: 1, n, method: 'no spread' } : { verdict: direction(delta), delta, pValue: 0, n, method: 'no spread' }
  }
  const t = ttest2(current, baseline, { alpha, variance: 'unequal', alternative: 'two-sided' })
  const verdict: GroupVerdict = t.pValue < alpha ? direction(delta) : 'within noise'
  return { verdict, delta, pValue: t.pValue, ci: [t.ci[0]!, t.ci[1]!], df: t.df, statistic: t.statistic, n, method: 'welch' }
}

export const GROUP_VERDICT_MARK: Record<GroupVerdict, string> = {
  better: '🟢 better',
  worse: '🔴 worse',
  'within noise': '⚪ within noise',
  'not enough runs': '❔ not enough runs to tell'
}

/** `p = 0.012`, `p < 0.001` */
export function formatP(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '—'
  if (p < 0.001) return 'p < 0.001'
  return `p = ${Number(p.toPrecision(2))}`
}
