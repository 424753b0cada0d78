/** Caps on the step outputs a job can grow, other than `artifacts`: metrics and the reason. */
import { describe, it, expect } from '@jest/globals'
import { capOutputs, cappedJsonObject, cappedText, METRICS_OUTPUT_MAX_BYTES, TEXT_OUTPUT_MAX_BYTES } from '../../src/report/output-caps.js'

describe('output caps', () => {
  it('metrics: 20,000 metric names keep whole entries under the cap, and say how many were left out', () => {
    const all = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`metric_${i}_${'x'.repeat(20)}`, i / 7]))
    const out = capOutputs({ metrics: JSON.stringify(all), reason: 'ok' })
    expect(Buffer.byteLength(out.metrics!)).toBeLessThanOrEqual(METRICS_OUTPUT_MAX_BYTES)
    const kept = JSON.parse(out.metrics!) as Record<string, number>
    expect(Object.keys(kept).length + Number(out['metrics-truncated'])).toBe(20_000)
    for (const [k, v] of Object.entries(kept)) expect(all[k]).toBe(v)
  })
  it('metrics under the cap are left as they are, with no truncation output', () => {
    const out = capOutputs({ metrics: '{"loss":0.5}' })
    expect(out).toEqual({ metrics: '{"loss":0.5}' })
    expect(cappedJsonObject('{"a":1}')).toEqual({ json: '{"a":1}', left: 0 })
  })
  it('reason: a 1 MB reason is cut under the cap, never inside a character, with a note', () => {
    const long = 'é'.repeat(500_000)
    const r = capOutputs({ reason: long }).reason!
    expect(Buffer.byteLength(r)).toBeLessThanOrEqual(TEXT_OUTPUT_MAX_BYTES)
    expect(r).toMatch(/^é+ … \(1000000 bytes in all; the whole text is in run\.json\)$/)
    expect(cappedText('short')).toBe('short')
  })
})
