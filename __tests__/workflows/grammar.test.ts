/** dstack's resources grammar: gpu, cpu, sizes, ranges and durations. */
import { describe, it, expect } from '@jest/globals'
import { parseGpuSpec, parseCpuSpec, parseDuration } from '../../src/workflows/index.js'
import { parseSizeMiB, parseSizeRange, parseCountRange } from '../../src/workflows/units.js'
import { UserError, type GpuSpec } from '../../src/model/index.js'

const GB = 1024
const gpu = (v: unknown): GpuSpec | undefined => {
  const r = parseGpuSpec(v)
  if (!r.ok) throw new Error(`unexpected failure for ${JSON.stringify(v)}: ${r.message}`)
  return r.value
}

describe('parseGpuSpec: string grammar', () => {
  const table: [string, GpuSpec][] = [
    ['A100', { names: ['A100'], count: { min: 1 } }],
    ['A100:2', { names: ['A100'], count: { min: 2, max: 2 } }],
    ['2:A100', { names: ['A100'], count: { min: 2, max: 2 } }],
    ['24GB..40GB:2', { names: [], count: { min: 2, max: 2 }, memoryMiB: { min: 24 * GB, max: 40 * GB } }],
    ['H100:1..2', { names: ['H100'], count: { min: 1, max: 2 } }],
    ['nvidia', { vendor: 'nvidia', names: [], count: { min: 1 } }],
    ['A100:80GB', { names: ['A100'], count: { min: 1 }, memoryMiB: { min: 80 * GB, max: 80 * GB } }],
    ['A100:40GB:2', { names: ['A100'], count: { min: 2, max: 2 }, memoryMiB: { min: 40 * GB, max: 40 * GB } }],
    ['40GB..80GB:4', { names: [], count: { min: 4, max: 4 }, memoryMiB: { min: 40 * GB, max: 80 * GB } }],
    ['A10G,A100', { names: ['A10G', 'A100'], count: { min: 1 } }],
    ['a10g,l4:2..', { names: ['A10G', 'L4'], count: { min: 2 } }],
    ['nvidia:24GB..:..4', { vendor: 'nvidia', names: [], count: { max: 4 }, memoryMiB: { min: 24 * GB } }],
    ['amd:MI300X:8', { vendor: 'amd', names: ['MI300X'], count: { min: 8, max: 8 } }],
    ['tpu:v5litepod-4', { vendor: 'google', names: ['v5litepod-4'], count: { min: 1 } }],
    ['v5litepod-8', { vendor: 'google', names: ['v5litepod-8'], count: { min: 1 } }],
    ['1..8', { names: [], count: { min: 1, max: 8 } }],
    ['512MB..1TB', { names: [], count: { min: 1 }, memoryMiB: { min: 512, max: 1024 * GB } }],
    ['intel:1', { vendor: 'intel', names: [], count: { min: 1, max: 1 } }],
    // gpuhunt's vendor is `tenstorrent`; `tt` is dstack's alias (GPUSpec._vendor_from_string)
    ['tt:2', { vendor: 'tenstorrent', names: [], count: { min: 2, max: 2 } }],
    ['tenstorrent:n150', { vendor: 'tenstorrent', names: ['N150'], count: { min: 1 } }]
  ]
  it.each(table)('%s', (text, expected) => {
    expect(gpu(text)).toEqual(expected)
  })

  it('a bare integer is that many GPUs of any model; 0 is no GPU', () => {
    expect(gpu(1)).toEqual({ names: [], count: { min: 1, max: 1 } })
    expect(gpu(4)).toEqual({ names: [], count: { min: 4, max: 4 } })
    expect(gpu(0)).toBeUndefined()
    expect(gpu('0')).toBeUndefined()
    expect(gpu(undefined)).toBeUndefined()
  })

  const invalid: [unknown, RegExp][] = [
    ['A100:2:3', /more than one count \(`3`\)/],
    ['nvidia:amd', /more than one vendor \(`amd`\)/],
    ['A100:H100', /more than one name list/],
    ['24GB:40GB', /more than one memory/],
    ['A100:!x', /invalid token `!x` in gpu spec `A100:!x`/],
    ['A100::2', /empty token/],
    ['A100:2..1', /invalid GPU count `2\.\.1`/],
    ['A100:80XB', /invalid GPU memory `80XB`/],
    ['A100,9x', /invalid GPU name `9x`/],
    ['', /empty gpu spec/],
    [-1, /invalid GPU count -1/],
    [1.5, /invalid GPU count 1\.5/],
    [[1], /invalid gpu spec/],
    [true, /invalid gpu spec/]
  ]
  it.each(invalid)('rejects %p naming the token', (v, re) => {
    const r = parseGpuSpec(v)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.message).toMatch(re)
      if (typeof v === 'string' && v) expect(r.hint).toMatch(/vendor .*name.*memory.*count|`1\.\.2`|`40GB\.\.80GB`/)
    }
  })
})

