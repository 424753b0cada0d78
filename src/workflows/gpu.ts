/**
 * dstack's gpu and cpu grammar (`src/dstack/_internal/core/models/resources.py`), pure.
 * gpu: colon-separated tokens in any order — vendor, names (comma = alternatives), memory (has a
 * unit), count — or an object `{vendor, name, count, memory, total_memory, compute_capability}`, or
 * a bare count. Spaces are dropped before reading, as dstack does (`RTX 4090:2` → `RTX4090`, 2).
 */
import type { GpuSpec, Range, Resources } from '../model/index.js'
import { fail, ok, parseCountRange, parseSizeRange, type Parsed } from './units.js'

/** gpuhunt's AcceleratorVendor values; `tpu` and `tt` are dstack's aliases (`GPUSpec._vendor_from_string`) */
export const GPU_VENDORS = ['nvidia', 'amd', 'google', 'intel', 'tenstorrent'] as const
const VENDOR_ALIASES: Record<string, string> = { tpu: 'google', tt: 'tenstorrent' }

export const GPU_FORMS =
  'colon-separated tokens in any order: vendor (nvidia, amd, google/tpu, intel, tenstorrent/tt), name (A100, or A10G,A100 for alternatives), ' +
  'memory per GPU (24GB, 40GB..80GB), count (2, 1..2, 2..); e.g. `A100:2`, `24GB..40GB:2`, `H100:1..2`, `nvidia`, ' +
  'or an object {vendor, name, count, memory, total_memory, compute_capability}'

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.+-]*$/
const TPU_RE = /^(tpu-)?v\d/i
const GPU_OBJECT_KEYS = ['vendor', 'name', 'count', 'memory', 'total_memory', 'compute_capability']
/** dstack's DEFAULT_GPU_COUNT: a spec that names no count asks for one GPU or more */
const DEFAULT_GPU_COUNT: Range = { min: 1 }

function vendorOf(token: string): string | undefined {
  const t = token.toLowerCase()
  if ((GPU_VENDORS as readonly string[]).includes(t)) return t
  return VENDOR_ALIASES[t]
}

/** `A100` stays as dstack writes it (upper case); TPU names (`v5litepod-4`) are lower case */
function normaliseGpuName(name: string): string {
  return TPU_RE.test(name) ? name.toLowerCase() : name.toUpperCase()
}

type GpuParts = { vendor?: string; names: string[]; count?: Range; memoryMiB?: Range; totalMemoryMiB?: Range; computeCapability?: [number, number] }

function finish(spec: GpuParts): GpuSpec | undefined {
  const count = spec.count ?? { ...DEFAULT_GPU_COUNT }
  if (count.max === 0) return undefined
  const out: GpuSpec = { names: spec.names.map(normaliseGpuName), count }
  const vendor = spec.vendor ?? (out.names.length > 0 && out.names.every((n) => TPU_RE.test(n)) ? 'google' : undefined)
  if (vendor) out.vendor = vendor
  if (spec.memoryMiB) out.memoryMiB = spec.memoryMiB
  if (spec.totalMemoryMiB) out.totalMemoryMiB = spec.totalMemoryMiB
  if (spec.computeCapability) out.computeCapability = spec.computeCapability
  return out
}

function parseNames(token: string, whole: string): Parsed<string[]> {
  const names = token.split(',').map((n) => n.trim())
  const bad = names.find((n) => !NAME_RE.test(n))
  if (bad !== undefined) return fail(`invalid GPU name \`${bad}\` in \`${whole}\`: a name starts with a letter`, `expected ${GPU_FORMS}`)
  return ok(names)
}

function parseGpuString(text: string): Parsed<GpuSpec | undefined> {
  const whole = text.replace(/\s+/g, '')
  if (!whole) return fail('empty gpu spec', `expected ${GPU_FORMS}`)
  let vendor: string | undefined
  let names: string[] | undefined
  let count: Range | undefined
  let memory: Range | undefined
  const dup = (kind: string, token: string) => fail<GpuSpec | undefined>(`gpu spec \`${whole}\` has more than one ${kind} (\`${token}\`)`, `expected ${GPU_FORMS}`)
  for (const raw of whole.split(':')) {
    const token = raw.trim()
    if (!token) return fail(`empty token in gpu spec \`${whole}\``, `expected ${GPU_FORMS}`)
    const v = vendorOf(token)
    if (v) {
      if (vendor) return dup('vendor', token)
      vendor = v
    } else if (/^(\d|\.\.)/.test(token)) {
      if (/[a-z]/i.test(token)) {
        if (memory) return dup('memory', token)
        const m = parseSizeRange(token, 'GPU memory')
        if (!m.ok) return fail(`invalid GPU memory \`${token}\` in \`${whole}\``, m.hint)
        memory = m.value
      } else {
        if (count) return dup('count', token)
        const c = parseCountRange(token, 'GPU count')
        if (!c.ok) return fail(`invalid GPU count \`${token}\` in \`${whole}\``, c.hint)
        count = c.value
      }
    } else if (/^[A-Za-z]/.test(token)) {
      if (names) return dup('name list', token)
      const n = parseNames(token, whole)
      if (!n.ok) return n
      names = n.value
    } else {
      return fail(`invalid token \`${token}\` in gpu spec \`${whole}\``, `expected ${GPU_FORMS}`)
    }
  }
  const spec: GpuParts = { names: names ?? [] }
  if (vendor) spec.vendor = vendor
  if (count) spec.count = count
  if (memory) spec.memoryMiB = memory
  return ok(finish(spec))
}

