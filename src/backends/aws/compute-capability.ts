/**
 * CUDA compute capability of the NVIDIA GPUs EC2 sells, by the name DescribeInstanceTypes gives
 * (`GpuInfo.Gpus[].Name`), as NVIDIA publishes them. dstack picks offers the same way
 * (`offers.py`: a GPU that is not NVIDIA, or whose name it does not know, never fits a
 * `compute_capability`; one below it does not fit either).
 */
const CAPABILITY: Record<string, [number, number]> = {
  K80: [3, 7],
  M60: [5, 2],
  V100: [7, 0],
  T4: [7, 5],
  T4G: [7, 5],
  A10: [8, 6],
  A10G: [8, 6],
  A100: [8, 0],
  L4: [8, 9],
  L40S: [8, 9],
  H100: [9, 0],
  H200: [9, 0],
  B200: [10, 0],
  GB200: [10, 0]
}

/** the compute capability of an EC2 GPU name (case and spaces ignored), or undefined when unknown */
export function computeCapabilityOf(gpuName: string | undefined): [number, number] | undefined {
  if (!gpuName) return undefined
  return CAPABILITY[gpuName.toUpperCase().replace(/\s+/g, '')]
}

/** `8.6` */
export function capabilityText(c: [number, number]): string {
  return `${c[0]}.${c[1]}`
}

/** why a GPU does not reach `wanted`, or undefined when it does */
export function capabilityMismatch(gpuName: string | undefined, vendor: string | undefined, wanted: [number, number]): string | undefined {
  if (vendor && vendor !== 'nvidia') return `${vendor} GPUs (compute_capability ${capabilityText(wanted)} needs an NVIDIA GPU)`
  const have = computeCapabilityOf(gpuName)
  if (!have) return `GPU ${gpuName ?? '(unnamed)'} (its compute capability is unknown; compute_capability ${capabilityText(wanted)} asks for a known one)`
  if (have[0] < wanted[0] || (have[0] === wanted[0] && have[1] < wanted[1])) return `GPU ${gpuName} has compute capability ${capabilityText(have)}, below ${capabilityText(wanted)}`
  return undefined
}
