/**
 * Pure: the metrics a job writes to `$DSTACK_METRICS`, and their comparison with a baseline run.
 *
 * Format (documented in README "Metrics and reports"): JSON Lines, one object per line. Numbers are
 * metrics; `step` places a line on the x axis of a series (when no line has a `step`, the line
 * number does; when some do, a line without one holds final values only).
 * `{"step": 100, "loss": 0.42}` lines make series; the last value of each name is its final value,
 * so a final `{"accuracy": 0.913}` line adds a final-only metric. A whole file holding one JSON
 * object (possibly over several lines) is read as final values. Other values (strings, nested
 * objects) are ignored; names longer than 64 characters, NaN and infinities too.
 */

export interface MetricPoint {
  step: number
  value: number
}

export interface RunMetrics {
  /** name → last value, in first-seen order */
  final: Record<string, number>
  /** name → points (only names seen on 2 or more lines) */
  series: Record<string, MetricPoint[]>
  /** lines that were not JSON objects (first few, 1-based) */
  badLines: number[]
}

const MAX_NAMES = 200
const MAX_POINTS_PER_SERIES = 100_000
/** points kept over all series (charts draw 50 per series; the rest only costs memory) */
const MAX_POINTS_TOTAL = 1_000_000

export function emptyMetrics(): RunMetrics {
  return { final: {}, series: {}, badLines: [] }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function usableName(k: string): boolean {
  return k.length > 0 && k.length <= 64 && k !== 'step'
}

export function parseMetrics(text: string): RunMetrics {
  const m = emptyMetrics()
  const trimmed = text.trim()
  if (trimmed === '') return m
  // a plain JSON object (pretty-printed or not)
  if (trimmed.startsWith('{')) {
    try {
      const whole = JSON.parse(trimmed) as unknown
      if (isObject(whole)) {
        for (const [k, v] of Object.entries(whole)) if (usableName(k) && typeof v === 'number' && Number.isFinite(v) && Object.keys(m.final).length < MAX_NAMES) m.final[k] = v
        return m
      }
    } catch {
      /* JSON Lines */
    }
  }
  const seen: Record<string, MetricPoint[]> = {}
  // line by line, twice, keeping no parsed line: a 16 MB file of small lines held as objects took
  // hundreds of MB. The first pass only asks whether any line has a numeric `step`.
  const lines = text.split(/\r?\n/)
  const parse = (line: string): Record<string, unknown> | undefined => {
    if (line.trim() === '') return undefined
    try {
      const obj = JSON.parse(line) as unknown
      return isObject(obj) ? obj : undefined
    } catch {
      return undefined
    }
  }
  // with `step` anywhere, a line without one holds final values only; without, the line number is the step
  const hasStep = lines.some((line) => line.includes('"step"') && typeof parse(line)?.step === 'number')
  let points = 0
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    const obj = parse(line)
    if (!obj) {
      if (m.badLines.length < 5) m.badLines.push(i + 1)
      return
    }
    const step = typeof obj.step === 'number' && Number.isFinite(obj.step) ? obj.step : hasStep ? undefined : i
    for (const [k, v] of Object.entries(obj)) {
      if (!usableName(k) || typeof v !== 'number' || !Number.isFinite(v)) continue
      if (!(k in m.final) && Object.keys(m.final).length >= MAX_NAMES) continue
      m.final[k] = v // an existing key keeps its first-seen place
      const pts = (seen[k] ??= [])
      if (step !== undefined && pts.length < MAX_POINTS_PER_SERIES && points < MAX_POINTS_TOTAL) {
        pts.push({ step, value: v })
        points++
      }
    }
  })
  for (const [k, pts] of Object.entries(seen)) if (pts.length >= 2) m.series[k] = pts
  return m
}

/** the final values as the `metrics` output: a JSON object */
export function metricsOutput(m: RunMetrics | undefined): string {
  return m && Object.keys(m.final).length ? JSON.stringify(m.final) : ''
}

export type Direction = 'lower' | 'higher'

/** names where lower is better unless configured: loss, error, perplexity, latency, WER/CER, … */
const LOWER_IS_BETTER = /(^|[^a-z])(loss|error|err|perplexity|ppl|latency|wer|cer|mse|mae|rmse|time|duration|seconds|bpb|bpc|nll|fid)([^a-z]|$)/i

export interface DirectionConfig {
  /** names (or `*`-globs) where lower is better, added to the built-in list */
  lowerIsBetter?: string[]
  /** names (or globs) where higher is better, overriding the built-in list */
  higherIsBetter?: string[]
}

function glob(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i')
}

export function direction(name: string, cfg: DirectionConfig = {}): Direction {
  if (cfg.higherIsBetter?.some((p) => glob(p).test(name))) return 'higher'
  if (cfg.lowerIsBetter?.some((p) => glob(p).test(name))) return 'lower'
  return LOWER_IS_BETTER.test(name.replace(/_/g, ' ')) ? 'lower' : 'higher'
}

/** `loss,wer` or one per line → names */
export function parseNameList(v: string | undefined): string[] {
  return (v ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)
}

export type Verdict = 'better' | 'worse' | 'same' | 'new' | 'gone'

export interface MetricRow {
  name: string
  value?: number
  baseline?: number
  /** value − baseline */
  delta?: number
  /** relative change, when the baseline is not 0 */
  relative?: number
  direction: Direction
  verdict: Verdict
}

/** relative changes smaller than this are `same` */
export const SAME_TOLERANCE = 1e-9

export function compareMetrics(current: RunMetrics | undefined, baseline: RunMetrics | undefined, cfg: DirectionConfig = {}): MetricRow[] {
  const rows: MetricRow[] = []
  const cur = current?.final ?? {}
  const base = baseline?.final ?? {}
  for (const name of Object.keys(cur)) {
    const value = cur[name]!
    const b = base[name]
    const dir = direction(name, cfg)
    if (b === undefined) {
      rows.push({ name, value, direction: dir, verdict: baseline ? 'new' : 'same' })
      continue
    }
    const delta = value - b
    const relative = b !== 0 ? delta / Math.abs(b) : undefined
    const tiny = Math.abs(delta) <= SAME_TOLERANCE * Math.max(1, Math.abs(b))
    const verdict: Verdict = tiny ? 'same' : (delta < 0) === (dir === 'lower') ? 'better' : 'worse'
    rows.push({ name, value, baseline: b, delta, relative, direction: dir, verdict })
  }
  for (const name of Object.keys(base)) if (!(name in cur)) rows.push({ name, baseline: base[name], direction: direction(name, cfg), verdict: 'gone' })
  return rows
}

/** 4 significant digits, plain notation for everyday sizes */
export function formatMetric(v: number | undefined): string {
  if (v === undefined) return '—'
  if (v === 0) return '0'
  const a = Math.abs(v)
  if (a >= 1e6 || a < 1e-4) return v.toExponential(3)
  return String(Number(v.toPrecision(4)))
}

export function formatDelta(row: MetricRow): string {
  if (row.delta === undefined) return '—'
  const sign = row.delta > 0 ? '+' : row.delta < 0 ? '−' : '±'
  const abs = formatMetric(Math.abs(row.delta))
  const rel = row.relative !== undefined && Number.isFinite(row.relative) ? ` (${row.relative > 0 ? '+' : row.relative < 0 ? '−' : '±'}${Math.abs(row.relative * 100).toFixed(1)}%)` : ''
  return `${sign}${abs}${rel}`
}

export const VERDICT_MARK: Record<Verdict, string> = {
  better: '🟢 better',
  worse: '🔴 worse',
  same: '⚪ same',
  new: '🆕 new',
  gone: '— not reported'
}
