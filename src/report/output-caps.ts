/**
 * Pure: caps on the step outputs a job can grow (`artifacts` has its own, outputs.ts): `metrics`
 * keeps as many whole entries as fit and `metrics-truncated` says how many were left out (every
 * value stays in the run's artifact `_dstack/metrics.jsonl`); `reason` is cut with a note (the
 * whole text stays in run.json; each node's reason in `node-statuses` is capped where it is made). GitHub documents 1 MB per output and 50 MB per
 * job; a GitLab dotenv line is smaller still, so each stays far below.
 */

/** bytes the `metrics` output may hold */
export const METRICS_OUTPUT_MAX_BYTES = 64 * 1024
/** bytes of a text output (`reason`, `node-statuses`) */
export const TEXT_OUTPUT_MAX_BYTES = 16 * 1024

/** a JSON object's text with as many whole entries as fit in `max` bytes, and how many were left out */
export function cappedJsonObject(json: string, max = METRICS_OUTPUT_MAX_BYTES): { json: string; left: number } {
  if (Buffer.byteLength(json) <= max) return { json, left: 0 }
  let obj: Record<string, unknown>
  try {
    obj = JSON.parse(json) as Record<string, unknown>
  } catch {
    return { json: '', left: 0 }
  }
  const parts: string[] = []
  let size = 2
  const entries = Object.entries(obj)
  for (const [k, v] of entries) {
    const j = `${JSON.stringify(k)}:${JSON.stringify(v)}`
    const add = Buffer.byteLength(j) + (parts.length ? 1 : 0)
    if (size + add > max) break
    parts.push(j)
    size += add
  }
  return { json: `{${parts.join(',')}}`, left: entries.length - parts.length }
}

/** `s` cut to at most `max` bytes (never inside a character), with a note of what was left out */
export function cappedText(s: string, max = TEXT_OUTPUT_MAX_BYTES, where = 'the run record'): string {
  const bytes = Buffer.byteLength(s)
  if (bytes <= max) return s
  const note = ` … (${bytes} bytes in all; the whole text is in ${where})`
  let cut = Buffer.from(s).subarray(0, Math.max(0, max - Buffer.byteLength(note))).toString('utf8')
  // a character cut in two decodes as U+FFFD at the end: drop it
  cut = cut.replace(/\uFFFD+$/, '')
  return cut + note
}

/** the outputs with every cap applied; `metrics-truncated` set when metrics were left out */
export function capOutputs(out: Record<string, string>): Record<string, string> {
  const capped = { ...out }
  if (capped.metrics) {
    const m = cappedJsonObject(capped.metrics)
    capped.metrics = m.json
    if (m.left) capped['metrics-truncated'] = String(m.left)
  }
  if (capped.reason) capped.reason = cappedText(capped.reason, TEXT_OUTPUT_MAX_BYTES, 'run.json')
  return capped
}
