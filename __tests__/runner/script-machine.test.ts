/**
 * The machine-facing parts of the runner script, executed for real with stand-ins on PATH for what
 * this host lacks (a Docker engine, nvidia-smi, a shutdown we may call), and in the environment an
 * SSM `AWS-RunShellScript` command gets (no HOME, minimal PATH, cwd /usr/bin).
 */
import { describe, expect, test, afterAll } from '@jest/globals'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { folderStore, logChunks, makePlan, removeTempDirs, runToEnd, sh, statusOf, tempDir } from './fixture.js'
import { renderRunnerScript } from '../../src/runner/render.js'

function fakeBin(tools: Record<string, string>): string {
  const dir = tempDir('fakebin-')
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`)
    chmodSync(join(dir, name), 0o755)
  }
  return dir
}

describe('docker image', () => {
  test('runs the job in `docker run` with the work folder mounted, -w the working dir, secrets as -e NAME only', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeBin({
      docker: `[ "$1" = info ] && exit 0\n[ "$1" = image ] && { echo "python@sha256:${'d'.repeat(64)} other@sha256:x"; exit 0; }\nprintf '%s\\n' "$@" > ${rec}/args\necho "inside the fake container"\nexit 0`
    })
    const { root, loc } = await folderStore({ 'src/train.py': 'x' })
    const secret = 'docker-secret-value-123'
    const end = await runToEnd(makePlan(loc, { image: 'python:3.11-slim', workingDir: 'src', secretEnvNames: ['HF_TOKEN'], commands: ['python train.py'] }), {
      secretEnv: { HF_TOKEN: secret },
      backend: { env: { PATH: `${bin}:${process.env.PATH}` } }
    })
    expect(end.exitCode).toBe(0)
    // provenance: the digest docker reports for the image
    expect(statusOf(root)).toMatchObject({ status: 'succeeded', imageDigest: `python@sha256:${'d'.repeat(64)}` })
    expect(logChunks(root).join('')).toContain('inside the fake container\n')
    const args = readFileSync(join(rec, 'args'), 'utf8').split('\n')
    expect(args.slice(0, 3)).toEqual(['run', '--rm', '-i'])
    const at = (flag: string) => args[args.indexOf(flag) + 1]
    expect(at('-w')).toBe('/workflow/src')
    expect(args).toContainEqual(expect.stringMatching(/\/wise-cat-1\/1\/code:\/workflow$/))
    // the job's own folder (job.sh, the step marker), never the runner's
    expect(args).toContainEqual(expect.stringMatching(/\/wise-cat-1\/1\/job:\/dstack-runner$/))
    expect(args[args.indexOf('HF_TOKEN') - 1]).toBe('-e')
    expect(args.join(' ')).not.toContain(secret)
    expect(args).not.toContain('--gpus') // no nvidia-smi here
    expect(args.slice(args.indexOf('--entrypoint'))).toEqual(['--entrypoint', '/bin/sh', 'python:3.11-slim', '/dstack-runner/job.sh', ''])
  })

  test('with nvidia-smi: --gpus all; an entrypoint gets the commands as its arguments (dstack: shlex.split(entrypoint) + commands); a failing container fails the run', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeBin({
      docker: `[ "$1" = info ] && exit 0\n[ "$1" = image ] && exit 1\nprintf '%s\\n' "$@" > ${rec}/args\nexit 3`,
      'nvidia-smi': 'exit 0'
    })
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { image: 'img:1', entrypoint: '/bin/bash -c', commands: ['echo hi'] }), { backend: { env: { PATH: `${bin}:${process.env.PATH}` } } })
    expect(end.exitCode).toBe(3)
    expect(statusOf(root)).toMatchObject({ status: 'failed', exitCode: 3 })
    const args = readFileSync(join(rec, 'args'), 'utf8').split('\n')
    expect(args[args.indexOf('--gpus') + 1]).toBe('all')
    const tail = args.slice(args.indexOf('--entrypoint'))
    expect(tail).toEqual(['--entrypoint', '/bin/bash', 'img:1', '-c', 'echo hi', ''])
  })
})

test('self-destruct: shutdown -h +<max duration in minutes + 10> is armed (AWS)', async () => {
  const rec = tempDir('shutdown-rec-')
  const bin = fakeBin({ shutdown: `printf '%s\\n' "$@" > ${rec}/args` })
  const { root, loc } = await folderStore()
  const end = await runToEnd(makePlan(loc, { maxDurationSec: 3600 }, { selfDestruct: true }), { backend: { env: { PATH: `${bin}:${process.env.PATH}` } } })
  expect(end.exitCode).toBe(0)
  expect(readFileSync(join(rec, 'args'), 'utf8').split('\n').slice(0, 2)).toEqual(['-h', '+70'])
  expect(logChunks(root).join('')).toContain('self-destruct armed: this machine shuts down in 70 minutes')
})

test('the SSM environment: no HOME, minimal PATH, cwd /usr/bin — HOME and LANG are set for the job', async () => {
  const { root, loc } = await folderStore()
  const plan = makePlan(loc, { commands: ['echo "home=$HOME lang=$LANG"', 'command -v tar sha256sum >/dev/null && echo tools-ok'] })
  const dir = tempDir('ssm-')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'runner.sh'), renderRunnerScript(plan))
  const r = await sh('/usr/bin/bash', [join(dir, 'runner.sh')], {
    cwd: '/usr/bin',
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin', AWS_SSM_INSTANCE_ID: 'i-1', DSTACK_WORK_ROOT: tempDir('work-') }
  })
  expect(r.code).toBe(0)
  expect(r.stdout).toMatch(/home=\/\S* lang=\S+\n/) // the script's own stdout shows the job output (SSM output)
  const log = logChunks(root).join('')
  // root as on EC2: the job runs as dstack-job with its own HOME in the attempt's folder (else /root)
  expect(log).toMatch(/home=(\/root|\S+\/wise-cat-1\/1\/home) lang=/)
  expect(log).toContain('tools-ok')
  expect(statusOf(root)).toMatchObject({ status: 'succeeded' })
})

test('one runner per attempt on an SSM instance: a second start of the same attempt refuses and leaves the first one\'s status alone', async () => {
  const { root, loc } = await folderStore()
  const dir = tempDir('ssm-twice-')
  writeFileSync(join(dir, 'runner.sh'), renderRunnerScript(makePlan(loc, { commands: ['echo first'] })))
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin', AWS_SSM_INSTANCE_ID: 'i-1', DSTACK_WORK_ROOT: tempDir('work-') }
  const first = await sh('/usr/bin/bash', [join(dir, 'runner.sh')], { cwd: '/usr/bin', env })
  expect(first.code).toBe(0)
  const status = statusOf(root)
  expect(status).toMatchObject({ status: 'succeeded' })
  const second = await sh('/usr/bin/bash', [join(dir, 'runner.sh')], { cwd: '/usr/bin', env })
  expect(second.code).toBe(3)
  expect(second.stderr).toMatch(/attempt 1 of wise-cat-1 already has a runner on this machine .*: not starting a second one/)
  expect(statusOf(root)).toEqual(status)
})

afterAll(() => removeTempDirs())
