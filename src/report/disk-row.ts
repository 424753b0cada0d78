/**
 * Pure: the section's Disk row: the root EBS volume the last attempt's machine had (its type, size,
 * IOPS, throughput: from the run record) and the scratch folder its runner made of the instance-store
 * disks (`scratch` of its status.json: runner/body/disks.sh), e.g.
 * `gp3 100 GiB, 3000 IOPS, 125 MiB/s · scratch: 2 × NVMe RAID 0, 7.6 TB at /opt/dstack/scratch`.
 */
import type { RunRecord } from '../model/index.js'
import { describeVolume } from '../model/volume.js'
import { escapeCell } from './md-escape.js'

export function diskText(r: RunRecord, scratch?: string): string | undefined {
  const m = r.attempts[r.attempts.length - 1]?.machine
  const parts = [m ? describeVolume(m) : undefined, scratch ? `scratch: ${scratch}` : undefined].filter((p): p is string => Boolean(p))
  return parts.length ? parts.join(' · ') : undefined
}

/** the table row, or none when the run says nothing about its disks (the local backend) */
export function diskRow(r: RunRecord, scratch?: string): string[] {
  const t = diskText(r, scratch)
  return t ? [`| Disk | ${escapeCell(t)} |`] : []
}
