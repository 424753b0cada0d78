/**
 * Pure: series metrics as a Mermaid `xychart-beta` line chart, which GitHub and GitLab both render
 * in comments from text (no image hosting). Only syntax that Mermaid 10.7 (GitLab's bundled
 * version) and Mermaid 11 (GitHub) both parse: `xychart-beta`, a quoted `title`, `x-axis` with a
 * quoted label and a numeric range, `y-axis` with a quoted label and a range, and `line` arrays.
 * xychart has no legend, so the caption under the chart names the lines.
 *
 * Both series are sampled on one grid of at most `maxPoints` steps across this run's steps
 * (linear interpolation; a baseline that ended earlier holds its last value).
 */
import type { MetricPoint } from './metrics.js'
import { mean, min, max } from 'simple-statistics'
import { codeSpan, escapeText } from './md-escape.js'

export const CHART_MAX_POINTS = 50

/** a label Mermaid reads as plain text in both versions: letters, digits, space and `_ . - / %` */
export function chartLabel(s: string, max = 60): string {
  // `%%` starts a Mermaid comment or directive wherever it stands: never two `%` in a row
  const t = String(s).replace(/[^A-Za-z0-9 _./%-]+/g, ' ').replace(/%{2,}/g, '%').replace(/\s+/g, ' ').trim().slice(0, max)
  // Mermaid 11 reads a label like "1. x" as a markdown list: keep a number from starting one
  return (t.replace(/^(\d+)\./, '$1') || 'metric').trim()
}

function sorted(points: MetricPoint[]): MetricPoint[] {
  const byStep = new Map<number, number>()
  for (const p of points) byStep.set(p.step, p.value)
  return [...byStep].sort((a, b) => a[0] - b[0]).map(([step, value]) => ({ step, value }))
}

/** value of a sorted series at `step`: linear between points, held flat outside them */
export function valueAt(points: MetricPoint[], step: number): number {
  if (step <= points[0]!.step) return points[0]!.value
  for (let i = 1; i < points.length; i++) {
    const b = points[i]!
    if (step <= b.step) {
      const a = points[i - 1]!
      return b.step === a.step ? b.value : a.value + ((b.value - a.value) * (step - a.step)) / (b.step - a.step)
    }
  }
  return points[points.length - 1]!.value
}

/**
 * The steps to draw, evenly spaced from this run's first to its last step (a numeric x axis
 * spreads a line's values evenly): as many as it has points, at most `maxPoints`.
 */
export function grid(points: MetricPoint[], maxPoints = CHART_MAX_POINTS): number[] {
  const n = Math.max(2, Math.min(maxPoints, points.length))
  const first = points[0]!.step
  const last = points[points.length - 1]!.step
  return Array.from({ length: n }, (_, i) => first + ((last - first) * i) / (n - 1))
}

/** a number Mermaid reads: plain digits, never an exponent (toFixed gives `1e+21` from 1e21 on) */
export function num(v: number): string {
  if (!Number.isFinite(v)) return '0'
  const r = Number(v.toPrecision(5))
  if (Math.abs(r) >= 1e15) return BigInt(Math.round(r)).toString()
  return r !== 0 && Math.abs(r) < 1e-6 ? r.toFixed(12).replace(/0+$/, '').replace(/\.$/, '') || '0' : String(r)
}

export interface ChartInput {
  name: string
  current: MetricPoint[]
  baseline?: MetricPoint[]
  baselineLabel?: string
  maxPoints?: number
}

