/**
 * Pure: the root EBS volume's type, IOPS and throughput (inputs `disk-type`, `disk-iops`,
 * `disk-throughput`; CLI `--disk-type`, `--disk-iops`, `--disk-throughput`), checked against EBS's
 * rules before anything is launched, and what that volume costs.
 *
 * A boot volume can be gp3 (default), gp2, io1 or io2: st1 and sc1 cannot boot, `standard`
 * (magnetic) is a previous generation. gp3 has 3,000 IOPS and 125 MiB/s included and takes up to
 * 16,000 IOPS (at most 500 per GiB) and 1,000 MiB/s (at most 0.25 MiB/s per IOPS); io1 and io2 need
 * their IOPS (io1: 100–64,000 at most 50 per GiB; io2: 100–256,000 at most 1,000 per GiB) and take no
 * throughput; gp2 takes neither (its IOPS follow its size).
 */
import { UserError } from '../../model/index.js'
import { GP3_BASE_IOPS } from '../../model/volume.js'

export const DISK_TYPES = ['gp3', 'gp2', 'io1', 'io2'] as const
export type DiskType = (typeof DISK_TYPES)[number]

export interface DiskOptions {
  type: DiskType
  /** provisioned IOPS (gp3: default 3,000; io1/io2: required) */
  iops?: number
  /** MiB/s (gp3 only: default 125) */
  throughput?: number
}

const RULES = {
  gp3: { iops: [3000, 16000], perGiB: 500, throughput: [125, 1000] },
  gp2: {},
  io1: { iops: [100, 64000], perGiB: 50 },
  io2: { iops: [100, 256000], perGiB: 1000 }
} as const satisfies Record<DiskType, { iops?: readonly [number, number]; perGiB?: number; throughput?: readonly [number, number] }>

function whole(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : Number(String(v).trim())
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${what} must be a whole positive number, got ${JSON.stringify(v)}`)
  return n
}

/** Validates the inputs alone (no volume size yet): a clear error before any AWS call. */
export function resolveDiskOptions(o: { diskType?: unknown; diskIops?: unknown; diskThroughput?: unknown }): DiskOptions {
  const raw = String(o.diskType ?? '').trim().toLowerCase() || 'gp3'
  if (raw === 'st1' || raw === 'sc1' || raw === 'standard') {
    throw new UserError(`disk type ${raw} cannot be a boot volume`, `use one of ${DISK_TYPES.join(', ')} (gp3 is the default: 3,000 IOPS and 125 MiB/s included, more with disk-iops and disk-throughput)`)
  }
  if (!(DISK_TYPES as readonly string[]).includes(raw)) throw new UserError(`disk type must be one of ${DISK_TYPES.join(', ')}, got ${JSON.stringify(o.diskType)}`)
  const type = raw as DiskType
  const iops = whole(o.diskIops, 'disk iops')
  const throughput = whole(o.diskThroughput, 'disk throughput')
  const rule: { iops?: readonly [number, number]; throughput?: readonly [number, number] } = RULES[type]
  if (iops !== undefined && !rule.iops) throw new UserError(`disk iops cannot be set for ${type}: its IOPS follow its size (3 per GiB)`, 'use disk-type gp3 (3,000–16,000 IOPS) or io1 / io2 to provision IOPS')
  if (throughput !== undefined && !rule.throughput) throw new UserError(`disk throughput can only be set for gp3, not ${type}`, 'leave disk-throughput empty, or use disk-type gp3 (125–1,000 MiB/s)')
  if ((type === 'io1' || type === 'io2') && iops === undefined) throw new UserError(`disk type ${type} needs disk-iops`, `give the IOPS to provision (${rule.iops![0]}–${rule.iops![1].toLocaleString('en-US')}), or use gp3`)
  if (iops !== undefined && rule.iops && (iops < rule.iops[0] || iops > rule.iops[1])) throw new UserError(`disk iops for ${type} must be ${rule.iops[0].toLocaleString('en-US')}–${rule.iops[1].toLocaleString('en-US')}, got ${iops}`)
  if (throughput !== undefined && rule.throughput && (throughput < rule.throughput[0] || throughput > rule.throughput[1])) throw new UserError(`disk throughput for ${type} must be ${rule.throughput[0]}–${rule.throughput[1].toLocaleString('en-US')} MiB/s, got ${throughput}`)
  if (type === 'gp3' && throughput !== undefined && throughput > (iops ?? GP3_BASE_IOPS) / 4) {
    throw new UserError(`disk throughput ${throughput} MiB/s needs at least ${throughput * 4} IOPS on gp3 (0.25 MiB/s per IOPS), got ${iops ?? GP3_BASE_IOPS}`, `set disk-iops to ${Math.max(GP3_BASE_IOPS, throughput * 4)} or more`)
  }
  return { type, ...(iops !== undefined ? { iops } : {}), ...(throughput !== undefined ? { throughput } : {}) }
}

/** Checks what depends on the volume's size (IOPS per GiB), at launch. */
export function checkDiskSize(d: DiskOptions, sizeGiB: number): void {
  const perGiB = (RULES[d.type] as { perGiB?: number }).perGiB
  if (perGiB && d.iops !== undefined && d.iops > sizeGiB * perGiB) {
    throw new UserError(`disk iops ${d.iops} is more than ${d.type} allows on ${sizeGiB} GiB (${perGiB} IOPS per GiB)`, `ask for at least ${Math.ceil(d.iops / perGiB)} GiB of disk in the workflow (resources: disk), or fewer IOPS`)
  }
}

/** the BlockDeviceMappings Ebs fields of the type (gp3 at its included IOPS and throughput sends none) */
export function ebsFields(d: DiskOptions): { VolumeType: DiskType; Iops?: number; Throughput?: number } {
  return { VolumeType: d.type, ...(d.iops !== undefined ? { Iops: d.iops } : {}), ...(d.throughput !== undefined ? { Throughput: d.throughput } : {}) }
}
