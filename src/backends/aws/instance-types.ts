/**
 * Instance types that fit a RunSpec's resources: pure matching on DescribeInstanceTypes entries,
 * (the paginated call lives in catalog.ts). `disk` is never matched against instance storage: the root EBS volume
 * is sized from `disk.min` instead (launch-input.ts).
 */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2'
import type { Range, Resources } from '../../model/index.js'
import { capabilityMismatch } from './compute-capability.js'

/** What ranking and launching need of one instance type. */
export interface TypeInfo {
  instanceType: string
  vcpus: number
  memoryMiB: number
  arch: 'x86' | 'arm'
  gpuName?: string
  /** GpuInfo manufacturer, lower-case: `nvidia`, `amd`, … */
  gpuVendor?: string
  gpuCount: number
  gpuMemoryMiB?: number
  spot: boolean
  onDemand: boolean
  /** EFA interfaces the type can have (`NetworkInfo.EfaInfo.MaximumEfaInterfaces`); undefined: no EFA */
  efaInterfaces?: number
}

export function toTypeInfo(t: InstanceTypeInfo): TypeInfo | undefined {
  if (!t.InstanceType) return undefined
  const gpus = t.GpuInfo?.Gpus ?? []
  const archs = t.ProcessorInfo?.SupportedArchitectures ?? []
  const usage = t.SupportedUsageClasses ?? []
  const efa = t.NetworkInfo?.EfaSupported ? Math.max(1, t.NetworkInfo.EfaInfo?.MaximumEfaInterfaces ?? 1) : undefined
  return {
    instanceType: t.InstanceType,
    vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
    memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0,
    arch: archs.includes('x86_64') ? 'x86' : 'arm',
    gpuName: gpus[0]?.Name,
    gpuVendor: gpus[0]?.Manufacturer?.toLowerCase(),
    gpuCount: gpus.reduce((n, g) => n + (g.Count ?? 0), 0),
    gpuMemoryMiB: gpus[0]?.MemoryInfo?.SizeInMiB,
    spot: usage.includes('spot'),
    onDemand: usage.includes('on-demand'),
    ...(efa ? { efaInterfaces: efa } : {})
  }
}

export function inRange(v: number | undefined, r: Range | undefined): boolean {
  if (!r) return true
  if (v === undefined) return r.min === undefined || r.min <= 0
  return (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max)
}

/** Why a type does not fit (for logs), or undefined when it fits. */
export function mismatch(t: TypeInfo, res: Resources, arch: 'x86' | 'arm'): string | undefined {
  if (t.arch !== arch) return `${t.arch} (the AMI is ${arch})`
  if (!inRange(t.vcpus, res.cpu)) return `${t.vcpus} vCPUs`
  if (!inRange(t.memoryMiB, res.memoryMiB)) return `${t.memoryMiB} MiB memory`
  const g = res.gpu
  if (g) {
    if (!inRange(t.gpuCount, g.count)) return `${t.gpuCount} GPUs`
    if (t.gpuCount > 0) {
      if (g.vendor && t.gpuVendor && g.vendor.toLowerCase() !== t.gpuVendor) return `${t.gpuVendor} GPUs (the workflow asks for ${g.vendor})`
      if (g.names.length > 0 && !g.names.some((n) => n.toLowerCase() === (t.gpuName ?? '').toLowerCase())) return `GPU ${t.gpuName}`
      if (!inRange(t.gpuMemoryMiB, g.memoryMiB)) return `${t.gpuMemoryMiB} MiB per GPU`
      if (!inRange((t.gpuMemoryMiB ?? 0) * t.gpuCount, g.totalMemoryMiB)) return `${(t.gpuMemoryMiB ?? 0) * t.gpuCount} MiB GPU memory in total`
      // dstack's `compute_capability`: an NVIDIA GPU whose capability is known and reaches it
      if (g.computeCapability) {
        const why = capabilityMismatch(t.gpuName, t.gpuVendor, g.computeCapability)
        if (why) return why
      }
    }
  }
  return undefined
}

/**
 * Pure: the types of a region's catalogue that fit the resources. `explicit` (the workflow's
 * `instance_types`) narrows the list; `extra` adds a check of its own (the default AMI's families).
 */
export function matchTypes(all: TypeInfo[], res: Resources, arch: 'x86' | 'arm', explicit: string[], extra?: (t: TypeInfo) => string | undefined): { fit: TypeInfo[]; rejected: { instanceType: string; why: string }[]; unknown: string[] } {
  const fit: TypeInfo[] = []
  const rejected: { instanceType: string; why: string }[] = []
  const pool = explicit.length ? all.filter((t) => explicit.includes(t.instanceType)) : all
  const unknown = explicit.filter((n) => !all.some((t) => t.instanceType === n))
  for (const t of pool) {
    const why = mismatch(t, res, arch) ?? extra?.(t)
    if (why) rejected.push({ instanceType: t.instanceType, why })
    else fit.push(t)
  }
  return { fit, rejected, unknown }
}
