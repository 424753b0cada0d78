/** Metrics files (JSON Lines or one object), directions, the comparison, and the charts of series. */
import { describe, it, expect, afterAll } from '@jest/globals'
import { parseMetrics, compareMetrics, direction, formatDelta, metricsOutput } from '../../src/report/metrics.js'
import { seriesChart, grid, valueAt, CHART_MAX_POINTS, chartLabel } from '../../src/report/chart.js'
import { parseMermaid, releaseDom } from '../helpers/markdown-check.js'

afterAll(() => releaseDom())

describe('parseMetrics', () => {
  it('reads JSON Lines: series by step, the last value of each name as final, first-seen order', () => {
    const m = parseMetrics('{"step": 0, "loss": 1.5}\n\n{"step": 10, "loss": 0.9, "lr": 0.1}\nnot json\n[1]\n{"accuracy": 0.91, "note": "x", "loss": 0.8}\n')
    expect(m.final).toEqual({ loss: 0.8, lr: 0.1, accuracy: 0.91 })
    expect(Object.keys(m.final)).toEqual(['loss', 'lr', 'accuracy'])
    expect(m.series.loss).toEqual([{ step: 0, value: 1.5 }, { step: 10, value: 0.9 }])
    expect(m.series.lr).toBeUndefined()
    expect(m.badLines).toEqual([4, 5])
  })
  it('reads one plain JSON object (even pretty-printed) as final values, ignoring non-numbers', () => {
    expect(parseMetrics('{\n  "accuracy": 0.9,\n  "name": "x",\n  "nested": {"a": 1},\n  "inf": 1e999\n}').final).toEqual({ accuracy: 0.9 })
  })
  it('gives the `metrics` output as compact JSON, empty when there are none', () => {
    expect(metricsOutput(parseMetrics('{"a": 1, "b": 2.5}'))).toBe('{"a":1,"b":2.5}')
    expect(parseMetrics('{"loss": 3}\n{"loss": 2}\n{"loss": 1}').series.loss).toEqual([{ step: 0, value: 3 }, { step: 1, value: 2 }, { step: 2, value: 1 }])
    expect(metricsOutput(parseMetrics(''))).toBe('')
  })
})

describe('direction and comparison', () => {
  it('knows lower-is-better names and takes configuration', () => {
    for (const n of ['loss', 'val_loss', 'eval/error', 'perplexity', 'latency_ms', 'wer', 'test-mse']) expect(direction(n)).toBe('lower')
    for (const n of ['accuracy', 'f1', 'bleu', 'glossary_size']) expect(direction(n)).toBe('higher')
    expect(direction('reward_cost', { lowerIsBetter: ['*_cost'] })).toBe('lower')
    expect(direction('loss_scale', { higherIsBetter: ['loss_scale'] })).toBe('higher')
  })
  it('marks better, worse, same, new and gone', () => {
    const rows = compareMetrics(parseMetrics('{"loss": 0.5, "accuracy": 0.8, "f1": 0.7, "new": 1}'), parseMetrics('{"loss": 0.6, "accuracy": 0.9, "f1": 0.7, "old": 2}'))
    expect(rows.map((r) => [r.name, r.verdict])).toEqual([['loss', 'better'], ['accuracy', 'worse'], ['f1', 'same'], ['new', 'new'], ['old', 'gone']])
    expect(formatDelta(rows[0]!)).toBe('−0.1 (−16.7%)')
  })
})

describe('charts', () => {
  const pts = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ step: i * 7, value: f(i) }))
  it('downsamples to at most 50 evenly spaced points and interpolates', () => {
    const g = grid(pts(1000, (i) => i))
    expect(g).toHaveLength(CHART_MAX_POINTS)
    expect(g[0]).toBe(0)
    expect(g[g.length - 1]).toBe(999 * 7)
    expect(valueAt([{ step: 0, value: 0 }, { step: 10, value: 1 }], 5)).toBe(0.5)
    expect(valueAt([{ step: 0, value: 0 }, { step: 10, value: 1 }], 50)).toBe(1)
  })
  it('emits xychart-beta that Mermaid parses, with this run and the baseline as two lines', async () => {
    const md = seriesChart({ name: 'train/loss', current: pts(300, (i) => 2 / (i + 1)), baseline: pts(120, (i) => 2.2 / (i + 1)), baselineLabel: 'calm-otter-1' })
    const body = md.split('\n')
    expect(body[0]).toBe('```mermaid')
    const chart = body.slice(1, body.indexOf('```', 1)).join('\n')
    expect(chart.match(/^ {4}line \[/gm)).toHaveLength(2)
    for (const l of chart.split('\n').filter((x) => x.startsWith('    line ['))) expect(l.split(',').length).toBe(CHART_MAX_POINTS)
    await parseMermaid(chart)
    expect(md).toContain('first line this run, second line the baseline `calm-otter-1`')
  })
  it('draws flat, tiny, huge and negative series; nothing for a single point', async () => {
    for (const f of [() => 1, (i: number) => i * 1e-9, (i: number) => i * 1e12, (i: number) => -i]) {
      const md = seriesChart({ name: 'm', current: pts(5, f) })
      await parseMermaid(md.split('\n').slice(1, -2).join('\n'))
    }
    expect(seriesChart({ name: 'm', current: pts(1, () => 1) })).toBe('')
  })
  it('labels are plain text both Mermaid versions read', () => {
    expect(chartLabel('1. loss "x" `y` <b>')).toBe('1 loss x y b')
  })
})