describe('parseGpuSpec: object form', () => {
  it('reads vendor, name (string or list), count, memory and total_memory', () => {
    expect(gpu({ vendor: 'nvidia', name: ['a10g', 'L4'], count: '1..2', memory: '24GB..', total_memory: 80 })).toEqual({
      vendor: 'nvidia', names: ['A10G', 'L4'], count: { min: 1, max: 2 }, memoryMiB: { min: 24 * GB }, totalMemoryMiB: { min: 80 * GB, max: 80 * GB }
    })
    expect(gpu({ name: 'A100' })).toEqual({ names: ['A100'], count: { min: 1 } })
    expect(gpu({ vendor: 'tpu' })?.vendor).toBe('google')
  })
  it('rejects unknown keys and bad values', () => {
    const bad = [{ nam: 'A100' }, { vendor: 'ibm' }, { name: 5 }, { count: 'x' }, { memory: 'lots' }]
    for (const v of bad) expect(parseGpuSpec(v).ok).toBe(false)
    const r = parseGpuSpec({ vendor: 'ibm' })
    expect(!r.ok && r.message).toMatch(/invalid GPU vendor "ibm"/)
  })
})

describe('parseCpuSpec', () => {
  it.each([
    [8, { min: 8, max: 8 }],
    ['16..', { min: 16 }],
    ['x86:16', { min: 16, max: 16, arch: 'x86' }],
    ['arm:8..', { min: 8, arch: 'arm' }],
    ['4..8:X86', { min: 4, max: 8, arch: 'x86' }],
    ['arm', { min: 2, arch: 'arm' }],
    [{ arch: 'ARM', count: '2..' }, { min: 2, arch: 'arm' }]
  ])('%p', (v, expected) => {
    const r = parseCpuSpec(v)
    expect(r.ok && r.value).toEqual(expected)
  })
  // gpuhunt's CPUArchitecture.cast knows `x86` and `arm` only; a second count or arch is a conflict
  it.each(['x86:16:foo', 'risc:4', '4..2', 'many', 'aarch64:8', 'x86_64', 'arm64', '8:16', 'x86:arm', { arch: 'aarch64' }])('rejects %p', (v) => {
    expect(parseCpuSpec(v).ok).toBe(false)
  })
})

describe('sizes and ranges', () => {
  it('converts MB/GB/TB to MiB (binary, as dstack), a bare number is GB', () => {
    expect(parseSizeMiB('512MB')).toEqual({ ok: true, value: 512 })
    expect(parseSizeMiB('24GB')).toEqual({ ok: true, value: 24 * GB })
    expect(parseSizeMiB('1TB')).toEqual({ ok: true, value: 1024 * GB })
    expect(parseSizeMiB('1.5GB')).toEqual({ ok: true, value: 1536 })
    expect(parseSizeMiB(16)).toEqual({ ok: true, value: 16 * GB })
    expect(parseSizeMiB('16')).toEqual({ ok: true, value: 16 * GB })
    // dstack's Memory.parse knows TB, GB, MB and bare numbers only
    for (const bad of ['16GiB', '16G', '16Gi', '16 GiB', '1TiB']) expect(parseSizeMiB(bad).ok).toBe(false)
    expect(parseSizeMiB('16', true).ok).toBe(false)
    expect(parseSizeMiB('16 pounds').ok).toBe(false)
  })
  it('ranges: N, N.., ..M, N..M; a single value is exact', () => {
    expect(parseSizeRange('8GB..')).toEqual({ ok: true, value: { min: 8 * GB } })
    expect(parseSizeRange('..80GB')).toEqual({ ok: true, value: { max: 80 * GB } })
    expect(parseSizeRange('40GB..80GB')).toEqual({ ok: true, value: { min: 40 * GB, max: 80 * GB } })
    expect(parseSizeRange('500GB')).toEqual({ ok: true, value: { min: 500 * GB, max: 500 * GB } })
    expect(parseCountRange('2..')).toEqual({ ok: true, value: { min: 2 } })
    expect(parseCountRange('..')).toMatchObject({ ok: false })
    expect(parseCountRange('1..2..3')).toMatchObject({ ok: false })
    expect(parseSizeRange('80GB..40GB')).toMatchObject({ ok: false, message: expect.stringMatching(/lower bound is greater/) })
  })
})

describe('parseDuration', () => {
  it.each([
    ['2h', 7200], ['1d', 86400], ['90m', 5400], ['30s', 30], ['1w', 604800], [3600, 3600], ['3600', 3600], [' 2h ', 7200], ['2 h', 7200]
  ])('%p → %p s', (v, s) => {
    expect(parseDuration(v)).toBe(s)
  })
  it.each(['off', '2 hours', '1h30m', '', 0, -5, 1.5, '0h', '2H'])('rejects %p with a UserError naming the forms', (v) => {
    expect(() => parseDuration(v)).toThrow(UserError)
    try {
      parseDuration(v)
    } catch (e) {
      expect((e as UserError).hint).toMatch(/2h/)
    }
  })
})
