/**
 * Pure: what a machine's root EBS volume costs and how the summary names it. The AWS backend
 * records the volume with the machine (`MachineInfo.volume*`); the orchestrator bills it
 * (orchestrate/outcome.ts) and the report shows it (report/disk-row.ts).
 */

export const GP3_BASE_IOPS = 3000
export const GP3_BASE_THROUGHPUT = 125

/** USD per month (us-east-1; EBS bills per second, a month is 730 h) */
export const EBS_PRICES = {
  gp3: { gib: 0.08, iops: 0.005, mibps: 0.04 },
  gp2: { gib: 0.1 },
  io1: { gib: 0.125, iops: 0.065 },
  /** io2 IOPS are tiered: up to 32,000, 32,001–64,000, above */
  io2: { gib: 0.125, iops: [0.065, 0.0455, 0.03185] }
} as const

export interface VolumeBilling {
  volumeGiB?: number
  volumeType?: string
  volumeIops?: number
  volumeThroughput?: number
}

/** Pure: the volume's price in USD per month */
export function volumeUsdPerMonth(v: VolumeBilling): number {
  const gib = v.volumeGiB ?? 0
  const iops = v.volumeIops ?? 0
  switch (v.volumeType) {
    case 'gp2':
      return gib * EBS_PRICES.gp2.gib
    case 'io1':
      return gib * EBS_PRICES.io1.gib + iops * EBS_PRICES.io1.iops
    case 'io2': {
      const [a, b, c] = EBS_PRICES.io2.iops
      return gib * EBS_PRICES.io2.gib + Math.min(iops, 32000) * a + Math.max(0, Math.min(iops, 64000) - 32000) * b + Math.max(0, iops - 64000) * c
    }
    default: {
      const p = EBS_PRICES.gp3
      return gib * p.gib + Math.max(0, iops - GP3_BASE_IOPS) * p.iops + Math.max(0, (v.volumeThroughput ?? 0) - GP3_BASE_THROUGHPUT) * p.mibps
    }
  }
}

/** `gp3 100 GiB, 3000 IOPS, 125 MiB/s` (the summary's Disk row; gp2's IOPS follow its size) */
export function describeVolume(v: VolumeBilling): string | undefined {
  if (v.volumeGiB === undefined) return undefined
  const type = v.volumeType ?? 'gp3'
  const iops = v.volumeIops ?? (type === 'gp3' ? GP3_BASE_IOPS : type === 'gp2' ? Math.min(16000, Math.max(100, 3 * v.volumeGiB)) : undefined)
  const tp = v.volumeThroughput ?? (type === 'gp3' ? GP3_BASE_THROUGHPUT : undefined)
  return [`${type} ${v.volumeGiB} GiB`, iops !== undefined ? `${iops} IOPS` : '', tp !== undefined ? `${tp} MiB/s` : ''].filter(Boolean).join(', ')
}
