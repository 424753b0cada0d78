/**
 * Sizes, ranges and durations as dstack writes them (`24GB`, `40GB..80GB`, `1..2`, `2h`).
 * Pure; each parser returns a `Parsed` result so the caller can attach the file position.
 */
import type { Range } from '../model/index.js'
import { UserError } from '../model/index.js'

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string }

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
export const fail = <T = never>(message: string, hint?: string): Parsed<T> =>
  hint === undefined ? { ok: false, message } : { ok: false, message, hint }

const MIB_PER: Record<string, number> = { M: 1, G: 1024, T: 1024 * 1024 }
/**
 * dstack's `Memory.parse` (`core/models/resources.py`): spaces dropped, then `TB`, `GB` or `MB`
 * (any case) or no unit (GB); binary (1GB = 1024 MiB). `16GiB`, `16G` or `16Gi` are refused there.
 */
const SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)(MB|GB|TB)?$/i
export const SIZE_FORMS = '`24GB`, `512MB`, `1TB` (a bare number means GB; dstack reads no other unit, so not `GiB` or `G`)'
export const SIZE_RANGE_FORMS = '`24GB`, `24GB..`, `..80GB`, `40GB..80GB` or `{min: 40GB, max: 80GB}` (MB, GB or TB; a bare number means GB)'
export const COUNT_RANGE_FORMS = '`2`, `1..2`, `2..`, `..4` or `{min: 1, max: 2}`'

/**
 * A size in MiB, as dstack's `Memory.parse` reads it: 1GB = 1024 MiB, 1TB = 1024 GB, 1MB = 1 MiB.
 * `requireUnit`: bare numbers are rejected (used to tell memory from count in a gpu spec).
 */
export function parseSizeMiB(v: unknown, requireUnit = false): Parsed<number> {
  if (typeof v === 'number' && !requireUnit) {
    return Number.isFinite(v) && v >= 0 ? ok(Math.round(v * 1024)) : fail(`invalid size ${v}`, `expected ${SIZE_FORMS}`)
  }
  if (typeof v !== 'string') return fail(`invalid size ${JSON.stringify(v)}`, `expected ${SIZE_FORMS}`)
  const m = SIZE_RE.exec(v.replace(/ /g, ''))
  if (!m || (requireUnit && !m[2])) return fail(`invalid size \`${v}\`: dstack reads MB, GB or TB`, `expected ${SIZE_FORMS}`)
  return ok(Math.round(Number(m[1]) * MIB_PER[(m[2] ?? 'G')[0]!.toUpperCase()]!))
}

/**
 * A 0.x size in MiB, as dstack 0.x's `_str_to_mib` read it (`cli/dstack/providers/__init__.py`,
 * 0.7 – 0.10): `MB`, `GB`, `M`, `G` are decimal (64GB = 64·10⁹ bytes = 61035 MiB, rounded down);
 * `MiB`, `GiB`, `Mi`, `Gi` binary; whole numbers only, and a unit is required.
 */
export function parseSeedSizeMiB(v: unknown): Parsed<number> {
  const bad = fail<number>(`invalid size ${JSON.stringify(v)}`, 'expected a whole number with a unit: `64GB` (decimal, as dstack 0.x read it), `60GiB`, `512MB`, `512MiB`')
  if (typeof v !== 'string') return bad
  const m = /^(\d+)(mib|gib|mi|gi|mb|gb|m|g)$/.exec(v.replace(/ /g, '').toLowerCase())
  if (!m) return bad
  const bytes: Record<string, number> = { mib: 2 ** 20, mi: 2 ** 20, gib: 2 ** 30, gi: 2 ** 30, mb: 1e6, m: 1e6, gb: 1e9, g: 1e9 }
  return ok(Math.floor((Number(m[1]) * bytes[m[2]!]!) / 2 ** 20))
}

function parseBoundedRange(
  v: string,
  parseOne: (s: string) => Parsed<number>,
  what: string,
  forms: string
): Parsed<Range> {
  const text = v.trim()
  const bad = fail<Range>(`invalid ${what} \`${v}\``, `expected ${forms}`)
  if (!text.includes('..')) {
    const one = parseOne(text)
    return one.ok ? ok({ min: one.value, max: one.value }) : bad
  }
  const parts = text.split('..')
  if (parts.length !== 2) return bad
  const [lo, hi] = parts.map((p) => p.trim()) as [string, string]
  if (!lo && !hi) return bad
  const range: Range = {}
  if (lo) {
    const p = parseOne(lo)
    if (!p.ok) return bad
    range.min = p.value
  }
  if (hi) {
    const p = parseOne(hi)
    if (!p.ok) return bad
    range.max = p.value
  }
  if (range.min !== undefined && range.max !== undefined && range.min > range.max) {
    return fail(`invalid ${what} \`${v}\`: the lower bound is greater than the upper bound`, `expected ${forms}`)
  }
  return ok(range)
}

