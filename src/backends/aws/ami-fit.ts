/**
 * Pure: which GPU instance types an AMI can drive. The default AMIs are the Deep Learning Base OSS
 * NVIDIA Driver GPU AMIs (Ubuntu 22.04), one public SSM parameter per architecture; their release
 * notes list the instance families they support (`supported_ec2_instances`). Older NVIDIA
 * generations (G3, P2, P3) and AMD GPUs (G4ad) are not among them: CUDA and `docker --gpus all`
 * would fail there. A user's own `ami` is only checked for its architecture.
 */
import type { TypeInfo } from './instance-types.js'
import { instanceFamily } from './errors.js'

export type Arch = 'x86' | 'arm'

export const DEFAULT_AMI_PARAMETERS: Record<Arch, string> = {
  x86: '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id',
  arm: '/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id'
}

/** `supported_ec2_instances` of the default AMIs' release notes (x86_64 and ARM64 editions) */
export const DEFAULT_AMI_FAMILIES: Record<Arch, readonly string[]> = {
  x86: ['g4dn', 'g5', 'g6', 'gr6', 'g6e', 'g7e', 'p4d', 'p4de', 'p5', 'p5e', 'p5en', 'p6-b200', 'p6-b300'],
  arm: ['g5g']
}

/** the GPU vendors the default AMIs have drivers for */
export const DEFAULT_AMI_VENDORS = ['nvidia']

/** EC2 image `Architecture` → ours; undefined for anything else (i386, x86_64_mac…) */
export function amiArch(architecture: string | undefined): Arch | undefined {
  if (architecture === 'x86_64') return 'x86'
  if (architecture === 'arm64') return 'arm'
  return undefined
}

export function archName(a: Arch): string {
  return a === 'x86' ? 'x86_64' : 'arm64'
}

/** Why the default AMI cannot drive this type's GPUs, or undefined when it can (or it has none). */
export function defaultAmiMismatch(t: TypeInfo): string | undefined {
  if (t.gpuCount === 0) return undefined
  if (t.gpuVendor && !DEFAULT_AMI_VENDORS.includes(t.gpuVendor)) return `${t.gpuVendor} GPUs: the default AMI has NVIDIA drivers only (set \`ami\` to use them)`
  const fam = instanceFamily(t.instanceType)
  if (!DEFAULT_AMI_FAMILIES[t.arch].includes(fam)) return `${fam} is not supported by the default ${archName(t.arch)} AMI (its release notes list ${DEFAULT_AMI_FAMILIES[t.arch].join(', ')})`
  return undefined
}