/** the markdown of one chart (a ```mermaid block and a caption), or '' when there is nothing to draw */
export function seriesChart(c: ChartInput): string {
  const cur = sorted(c.current)
  if (cur.length < 2) return ''
  const xs = grid(cur, c.maxPoints)
  const base = c.baseline && c.baseline.length >= 1 ? sorted(c.baseline) : undefined
  const lineCur = xs.map((x) => valueAt(cur, x))
  const lineBase = base ? xs.map((x) => valueAt(base, x)) : undefined
  const all = [...lineCur, ...(lineBase ?? [])]
  let lo = Math.min(...all)
  let hi = Math.max(...all)
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1
    hi += Math.abs(hi) * 0.1 || 1
  }
  const name = chartLabel(c.name)
  const lines = [
    'xychart-beta',
    `    title "${name}${base ? ' - this run vs baseline' : ''}"`,
    `    x-axis "step" ${num(xs[0]!)} --> ${num(xs[xs.length - 1]!)}`,
    `    y-axis "${name}" ${num(lo)} --> ${num(hi)}`,
    `    line [${lineCur.map(num).join(', ')}]`
  ]
  if (lineBase) lines.push(`    line [${lineBase.map(num).join(', ')}]`)
  const caption = base
    ? `*${escapeText(c.name)}: first line this run, second line the baseline${c.baselineLabel ? ` ${codeSpan(c.baselineLabel)}` : ''}; ${xs.length} points.*`
    : `*${escapeText(c.name)} per step; ${xs.length} points.*`
  return ['```mermaid', ...lines, '```', caption].join('\n')
}

export interface BandChartInput {
  name: string
  /** one series per run of this group */
  current: MetricPoint[][]
  /** one series per run of the baseline group */
  baseline?: MetricPoint[][]
  baselineLabel?: string
  maxPoints?: number
}

export interface Band {
  steps: number[]
  mean: number[]
  min: number[]
  max: number[]
  /** runs that had this series */
  n: number
}

/**
 * The runs' series on one grid across `steps` (each run linear between its points and held flat
 * outside them): mean, min and max per step. Undefined when no run has 2 points.
 */
export function band(runs: MetricPoint[][], maxPoints = CHART_MAX_POINTS): Band | undefined {
  const usable = runs.map(sorted).filter((p) => p.length >= 2)
  if (!usable.length) return undefined
  const first = Math.min(...usable.map((p) => p[0]!.step))
  const last = Math.max(...usable.map((p) => p[p.length - 1]!.step))
  const n = Math.max(2, Math.min(maxPoints, Math.max(...usable.map((p) => p.length))))
  const steps = Array.from({ length: n }, (_, i) => first + ((last - first) * i) / (n - 1))
  const at = steps.map((x) => usable.map((p) => valueAt(p, x)))
  return { steps, mean: at.map((vs) => mean(vs)), min: at.map((vs) => min(vs)), max: at.map((vs) => max(vs)), n: usable.length }
}

/**
 * A group's series as one chart: this group's mean with its min and max as the band's edges, and
 * the baseline group's mean beside it (on this group's steps). xychart has no legend and no
 * filled areas, so the band is two thin lines and the caption names every line in order.
 */
export function bandChart(c: BandChartInput): string {
  const cur = band(c.current, c.maxPoints)
  if (!cur) return ''
  const baseRuns = (c.baseline ?? []).map(sorted).filter((p) => p.length >= 1)
  const baseMean = baseRuns.length ? cur.steps.map((x) => mean(baseRuns.map((p) => valueAt(p, x)))) : undefined
  const all = [...cur.min, ...cur.max, ...(baseMean ?? [])]
  let lo = Math.min(...all)
  let hi = Math.max(...all)
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1
    hi += Math.abs(hi) * 0.1 || 1
  }
  const name = chartLabel(c.name)
  const lines = [
    'xychart-beta',
    `    title "${name} - group mean and min-max${baseMean ? ' vs baseline' : ''}"`,
    `    x-axis "step" ${num(cur.steps[0]!)} --> ${num(cur.steps[cur.steps.length - 1]!)}`,
    `    y-axis "${name}" ${num(lo)} --> ${num(hi)}`,
    `    line [${cur.mean.map(num).join(', ')}]`,
    `    line [${cur.min.map(num).join(', ')}]`,
    `    line [${cur.max.map(num).join(', ')}]`
  ]
  if (baseMean) lines.push(`    line [${baseMean.map(num).join(', ')}]`)
  const base = baseMean ? `, 4th the baseline group's mean over ${baseRuns.length} runs${c.baselineLabel ? ` (${escapeText(c.baselineLabel)})` : ''}` : ''
  const caption = `*${escapeText(c.name)}: 1st line the mean of ${cur.n} runs, 2nd and 3rd their min and max${base}; ${cur.steps.length} points.*`
  return ['```mermaid', ...lines, '```', caption].join('\n')
}