function parseGpuObject(o: Record<string, unknown>): Parsed<GpuSpec | undefined> {
  const unknown = Object.keys(o).find((k) => !GPU_OBJECT_KEYS.includes(k))
  if (unknown !== undefined) return fail(`unknown gpu key \`${unknown}\``, `expected ${GPU_OBJECT_KEYS.join(', ')}`)
  const spec: GpuParts = { names: [] }
  if (o.vendor !== undefined && o.vendor !== null) {
    const v = typeof o.vendor === 'string' ? vendorOf(o.vendor) : undefined
    if (!v) return fail(`invalid GPU vendor ${JSON.stringify(o.vendor)}`, 'expected nvidia, amd, google (or tpu), intel or tenstorrent (or tt)')
    spec.vendor = v
  }
  if (o.name !== undefined && o.name !== null) {
    const list = Array.isArray(o.name) ? o.name : [o.name]
    const names: string[] = []
    for (const n of list) {
      const compact = typeof n === 'string' ? n.replace(/\s+/g, '') : undefined
      if (compact === undefined || compact.split(',').some((x) => !NAME_RE.test(x))) return fail(`invalid GPU name ${JSON.stringify(n)}: a name starts with a letter`, 'e.g. `A100` or [A10G, A100]')
      names.push(...compact.split(','))
    }
    spec.names = names
  }
  if (o.count !== undefined && o.count !== null) {
    const c = parseCountRange(o.count, 'GPU count')
    if (!c.ok) return c
    spec.count = c.value
  }
  if (o.memory !== undefined && o.memory !== null) {
    const m = parseSizeRange(o.memory, 'GPU memory')
    if (!m.ok) return m
    spec.memoryMiB = m.value
  }
  if (o.total_memory !== undefined && o.total_memory !== null) {
    const m = parseSizeRange(o.total_memory, 'total GPU memory')
    if (!m.ok) return m
    spec.totalMemoryMiB = m.value
  }
  if (o.compute_capability !== undefined && o.compute_capability !== null) {
    const c = parseComputeCapability(o.compute_capability)
    if (!c.ok) return c
    spec.computeCapability = c.value
  }
  return ok(finish(spec))
}

/**
 * The minimum compute capability: `7.5`, `"8.0"`, `[8, 6]`. YAML reads `8.0` as the number 8, so a
 * whole number N means N.0.
 */
export function parseComputeCapability(v: unknown): Parsed<[number, number]> {
  const bad = fail<[number, number]>(`invalid compute capability ${JSON.stringify(v)}`, 'expected MAJOR.MINOR, e.g. `7.5`, `"8.0"` or `[8, 6]`')
  let parts: unknown[]
  if (typeof v === 'number') parts = Number.isInteger(v) ? [v, 0] : String(v).split('.')
  else if (typeof v === 'string') parts = v.trim().split('.')
  else if (Array.isArray(v)) parts = v
  else return bad
  if (parts.length !== 2) return bad
  const nums = parts.map((p) => (typeof p === 'number' ? p : typeof p === 'string' && /^\d+$/.test(p.trim()) ? Number(p) : NaN))
  if (nums.some((n) => !Number.isInteger(n) || n < 0)) return bad
  return ok([nums[0]!, nums[1]!])
}

/**
 * Parse a `resources.gpu` value of the current (`.dstack.yml`) format.
 * `undefined`/`null`, `0` and `0` counts mean no GPU (value undefined). A spec that names no count
 * asks for `1..` (one GPU or more), dstack's DEFAULT_GPU_COUNT; backends pick the cheapest machine
 * that fits, so in practice one GPU. Memory is per GPU, in MiB.
 */
export function parseGpuSpec(value: unknown): Parsed<GpuSpec | undefined> {
  if (value === undefined || value === null) return ok(undefined)
  if (typeof value === 'number') {
    const c = parseCountRange(value, 'GPU count')
    return c.ok ? ok(finish({ names: [], count: c.value })) : c
  }
  if (typeof value === 'string') return parseGpuString(value)
  if (typeof value === 'object' && !Array.isArray(value)) return parseGpuObject(value as Record<string, unknown>)
  return fail(`invalid gpu spec ${JSON.stringify(value)}`, `expected ${GPU_FORMS}`)
}

