import { describe, it, expect } from '@jest/globals'
import { runMarkdown } from '../../src/report/index.js'
import { runSection } from '../../src/report/section.js'
import { policyFor } from '../../src/report/md-escape.js'
import { diskText } from '../../src/report/disk-row.js'
import { DEFAULTS, type RunRecord, type RunSpec } from '../../src/model/index.js'

const spec = {
  workflow: 'train', format: 'dstack.yml', source: { file: '.dstack/train.dstack.yml', line: 1, column: 1 }, commands: ['python train.py'], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [], deps: [], ports: [], cache: [],
  resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 3600, retry: DEFAULTS.retry,
  instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
} satisfies RunSpec
const machine = { id: 'i-1', backend: 'aws' as const, instanceType: 'g5.12xlarge', market: 'spot' as const, zone: 'us-east-1a', volumeGiB: 100 }
const record = (m: RunRecord['attempts'][number]['machine']): RunRecord => ({
  run: 'calm-otter-1', repoId: 'github.com/acme/ml', workflow: 'train', spec, backend: 'aws', args: [],
  revision: { repoId: 'github.com/acme/ml', sha: 'a'.repeat(40), event: 'push', snapshotSha256: 'b'.repeat(64) },
  status: 'succeeded', submittedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:10:00Z',
  attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z', status: 'succeeded', ...(m ? { machine: m } : {}) }], tags: []
})
const ctx = { artifactUrl: (p: string) => `https://example/${p}`, artifactsUrl: 'https://example/' }

describe('the Disk row', () => {
  it('says what root volume and scratch folder the job had', () => {
    const scratch = '2 × NVMe RAID 0, 7.6 TB at /opt/dstack/scratch'
    expect(diskText(record(machine), scratch)).toBe(`gp3 100 GiB, 3000 IOPS, 125 MiB/s · scratch: ${scratch}`)
    const md = runSection(record({ ...machine, volumeType: 'io2', volumeIops: 20000 }), [], { ...ctx, policy: policyFor([ctx.artifactsUrl]), extras: { scratch } })
    expect(md).toContain(`| Disk | io2 100 GiB, 20000 IOPS · scratch: ${scratch} |`)
  })

  it('is left out when the run says nothing of its disks, and escapes what the runner wrote', () => {
    expect(runMarkdown(record(undefined), [], ctx)).not.toContain('| Disk |')
    expect(runMarkdown(record({ id: 'local:1', backend: 'local' }), [], ctx)).not.toContain('| Disk |')
    const md = runMarkdown(record(undefined), [], { ...ctx, scratch: '1 × NVMe | <b>x</b>' })
    expect(md).toContain('| Disk | scratch: 1 × NVMe \\| ')
    expect(md).not.toContain('<b>')
  })
})
