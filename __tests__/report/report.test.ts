import { describe, it, expect } from '@jest/globals'
import { runOutputs, runMarkdown, formatDuration, formatBytes } from '../../src/report/index.js'
import { DEFAULTS, type RunRecord, type RunSpec } from '../../src/model/index.js'

const spec = {
  workflow: 'train', format: 'workflows.yaml', source: { file: '.dstack/workflows.yaml', line: 3, column: 5 }, commands: ['python train.py'], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [{ path: 'model', mount: false }], deps: [], ports: [], cache: [],
  resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 21600, retry: DEFAULTS.retry,
  instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
} satisfies RunSpec

const record: RunRecord = {
  run: 'wet-mangust-1', repoId: 'github.com/acme/ml', workflow: 'train', spec, backend: 'aws', args: [],
  revision: { repoId: 'github.com/acme/ml', sha: 'a'.repeat(40), branch: 'feature|x', pr: 12, event: 'pull_request', snapshotSha256: 'b'.repeat(64) },
  status: 'interrupted', reason: 'spot reclaimed | twice', exitCode: 1, submittedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T01:02:03Z',
  attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z', status: 'interrupted', machine: { id: 'i-123', backend: 'aws', instanceType: 'g5.xlarge', market: 'spot', zone: 'us-east-1a', pricePerHour: 0.4, priceSource: 'ec2:DescribeSpotPriceHistory' } }],
  tags: ['best'], costUsd: 0.1234
}
const manifest = [{ path: 'model/weights.json', size: 2048, sha256: 'c'.repeat(64) }]
const ctx = { artifactUrl: (p: string) => `https://example/${p}`, artifactsUrl: 'https://example/' }

describe('runOutputs', () => {
  it('maps the record to every declared output as strings', () => {
    const o = runOutputs(record, manifest, ctx)
    expect(o).toMatchObject({ 'run-name': 'wet-mangust-1', status: 'interrupted', 'exit-code': '1', revision: 'a'.repeat(40), duration: '3723', 'instance-id': 'i-123', 'instance-type': 'g5.xlarge', market: 'spot', cost: '0.1234', tags: '["best"]' })
    expect(JSON.parse(o.artifacts!)).toEqual([{ ...manifest[0], url: 'https://example/model/weights.json' }])
  })
})

describe('runMarkdown', () => {
  const md = runMarkdown(record, manifest, ctx)
  it('has the status, revision, cost, attempts and artifact links', () => {
    expect(md).toContain('run `wet-mangust-1` interrupted')
    expect(md).toContain('`aaaaaaaaaaaa` on `feature\\|x` (PR/MR #12)')
    expect(md).toContain('| Cost | $0.1234 |')
    expect(md).toContain('| 1 | g5.xlarge us-east-1a i-123 | spot | $0.4000 (ec2:DescribeSpotPriceHistory) | interrupted |')
    expect(md).toContain('[model/weights.json](https://example/model/weights.json) | 2.0 KiB')
  })
  it('escapes table-breaking characters in user text', () => {
    expect(md).toContain('> spot reclaimed \\| twice')
  })
  it('truncates to the cap', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ path: `f${i}`, size: 1, sha256: 'd'.repeat(64) }))
    expect(runMarkdown(record, many, { ...ctx, maxChars: 3000 }).length).toBeLessThanOrEqual(3000)
  })
})

describe('formatting', () => {
  it('formats durations and sizes', () => {
    expect(formatDuration(3723)).toBe('1h 2m 3s')
    expect(formatDuration(5)).toBe('5s')
    expect(formatBytes(1536)).toBe('1.5 KiB')
  })
})