/** gpuhunt's CPUArchitecture.cast: `x86` or `arm` in any case, nothing else (`aarch64`, `x86_64` are refused) */
const ARCH_ALIASES: Record<string, 'x86' | 'arm'> = { x86: 'x86', arm: 'arm' }
export const CPU_FORMS = 'a count or range (`4`, `16..`, `2..8`, `{min: 2, max: 8}`), optionally with an architecture `x86` or `arm` (`x86:16`, `arm:8..`, `{arch: arm, count: 8..}`; dstack reads no other name, so not `aarch64`)'

/** `16..`, `x86:16`, `arm:8..`, `4`, or `{arch, count}` */
export function parseCpuSpec(value: unknown): Parsed<Resources['cpu']> {
  if (typeof value === 'number') return parseCountRange(value, 'cpu count')
  let arch: 'x86' | 'arm' | undefined
  let count: Range | undefined
  if (typeof value === 'string') {
    for (const raw of value.replace(/\s+/g, '').split(':')) {
      const token = raw.trim()
      if (!token) return fail(`CPU spec contains empty token: \`${value}\``, `expected ${CPU_FORMS}`)
      if (token.includes('..') || /^\d+$/.test(token)) {
        if (count) return fail(`CPU spec count conflict: \`${value}\``, `expected ${CPU_FORMS}`)
        const c = parseCountRange(token, 'cpu count')
        if (!c.ok) return fail(`invalid cpu count \`${token}\` in \`${value}\``, `expected ${CPU_FORMS}`)
        count = c.value
      } else {
        const a = ARCH_ALIASES[token.toLowerCase()]
        if (!a) return fail(`Invalid CPU architecture: \`${value}\``, `expected ${CPU_FORMS}`)
        if (arch) return fail(`CPU spec arch conflict: \`${value}\``, `expected ${CPU_FORMS}`)
        arch = a
      }
    }
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length > 0 && keys.every((k) => k === 'min' || k === 'max')) {
      const c = parseCountRange(o, 'cpu count')
      return c.ok ? ok({ ...c.value }) : c
    }
    const unknown = keys.find((k) => k !== 'arch' && k !== 'count')
    if (unknown !== undefined) return fail(`unknown cpu key \`${unknown}\``, `expected ${CPU_FORMS}`)
    if (o.arch !== undefined) {
      arch = typeof o.arch === 'string' ? ARCH_ALIASES[o.arch.toLowerCase()] : undefined
      if (!arch) return fail(`invalid cpu arch ${JSON.stringify(o.arch)}`, 'expected x86 or arm')
    }
    if (o.count !== undefined) {
      const c = parseCountRange(o.count, 'cpu count')
      if (!c.ok) return c
      count = c.value
    }
  } else {
    return fail(`invalid cpu spec ${JSON.stringify(value)}`, `expected ${CPU_FORMS}`)
  }
  const out: Resources['cpu'] = { ...(count ?? { min: 2 }) }
  if (arch) out.arch = arch
  return ok(out)
}

/**
 * gpuhunt's known accelerators of the vendors dstack's default image does not serve
 * (`server/services/runs/spec.py::_detect_gpu_vendors_requiring_image`, names from
 * `gpuhunt._internal.constraints`); matched without case, as `detect_gpu_vendors_by_gpu_name` does.
 * Unknown names are not held against the task (dstack's "loose validation").
 */
const IMAGE_VENDOR_NAMES: Record<string, string[]> = {
  amd: ['mi100', 'mi210', 'mi250', 'mi250x', 'mi300a', 'mi300x', 'mi308x', 'mi325x', 'mi350x', 'mi355x'],
  intel: ['gaudi', 'gaudi2', 'gaudi3'],
  tenstorrent: ['n150', 'n300', 'p100a', 'p150', 'p300', 'tt-galaxy-bh', 'tt-galaxy-wh']
}

/**
 * The vendors of `gpu` that need an `image` (dstack's default image is built for NVIDIA and serves
 * TPUs; AMD, Intel Gaudi and Tenstorrent need their own), sorted; empty when none.
 */
export function vendorsNeedingImage(gpu: GpuSpec | undefined): string[] {
  if (!gpu || gpu.count.max === 0) return []
  const vendors = new Set<string>()
  if (gpu.vendor) vendors.add(gpu.vendor)
  else {
    for (const name of gpu.names) {
      for (const [vendor, names] of Object.entries(IMAGE_VENDOR_NAMES)) if (names.includes(name.toLowerCase())) vendors.add(vendor)
    }
  }
  vendors.delete('nvidia')
  vendors.delete('google')
  return [...vendors].sort()
}
