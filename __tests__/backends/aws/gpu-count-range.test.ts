/**
 * A gpu spec without a count means `1..` (dstack's default): the AWS matcher reads the open range
 * as "one GPU or more", never zero, and the price ranking then puts the cheapest fitting machine
 * (in practice a single-GPU one) first.
 */
import { describe, expect, it } from '@jest/globals'
import { mismatch, type TypeInfo } from '../../../src/backends/aws/instance-types.js'
import { rankCandidates } from '../../../src/backends/aws/candidates.js'
import { parseGpuSpec } from '../../../src/workflows/index.js'
import type { Resources } from '../../../src/model/index.js'

const type = (instanceType: string, gpuCount: number, gpuName?: string): TypeInfo => ({
  instanceType, vcpus: 8, memoryMiB: 32768, arch: 'x86', gpuCount, spot: true, onDemand: true,
  ...(gpuName ? { gpuName, gpuVendor: 'nvidia', gpuMemoryMiB: 24576 } : {})
})

function resources(gpu: unknown): Resources {
  const g = parseGpuSpec(gpu)
  if (!g.ok) throw new Error(g.message)
  return { cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 102400 }, ...(g.value ? { gpu: g.value } : {}) }
}

describe('gpu count 1.. on AWS', () => {
  const types = [type('m5.2xlarge', 0), type('g5.xlarge', 1, 'A10G'), type('g5.12xlarge', 4, 'A10G')]

  it('`A10G` (no count) fits one or more A10G GPUs, never a machine without one', () => {
    const res = resources('A10G')
    expect(res.gpu!.count).toEqual({ min: 1 })
    expect(types.map((t) => [t.instanceType, mismatch(t, res, 'x86') ?? 'fits'])).toEqual([
      ['m5.2xlarge', '0 GPUs'],
      ['g5.xlarge', 'fits'],
      ['g5.12xlarge', 'fits']
    ])
  })

  it('the cheapest fitting machine ranks first', () => {
    const res = resources('A10G')
    const fit = types.filter((t) => !mismatch(t, res, 'x86'))
    const ranked = rankCandidates([{
      region: 'us-east-1',
      types: fit,
      slots: fit.map((t) => ({ instanceType: t.instanceType, zone: 'us-east-1a' })),
      spotPrices: new Map([['g5.xlarge|us-east-1a', 0.4], ['g5.12xlarge|us-east-1a', 2.1]]),
      onDemandPrices: new Map(),
      spotPolicy: 'spot'
    }])
    expect(ranked.map((c) => [c.instanceType, c.gpuCount])).toEqual([['g5.xlarge', 1], ['g5.12xlarge', 4]])
  })

  it('an exact count still means exactly that many', () => {
    expect(mismatch(type('g5.12xlarge', 4, 'A10G'), resources('A10G:1'), 'x86')).toBe('4 GPUs')
  })
})
