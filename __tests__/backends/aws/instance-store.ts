/**
 * A machine's instance-store NVMe disks, simulated for the runner's disks.sh: a sysfs tree
 * (`block/<dev>/device/model`, `size` in 512-byte sectors), a /dev folder, a mount table, and
 * mdadm / mkfs / mount stand-ins that note each call in `disk-calls.log` (mount only makes the
 * folder). The returned variables point disks.sh at them (DSTACK_SYS_BLOCK, DSTACK_MDADM, …).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const INSTANCE_STORE_MODEL = 'Amazon EC2 NVMe Instance Storage'

export interface SimDisk {
  name: string
  bytes: number
  /** default: instance storage; `Amazon Elastic Block Store` for an EBS volume */
  model?: string
  /** already in this md array (holders/<md>), as the Deep Learning AMIs leave them */
  holder?: string
}

const STUB = (what: string) => `#!/bin/bash
printf '%s\\n' "${what} $*" >>"$FAKE_DISK_LOG"
`

/** builds the simulated disks under `dir`; `mounts` are lines of the mount table (`/dev/md127 /opt/dlami/nvme xfs rw 0 0`) */
export function simulateInstanceStore(dir: string, disks: SimDisk[], mounts: string[] = []): Record<string, string> {
  const block = join(dir, 'sys-block')
  const dev = join(dir, 'dev')
  const bin = join(dir, 'disk-bin')
  for (const d of [block, dev, bin]) mkdirSync(d, { recursive: true })
  for (const d of disks) {
    mkdirSync(join(block, d.name, 'device'), { recursive: true })
    mkdirSync(join(block, d.name, 'holders'), { recursive: true })
    // the kernel pads the model to 40 characters
    writeFileSync(join(block, d.name, 'device', 'model'), `${(d.model ?? INSTANCE_STORE_MODEL).padEnd(40)}\n`)
    writeFileSync(join(block, d.name, 'size'), `${Math.floor(d.bytes / 512)}\n`)
    if (d.holder) writeFileSync(join(block, d.name, 'holders', d.holder), '')
    writeFileSync(join(dev, d.name), '')
  }
  writeFileSync(join(dir, 'mounts'), mounts.map((m) => m + '\n').join(''))
  writeFileSync(join(bin, 'mdadm'), STUB('mdadm'))
  writeFileSync(join(bin, 'mkfs'), STUB('mkfs'))
  writeFileSync(join(bin, 'mount'), STUB('mount') + 'mkdir -p "${@: -1}"\n')
  for (const f of ['mdadm', 'mkfs', 'mount']) chmodSync(join(bin, f), 0o755)
  return {
    DSTACK_SYS_BLOCK: block,
    DSTACK_DEV_DIR: dev,
    DSTACK_PROC_MOUNTS: join(dir, 'mounts'),
    DSTACK_MDADM: join(bin, 'mdadm'),
    DSTACK_MKFS: join(bin, 'mkfs'),
    DSTACK_MOUNT: join(bin, 'mount'),
    FAKE_DISK_LOG: join(dir, 'disk-calls.log')
  }
}

/** the stand-ins' calls, one line each */
export function diskCalls(vars: Record<string, string>): string[] {
  try {
    return readFileSync(vars.FAKE_DISK_LOG!, 'utf8').split('\n').filter(Boolean)
  } catch {
    return []
  }
}
