/**
 * The action's `mode: check` through the real main step (src/entry/action-main.ts): inputs from
 * the environment as GitHub passes them, the AWS preflight against the EC2/SSM/IAM/Service Quotas
 * doubles, rows in the `checks` output and the job summary, the step failed when a check fails.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/entry/action-main.js'
import { FakeCloud } from '../backends/aws/fake-cloud.js'

let cloud: FakeCloud
let dir: string
const saved = { ...process.env }

beforeEach(() => {
  cloud = new FakeCloud()
  dir = mkdtempSync(join(tmpdir(), 'action-check-'))
  writeFileSync(join(dir, 'out'), '')
  writeFileSync(join(dir, 'summary'), '')
  Object.assign(process.env, {
    INPUT_MODE: 'check',
    INPUT_BACKEND: 'aws',
    INPUT_REGION: 'us-east-1',
    'INPUT_INSTANCE-PROFILE': 'dstack-runner',
    'INPUT_SECURITY-GROUP-IDS': 'sg-0abc',
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    DSTACK_STORE: join(dir, 'store')
  })
})

afterEach(() => {
  cloud.restore()
  process.env = { ...saved }
  process.exitCode = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('mode: check', () => {
  it('writes one row per check to `checks` and the summary, and fails the step on a failed check', async () => {
    await run()
    const out = readFileSync(join(dir, 'out'), 'utf8')
    const rows = JSON.parse(/checks<<(\S+)\n([\s\S]*?)\n\1/.exec(out)![2]!) as { check: string; status: string; fix?: string }[]
    expect(rows.map((r) => `${r.status} ${r.check}`)).toEqual([
      'ok credentials',
      'ok instance profile',
      'ok pass the instance role',
      'ok default VPC in us-east-1',
      'fail security groups in us-east-1',
      'ok AMI in us-east-1'
    ])
    expect(rows[4]!.fix).toMatch(/security groups belong to one region/)
    const summary = readFileSync(join(dir, 'summary'), 'utf8')
    expect(summary).toContain('dstack run: AWS check')
    expect(summary).toMatch(/\| ❌ \| security groups in us-east-1 \| InvalidGroup.NotFound: The security group 'sg-0abc' does not exist \|/)
    expect(process.exitCode).toBe(1)
    expect(cloud.launches).toHaveLength(0)
  })

  it('passes when every check passes', async () => {
    cloud.securityGroups.add('sg-0abc')
    await run()
    expect(readFileSync(join(dir, 'summary'), 'utf8')).not.toContain('❌')
    expect(process.exitCode).toBeUndefined()
  })
})