/**
 * dstack's range object `{min, max}` (either bound may be left out or null), each bound read by
 * `parseOne`; `{}` and unknown keys are refused as dstack refuses them.
 */
function parseRangeObject(o: Record<string, unknown>, parseOne: (v: unknown) => Parsed<number>, what: string, forms: string): Parsed<Range> {
  const bad = (why: string) => fail<Range>(`invalid ${what} ${JSON.stringify(o)}: ${why}`, `expected ${forms}`)
  const unknown = Object.keys(o).find((k) => k !== 'min' && k !== 'max')
  if (unknown !== undefined) return bad(`unknown key \`${unknown}\``)
  const range: Range = {}
  for (const k of ['min', 'max'] as const) {
    if (o[k] === undefined || o[k] === null) continue
    const p = parseOne(o[k])
    if (!p.ok) return bad(`\`${k}\` is not valid`)
    range[k] = p.value
  }
  if (range.min === undefined && range.max === undefined) return bad('it has neither `min` nor `max`')
  if (range.min !== undefined && range.max !== undefined && range.min > range.max) return bad('`min` is greater than `max`')
  return ok(range)
}

const isRangeObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `24GB`, `40GB..80GB`, `8GB..`, `..80GB`, a bare number (GB), `{min, max}`; in MiB */
export function parseSizeRange(v: unknown, what = 'size', requireUnit = false): Parsed<Range> {
  if (isRangeObject(v)) return parseRangeObject(v, (x) => parseSizeMiB(x, requireUnit), what, SIZE_RANGE_FORMS)
  if (typeof v === 'number' && !requireUnit) {
    const one = parseSizeMiB(v)
    return one.ok ? ok({ min: one.value, max: one.value }) : fail(`invalid ${what} ${v}`, `expected ${SIZE_RANGE_FORMS}`)
  }
  if (typeof v !== 'string') return fail(`invalid ${what} ${JSON.stringify(v)}`, `expected ${SIZE_RANGE_FORMS}`)
  return parseBoundedRange(v.replace(/\s+/g, ''), (s) => parseSizeMiB(s, requireUnit), what, SIZE_RANGE_FORMS)
}

const INT_RE = /^\d+$/
const countBound = (x: unknown): Parsed<number> =>
  (typeof x === 'number' && Number.isInteger(x) && x >= 0) || (typeof x === 'string' && INT_RE.test(x.trim())) ? ok(Number(x)) : fail('')

/** `2`, `1..2`, `2..`, `..4`, `{min, max}` (non-negative integers) */
export function parseCountRange(v: unknown, what = 'count'): Parsed<Range> {
  if (isRangeObject(v)) return parseRangeObject(v, countBound, what, COUNT_RANGE_FORMS)
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= 0 ? ok({ min: v, max: v }) : fail(`invalid ${what} ${v}`, `expected ${COUNT_RANGE_FORMS}`)
  }
  if (typeof v !== 'string') return fail(`invalid ${what} ${JSON.stringify(v)}`, `expected ${COUNT_RANGE_FORMS}`)
  return parseBoundedRange(v.replace(/\s+/g, ''), (s) => (INT_RE.test(s) ? ok(Number(s)) : fail('')), what, COUNT_RANGE_FORMS)
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }
export const DURATION_FORMS = '`90m`, `2h`, `1d`, `1w`, `30s` or a number of seconds'

/**
 * A duration in seconds: `2h`, `1d`, `90m`, `30s`, `1w`, or a number of seconds (`3600`, `"3600"`).
 * Throws UserError for anything else (including `off`, which callers handle themselves).
 */
export function parseDuration(v: string | number): number {
  const r = tryParseDuration(v)
  if (!r.ok) throw new UserError(r.message, r.hint)
  return r.value
}

export function tryParseDuration(v: unknown): Parsed<number> {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v > 0 ? ok(v) : fail(`invalid duration ${v}: must be a whole number of seconds above 0`, `expected ${DURATION_FORMS}`)
  }
  if (typeof v !== 'string') return fail(`invalid duration ${JSON.stringify(v)}`, `expected ${DURATION_FORMS}`)
  // dstack's Duration.parse: a whole number of seconds, or `<n><unit>` with a lower-case unit
  const m = /^(\d+) *([smhdw]?)$/.exec(v.trim())
  if (!m) return fail(`invalid duration \`${v}\``, `expected ${DURATION_FORMS}`)
  const sec = Number(m[1]) * DURATION_UNITS[(m[2] || 's').toLowerCase()]!
  return sec > 0 ? ok(sec) : fail(`invalid duration \`${v}\`: must be above 0`, `expected ${DURATION_FORMS}`)
}
