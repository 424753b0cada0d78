/**
 * `compute_capability` chooses instances on AWS as dstack's offers.py does: an NVIDIA GPU whose
 * name is known and whose capability reaches the one asked for; AMD GPUs and unknown names never fit.
 */
import { describe, expect, it } from '@jest/globals'
import { matchTypes, type TypeInfo } from '../../../src/backends/aws/instance-types.js'
import { computeCapabilityOf } from '../../../src/backends/aws/compute-capability.js'
import { parseGpuSpec } from '../../../src/workflows/index.js'
import type { Resources } from '../../../src/model/index.js'

const type = (instanceType: string, gpuName: string, gpuVendor = 'nvidia'): TypeInfo => ({
  instanceType, vcpus: 8, memoryMiB: 65536, arch: 'x86', gpuCount: 1, gpuName, gpuVendor, gpuMemoryMiB: 24576, spot: true, onDemand: true
})
const TYPES = [type('g4dn.xlarge', 'T4'), type('g5.xlarge', 'A10G'), type('p4d.24xlarge', 'A100'), type('p5.48xlarge', 'H100'), type('g4ad.xlarge', 'Radeon Pro V520', 'amd'), type('x9.xlarge', 'Mystery GPU')]

function resources(gpu: unknown): Resources {
  const g = parseGpuSpec(gpu)
  if (!g.ok) throw new Error(g.message)
  return { cpu: { min: 2 }, memoryMiB: { min: 8192 }, diskMiB: { min: 102400 }, ...(g.value ? { gpu: g.value } : {}) }
}

describe('compute_capability on AWS', () => {
  it('knows the capability of the GPUs EC2 sells', () => {
    expect(computeCapabilityOf('T4')).toEqual([7, 5])
    expect(computeCapabilityOf('a10g')).toEqual([8, 6])
    expect(computeCapabilityOf('L40S')).toEqual([8, 9])
    expect(computeCapabilityOf('H100')).toEqual([9, 0])
    expect(computeCapabilityOf('Radeon Pro V520')).toBeUndefined()
  })

  it('8.0 keeps A10G, A100, H100 and says why the others do not fit', () => {
    const m = matchTypes(TYPES, resources({ compute_capability: 8.0 }), 'x86', [])
    expect(m.fit.map((t) => t.instanceType)).toEqual(['g5.xlarge', 'p4d.24xlarge', 'p5.48xlarge'])
    expect(Object.fromEntries(m.rejected.map((r) => [r.instanceType, r.why]))).toEqual({
      'g4dn.xlarge': 'GPU T4 has compute capability 7.5, below 8.0',
      'g4ad.xlarge': expect.stringContaining('needs an NVIDIA GPU'),
      'x9.xlarge': expect.stringContaining('its compute capability is unknown')
    })
  })

  it('"8.6" with a name list: both must hold; 9.0 leaves H100 alone; none left: every type has its reason', () => {
    expect(matchTypes(TYPES, resources({ name: ['A100', 'A10G'], compute_capability: '8.6' }), 'x86', []).fit.map((t) => t.instanceType)).toEqual(['g5.xlarge'])
    expect(matchTypes(TYPES, resources({ compute_capability: [9, 0] }), 'x86', []).fit.map((t) => t.instanceType)).toEqual(['p5.48xlarge'])
    const none = matchTypes(TYPES, resources({ compute_capability: '12.0' }), 'x86', [])
    expect(none.fit).toEqual([])
    expect(none.rejected.map((r) => r.why)).toContain('GPU H100 has compute capability 9.0, below 12.0')
  })
})
