/**
 * The simulated instance's stand-in for one aws CLI command: `configure export-credentials` answers
 * from the environment without a python start-up. It must print what the real CLI prints there, byte
 * for byte, or the scenarios would test the runner against a CLI that does not exist.
 */
import { describe, expect, it, afterAll } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { awsCliPath } from '../../helpers/s3server.js'
import { RUNNER_AWS } from './sim-instance.js'

const dir = mkdtempSync(join(tmpdir(), 'runner-aws-'))
const double = join(dir, 'runner-aws')
writeFileSync(double, RUNNER_AWS)
chmodSync(double, 0o755)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const base = { PATH: '/usr/bin:/bin', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', REAL_AWS: awsCliPath(), FAKE_AWS_CALLS: join(dir, 'calls.log') }
const ARGS = ['configure', 'export-credentials', '--format', 'env-no-export']
const run = (cmd: string, env: Record<string, string>) => {
  const r = spawnSync(cmd, ARGS, { env: { ...base, ...env }, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout }
}

describe('the simulated instance aws CLI', () => {
  it.each([
    ['keys', { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }],
    ['keys and a session token', { AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEBYaDK+session/token==' }]
  ])('export-credentials from the environment (%s): the same bytes as the real CLI, and no CLI process', (_label, env) => {
    const calls = () => readFileSync(base.FAKE_AWS_CALLS, { encoding: 'utf8', flag: 'a+' })
    const before = calls()
    const fake = run(double, env)
    expect(calls()).toBe(before)
    expect(fake).toEqual(run(awsCliPath(), env))
    expect(fake.code).toBe(0)
  })

  it('without keys in the environment it is the real CLI (and says so in the call log)', () => {
    const fake = run(double, {})
    expect(fake).toEqual(run(awsCliPath(), {}))
    expect(fake.code).not.toBe(0)
    expect(readFileSync(base.FAKE_AWS_CALLS, 'utf8')).toContain('configure export-credentials --format env-no-export')
  })
})
