/**
 * disks.sh alone: the instance-store NVMe disks of a simulated machine (sysfs, /dev, mount table and
 * mdadm / mkfs / mount stand-ins) become one scratch folder, exported as DSTACK_SCRATCH.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runModules } from './harness.js'
import { makePlan, removeTempDirs } from '../fixture.js'
import { diskCalls, simulateInstanceStore, type SimDisk } from '../../backends/aws/instance-store.js'

const made: string[] = []
afterAll(() => {
  removeTempDirs()
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

const TB = 3_800_000_000_000
function machine(disks: SimDisk[], mounts: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'disks-'))
  made.push(dir)
  return { dir, vars: simulateInstanceStore(dir, disks, mounts) }
}
const script = 'LOG_FILE="$T/log"; prepare_scratch; printf "dir=%s\\ndesc=%s\\nenv=%s\\n" "$SCRATCH_DIR" "$SCRATCH_DESC" "${DSTACK_SCRATCH:-}"; cat "$T/log" 2>/dev/null'

describe('disks.sh', () => {
  test('two instance-store disks: RAID 0, a file system, mounted at the scratch folder', () => {
    const m = machine([{ name: 'nvme0n1', bytes: 100 * 2 ** 30, model: 'Amazon Elastic Block Store' }, { name: 'nvme1n1', bytes: TB }, { name: 'nvme2n1', bytes: TB }])
    const dir = join(m.dir, 'scratch')
    const r = runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: { ...m.vars, DSTACK_SCRATCH_DIR: dir } })
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain(`dir=${dir}\ndesc=2 × NVMe RAID 0, 7.6 TB at ${dir}\nenv=${dir}\n`)
    expect(r.stdout).toContain(`[dstack] scratch: 2 × NVMe RAID 0, 7.6 TB at ${dir}`)
    const dev = m.vars.DSTACK_DEV_DIR!
    expect(diskCalls(m.vars)).toEqual([
      `mdadm --create ${dev}/md/dstack-scratch --run --force --level=0 --raid-devices=2 ${dev}/nvme1n1 ${dev}/nvme2n1`,
      `mkfs ${dev}/md/dstack-scratch`,
      `mount ${dev}/md/dstack-scratch ${dir}`
    ])
  })

  test('one disk: no RAID', () => {
    const m = machine([{ name: 'nvme1n1', bytes: 250_000_000_000 }])
    const dir = join(m.dir, 'scratch')
    const r = runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: { ...m.vars, DSTACK_SCRATCH_DIR: dir } })
    expect(r.stdout).toContain(`desc=1 × NVMe, 250.0 GB at ${dir}`)
    expect(diskCalls(m.vars).map((c) => c.split(' ')[0])).toEqual(['mkfs', 'mount'])
  })

  test('disks the AMI already assembled and mounted are used where they are, untouched', () => {
    const disks = [{ name: 'nvme1n1', bytes: TB, holder: 'md127' }, { name: 'nvme2n1', bytes: TB, holder: 'md127' }]
    const m = machine(disks)
    writeFileSync(m.vars.DSTACK_PROC_MOUNTS!, `${m.vars.DSTACK_DEV_DIR}/md127 /opt/dlami/nvme xfs rw 0 0\n`)
    const r = runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: m.vars })
    expect(r.stdout).toContain('desc=2 × NVMe RAID 0, 7.6 TB at /opt/dlami/nvme\nenv=/opt/dlami/nvme\n')
    expect(diskCalls(m.vars)).toEqual([])
    // in use but mounted nowhere: a warning, no scratch folder
    const lost = machine(disks)
    const r2 = runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: lost.vars })
    expect(r2.stdout).toContain('dir=\n')
    expect(r2.stdout).toMatch(/warning: the instance-store disk\(s\) .* are in use but not mounted/)
    expect(diskCalls(lost.vars)).toEqual([])
  })

  test('a failing mkfs is a warning, the job runs without scratch', () => {
    const m = machine([{ name: 'nvme1n1', bytes: TB }])
    const r = runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: { ...m.vars, DSTACK_MKFS: 'false', DSTACK_SCRATCH_DIR: join(m.dir, 's') } })
    expect(r.stdout).toContain('dir=\ndesc=\nenv=\n')
    expect(r.stdout).toContain('warning: could not make a file system')
  })

  test('no instance storage, a machine the run does not own, or off: nothing happens', () => {
    const none = machine([{ name: 'nvme0n1', bytes: 100 * 2 ** 30, model: 'Amazon Elastic Block Store' }])
    expect(runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: none.vars }).stdout).toBe('dir=\ndesc=\nenv=\n')
    const m = machine([{ name: 'nvme1n1', bytes: TB }])
    expect(runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '0' }, env: m.vars }).stdout).toBe('dir=\ndesc=\nenv=\n')
    expect(runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '1' }, env: { ...m.vars, DSTACK_SCRATCH_DISKS: 'off' } }).stdout).toBe('dir=\ndesc=\nenv=\n')
    expect(diskCalls(m.vars)).toEqual([])
    // a local machine, configured
    const dir = join(m.dir, 'scratch')
    expect(runModules(['settings.sh', 'disks.sh'], script, { vars: { OWNS_MACHINE: '0' }, env: { ...m.vars, DSTACK_SCRATCH_DISKS: 'auto', DSTACK_SCRATCH_DIR: dir } }).stdout).toContain(`env=${dir}`)
  })

  test('the container gets the scratch folder at the same path, and the job keeps DSTACK_SCRATCH', () => {
    const plan = (dir: string) => makePlan({ kind: 'folder', root: `${dir}/store` }, { image: 'ghcr.io/acme/train:1' })
    const vars = { CODE_DIR: '/w/code', RUNNER_DIR: '/w/runner', JOB_RUNNER_DIR: '/w/job', ROOT_DIR: '/w/root', JOB_OUT_DIR: '/w/out', LOG_FILE: '/dev/null', NODES_NUM: '1', SCRATCH_DIR: '/opt/dstack/scratch' }
    const standIns = 'fail_early() { echo "$1"; exit 9; }\nNODE_ENV_NAMES=()\nexport_node_env() { :; }\ndocker() { return 0; }'
    const r = runModules(['settings.sh', 'container.sh'], 'job_command; printf "%s\\n" "${JOB_CMD[@]}"; export DSTACK_SCRATCH=/opt/dstack/scratch; job_env_unset; printf "%s " "${JOB_ENV_UNSET[@]}"', { plan, vars, standIns })
    const args = r.stdout.split('\n')
    const pairs = args.slice(0, -1).map((a, i) => `${a} ${args[i + 1]}`)
    expect(pairs).toContain('-v /opt/dstack/scratch:/opt/dstack/scratch')
    expect(pairs).toContain('-e DSTACK_SCRATCH')
    expect(args[args.length - 1]).not.toContain('DSTACK_SCRATCH')
  })
})
