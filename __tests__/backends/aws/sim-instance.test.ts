/**
 * The simulated instance's stand-ins for two aws CLI commands, each without a python start-up:
 * `configure export-credentials` (the runner's) answers from the environment, and the bootstrap's
 * `s3 cp` of runner.sh is a signed curl GET. Each must answer what the real CLI answers there, byte
 * for byte, or the scenarios would test the runner against a CLI that does not exist.
 */
import { describe, expect, it, afterAll, beforeAll } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { awsCliPath } from '../../helpers/s3server.js'
import { RUNNER_AWS, WRAPPER } from './sim-instance.js'
import { renderBootstrap } from '../../../src/backends/aws/index.js'
import { startS3Server, type S3TestServer } from '../../helpers/s3server.js'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { spawn } from 'node:child_process'

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

describe('the simulated instance bootstrap aws CLI', () => {
  let s3: S3TestServer
  beforeAll(async () => {
    s3 = await startS3Server('boot-bucket')
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'dstack/github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh', Body: '#!/bin/bash\necho runner\n' }))
  })
  afterAll(async () => s3?.close())

  /** the bootstrap's own fetch line, run by bash with the wrapper as `aws` (never spawnSync: s3rver runs in this process) */
  async function fetchRunner(key: string, fake: boolean): Promise<{ code: number | null; stdout: string; stderr: string; file?: string }> {
    const line = renderBootstrap({ bucket: s3.bucket, scriptKey: key, scriptSha256: 'a'.repeat(64), s3Region: 'us-east-1', region: 'us-east-1' }).find((l) => l.startsWith('aws s3 cp'))!
    const d = mkdtempSync(join(dir, 'd-'))
    const bin = mkdtempSync(join(dir, 'bin-'))
    writeFileSync(join(bin, 'aws'), WRAPPER)
    chmodSync(join(bin, 'aws'), 0o755)
    const env = { ...base, ...s3.env, PATH: `${bin}:/usr/bin:/bin`, FAKE_S3_ENDPOINT: s3.endpoint, FAKE_S3_CP: fake ? '1' : '', D: d }
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn('bash', ['-c', line], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      c.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
      c.on('close', (code) => resolve({ code, stdout, stderr }))
    })
    let file: string | undefined
    try {
      file = readFileSync(join(d, 'runner.sh'), 'utf8')
    } catch {
      file = undefined
    }
    return { ...out, ...(file === undefined ? {} : { file }) }
  }

  it.each([
    ['the stored runner.sh', 'dstack/github.com/acme/models/runs/brave-otter-1/attempts/1/runner.sh'],
    ['a key that is not there', 'dstack/github.com/acme/models/runs/brave-otter-1/attempts/2/runner.sh']
  ])('fetching %s: the same exit code, output and file as the real CLI, and no CLI process', async (_label, key) => {
    const log = () => readFileSync(base.FAKE_AWS_CALLS, { encoding: 'utf8', flag: 'a+' })
    const before = log()
    const fake = await fetchRunner(key, true)
    expect(log()).toBe(before)
    const real = await fetchRunner(key, false)
    expect(log()).not.toBe(before)
    expect(fake).toEqual(real)
  })
})
