/**
 * The runner script executed for real by bash (through the LocalBackend) against a folder store.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { allFiles, folderStore, logChunks, makePlan, readKey, removeTempDirs, runPrefix, runToEnd, sha256, startRun, statusOf, waitFor } from './fixture.js'

const P = runPrefix()

describe('runner script, folder store', () => {
  test('success: setup then commands, env, args, run name and DSTACK_* are visible; artifacts + manifest', async () => {
    const { root, loc } = await folderStore({ 'src/train.py': 'print(1)\n', 'data/in.txt': 'input\n' })
    const plan = makePlan(loc, {
      workingDir: 'src',
      setup: ['echo setup-ran > setup.txt'],
      commands: [
        'echo "args:" ${{ run.args }}',
        'printf "%s|" ${{ run.args }}; echo',
        'echo "name=${{ run.name }} wf=$DSTACK_WORKFLOW repo=$DSTACK_REPO_ID rev=$DSTACK_REVISION attempt=$DSTACK_ATTEMPT run=$DSTACK_RUN_NAME"',
        'echo "greeting=$GREETING home=$HOME pwd=$(pwd)"',
        'mkdir -p out/sub && echo one > out/a.txt && printf two > out/sub/b.bin && cp setup.txt single.txt'
      ],
      env: { GREETING: 'hello world' },
      args: ['--lr', '0.1 0.2'],
      artifacts: [{ path: 'out', mount: false }, { path: 'single.txt', mount: false }]
    })
    const end = await runToEnd(plan)
    expect(end).toMatchObject({ state: 'ended', exitCode: 0 })
    const st = statusOf(root)!
    expect(st).toMatchObject({ phase: 'done', status: 'succeeded', exitCode: 0 })
    expect(typeof st.startedAt).toBe('string')
    expect(typeof st.endedAt).toBe('string')
    const log = logChunks(root).join('')
    expect(st.logChunks).toBe(logChunks(root).length)
    expect(log).toContain('args: --lr 0.1 0.2\n')
    expect(log).toContain('--lr|0.1 0.2|\n')
    expect(log).toContain('name=wise-cat-1 wf=train repo=github.com/acme/models rev=c0ffee0 attempt=1 run=wise-cat-1')
    expect(log).toMatch(/greeting=hello world home=\/\S* pwd=\S*\/wise-cat-1\/1\/code\/src\n/)
    expect(readKey(root, `${P}/artifacts/out/a.txt`)).toBe('one\n')
    expect(readKey(root, `${P}/artifacts/out/sub/b.bin`)).toBe('two')
    expect(readKey(root, `${P}/artifacts/single.txt`)).toBe('setup-ran\n')
    const manifest = JSON.parse(readKey(root, `${P}/artifacts.json`)!)
    expect(manifest).toEqual([
      { path: 'out/a.txt', size: 4, sha256: sha256('one\n') },
      { path: 'out/sub/b.bin', size: 3, sha256: sha256('two') },
      { path: 'single.txt', size: 10, sha256: sha256('setup-ran\n') }
    ])
    // the seconds the machine is billed for after the job, said in the log: files, bytes (4 + 3 + 10), time
    expect(log).toMatch(/\[dstack\] artifacts: 3 file\(s\), 17B, stored in \d+\.\d s\n/)
    // no temp files left in the store
    expect(allFiles(root).filter((f) => f.includes('.~tmp.'))).toEqual([])
  })

  test('a failing command stops the job: later commands do not run; status failed with the exit code; artifacts still saved', async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, {
      commands: ['mkdir -p out && echo partial > out/p.txt', 'echo before', 'exit 7', 'echo SHOULD-NOT-RUN > out/later.txt'],
      artifacts: [{ path: 'out', mount: false }, { path: 'missing-dir', mount: false }]
    })
    const end = await runToEnd(plan)
    expect(end).toMatchObject({ state: 'ended', exitCode: 7 })
    const st = statusOf(root)!
    expect(st).toMatchObject({ phase: 'done', status: 'failed', exitCode: 7 })
    expect(st.reason).toContain('`commands[3]` (exit 7) exited with 7')
    expect(st.reason).toContain('missing-dir')
    const log = logChunks(root).join('')
    expect(log).toContain('before\n')
    expect(log).not.toContain('SHOULD-NOT-RUN')
    expect(readKey(root, `${P}/artifacts/out/p.txt`)).toBe('partial\n')
    expect(readKey(root, `${P}/artifacts/out/later.txt`)).toBeUndefined()
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!)).toEqual([{ path: 'out/p.txt', size: 8, sha256: sha256('partial\n') }])
  })

  test('a job killed by a signal: the reason names the signal', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { commands: ['echo start', 'kill -KILL $$'] }))
    expect(end.exitCode).toBe(137)
    expect(statusOf(root)!.reason).toContain('`commands[2]` (kill -KILL $$) exited with 137 (killed by SIGKILL: out of memory?)')
  })

  test('a missing artifact does not fail a successful job; the reason says so', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { commands: ['true'], artifacts: [{ path: 'nope', mount: false }] }))
    expect(end.exitCode).toBe(0)
    const st = statusOf(root)!
    expect(st.status).toBe('succeeded')
    expect(st.reason).toMatch(/not found after the job: nope/)
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!)).toEqual([])
  })

  test('log chunks arrive while the job runs; their concatenation is the whole output, no line lost or doubled', async () => {
    const { root, loc } = await folderStore()
    const lines = Array.from({ length: 200 }, (_, i) => `line-${i}`)
    const plan = makePlan(loc, {
      commands: ['for i in $(seq 0 99); do echo line-$i; done', 'echo FIRST-DONE', 'sleep 3', 'for i in $(seq 100 199); do echo line-$i; done', 'echo >&2 to-stderr']
    })
    const s = await startRun(plan)
    // the first part is in the store while the job still sleeps
    await waitFor('first output in the store', () => logChunks(root).join('').includes('FIRST-DONE'), 10_000)
    expect((await s.handle.poll()).state).toBe('running')
    expect(logChunks(root).join('')).not.toContain('line-150')
    const end = await s.ended()
    expect(end.exitCode).toBe(0)
    const chunks = logChunks(root)
    expect(chunks.length).toBeGreaterThanOrEqual(2)
    expect(chunks.every((c) => c.length > 0)).toBe(true)
    const jobLines = chunks.join('').split('\n').filter((l) => l.startsWith('line-'))
    expect(jobLines).toEqual(lines)
    expect(chunks.join('')).toContain('to-stderr\n')
    expect(statusOf(root)!.logChunks).toBe(chunks.length)
  })

  test('a mount: true artifact is in the store before the job ends', async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, {
      commands: ['mkdir -p ckpt && echo step1 > ckpt/s1.txt', 'sleep 4', 'echo step2 > ckpt/s2.txt'],
      artifacts: [{ path: 'ckpt', mount: true }]
    })
    const s = await startRun(plan, { backend: { env: { DSTACK_CHECKPOINT_INTERVAL: '1' } } })
    await waitFor('the mounted artifact', () => readKey(root, `${P}/artifacts/ckpt/s1.txt`) === 'step1\n', 10_000)
    expect((await s.handle.poll()).state).toBe('running')
    expect(readKey(root, `${P}/artifacts.json`)).toBeUndefined()
    expect((await s.ended()).exitCode).toBe(0)
    expect(readKey(root, `${P}/artifacts/ckpt/s2.txt`)).toBe('step2\n')
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!).map((e: { path: string }) => e.path)).toEqual(['ckpt/s1.txt', 'ckpt/s2.txt'])
  })

  test('a checkpoint file the job deletes is deleted from the store at the next sync (the store mirrors the folder)', async () => {
    const { root, loc } = await folderStore()
    const stored = join(root, `${P}/artifacts/ckpt`)
    // the job waits on the store itself (a folder here): it ends only once the sync removed old.txt
    const plan = makePlan(loc, {
      commands: [
        'mkdir -p ckpt && echo old > ckpt/old.txt',
        `for i in $(seq 600); do [ -f '${stored}/old.txt' ] && break; sleep 0.1; done; [ -f '${stored}/old.txt' ]`,
        'echo new > ckpt/new.txt.tmp && mv ckpt/new.txt.tmp ckpt/new.txt && rm ckpt/old.txt',
        `for i in $(seq 600); do [ ! -e '${stored}/old.txt' ] && [ -f '${stored}/new.txt' ] && break; sleep 0.1; done; [ ! -e '${stored}/old.txt' ]`
      ],
      artifacts: [{ path: 'ckpt', mount: true }]
    })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_CHECKPOINT_INTERVAL: '1' } } })
    expect(end.exitCode).toBe(0)
    expect(readKey(root, `${P}/artifacts/ckpt/new.txt`)).toBe('new\n')
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!).map((e: { path: string }) => e.path)).toEqual(['ckpt/new.txt'])
  })

  test('max duration: the job is stopped, status timed-out, artifacts and logs saved', async () => {
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, {
      maxDurationSec: 3,
      commands: ['mkdir -p out && echo early > out/e.txt && echo started', 'sleep 60', 'echo NEVER'],
      artifacts: [{ path: 'out', mount: false }]
    })
    const t0 = Date.now()
    const end = await runToEnd(plan)
    expect(Date.now() - t0).toBeLessThan(20_000)
    expect(end.exitCode).toBe(124)
    const st = statusOf(root)!
    expect(st).toMatchObject({ phase: 'done', status: 'timed-out' })
    expect(st.reason).toContain('max duration of 3s')
    expect(readKey(root, `${P}/artifacts/out/e.txt`)).toBe('early\n')
    const log = logChunks(root).join('')
    expect(log).toContain('started\n')
    expect(log).not.toContain('NEVER')
  })

  test('cancel(): SIGTERM to the runner stops the job; status cancelled; artifacts and logs saved', async () => {
    const { root, loc } = await folderStore()
    const marker = join(loc.kind === 'folder' ? loc.root : '', 'job-still-ran')
    const plan = makePlan(loc, {
      commands: ['mkdir -p out && echo saved > out/s.txt && echo running-now', 'sleep 30', `touch ${marker}`],
      artifacts: [{ path: 'out', mount: false }]
    })
    const s = await startRun(plan)
    await waitFor('the job to print', () => logChunks(root).join('').includes('running-now'), 10_000)
    await s.handle.cancel('test')
    const end = await s.ended()
    expect(end.exitCode).toBe(143)
    const st = statusOf(root)!
    expect(st).toMatchObject({ phase: 'done', status: 'cancelled' })
    expect(st.reason).toContain('SIGTERM')
    expect(readKey(root, `${P}/artifacts/out/s.txt`)).toBe('saved\n')
    expect(logChunks(root).join('')).toContain('running-now\n')
    await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(marker)).toBe(false)
  })

  test('hostile env values, args and commands reach the job literally and execute nothing', async () => {
    const pwned = join(await import('node:os').then((o) => o.tmpdir()), `pwned-${process.pid}-${Date.now()}`)
    rmSync(pwned, { force: true })
    const hostile = [`$(touch ${pwned})`, `\`touch ${pwned}\``, `'; touch ${pwned}; '`, `"; touch ${pwned}; "`, `a\ntouch ${pwned}\nb`, `\\' ; touch ${pwned} #`, '${HOME}', '%s %n']
    const { root, loc } = await folderStore()
    const env: Record<string, string> = {}
    hostile.forEach((h, i) => (env[`HOSTILE_${i}`] = h))
    const plan = makePlan(loc, {
      env,
      args: hostile,
      commands: [
        'mkdir -p out',
        'for i in 0 1 2 3 4 5 6 7; do v="HOSTILE_$i"; printf "%s" "${!v}" > "out/env-$i"; done',
        'i=0; for a in ${{ run.args }}; do printf "%s" "$a" > "out/arg-$i"; i=$((i+1)); done; echo "$i" > out/count'
      ],
      artifacts: [{ path: 'out', mount: false }]
    })
    const end = await runToEnd(plan)
    expect(end.exitCode).toBe(0)
    expect(existsSync(pwned)).toBe(false)
    expect(readKey(root, `${P}/artifacts/out/count`)).toBe(`${hostile.length}\n`)
    hostile.forEach((h, i) => {
      expect(readKey(root, `${P}/artifacts/out/env-${i}`)).toBe(h)
      expect(readKey(root, `${P}/artifacts/out/arg-${i}`)).toBe(h)
    })
  })

  test('secret values come from the environment only: never in the script, never in any stored object', async () => {
    const secret = 'sup3r-s3cret-value-XYZ'
    const { root, loc } = await folderStore()
    const plan = makePlan(loc, {
      secretEnvNames: ['HF_TOKEN'],
      commands: ['test "$HF_TOKEN" = "$(printf sup3r-s3cret-value)-XYZ" && echo secret-ok', 'printf "%s" "$HF_TOKEN" | sha256sum'],
      artifacts: []
    })
    const end = await runToEnd(plan, { secretEnv: { HF_TOKEN: secret } })
    expect(end.exitCode).toBe(0)
    expect(end.script).toContain('HF_TOKEN')
    expect(end.script).not.toContain(secret)
    const log = logChunks(root).join('')
    expect(log).toContain('secret-ok')
    expect(log).toContain(sha256(secret))
    for (const f of allFiles(root)) expect(readFileSync(join(root, f)).toString('latin1')).not.toContain(secret)
  })

  test('a missing secret fails before the job, naming it', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { secretEnvNames: ['NOT_SET_ANYWHERE_X'], commands: ['echo RAN'] }))
    expect(end.exitCode).toBe(1)
    const st = statusOf(root)!
    expect(st).toMatchObject({ status: 'failed', phase: 'done' })
    expect(st.reason).toContain('NOT_SET_ANYWHERE_X')
    expect(logChunks(root).join('')).not.toContain('RAN\n')
  })

  test('a missing code snapshot fails with a reason', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { codeKey: `code/${'b'.repeat(64)}.tar.gz` }))
    expect(end.exitCode).toBe(1)
    expect(statusOf(root)!.reason).toContain('could not fetch the code snapshot')
  })

  test('deps: another run\'s artifacts are copied into the working folder before the commands', async () => {
    const { root, loc } = await folderStore()
    const depPrefix = 'github.com/acme/data/runs/old-dog-3/artifacts'
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(join(root, depPrefix, 'data'), { recursive: true })
    writeFileSync(join(root, depPrefix, 'data', 'train.csv'), 'a,b\n1,2\n')
    writeFileSync(join(root, depPrefix, 'unlisted.txt'), 'not in the manifest\n')
    const files = [{ path: 'data/train.csv', sha256: sha256('a,b\n1,2\n') }]
    const end = await runToEnd(makePlan(loc, { deps: [{ label: 'tag `dataset`', artifactsPrefix: depPrefix, files }], commands: ['cat data/train.csv', 'test ! -e unlisted.txt'] }))
    expect(end.exitCode).toBe(0)
    expect(logChunks(root).join('')).toContain('a,b\n1,2\n')
  })

  test('a mounted artifact file deleted after it was synced is gone from the store at the end: the store matches the manifest', async () => {
    const { root, loc } = await folderStore()
    const synced = join(root, P, 'artifacts', 'ckpt', 'old.txt')
    const plan = makePlan(loc, {
      env: { SYNCED: synced },
      commands: ['mkdir -p ckpt && echo old > ckpt/old.txt', 'for i in $(seq 600); do [ -f "$SYNCED" ] && break; sleep 0.1; done; test -f "$SYNCED"', 'rm ckpt/old.txt && echo new > ckpt/new.txt'],
      artifacts: [{ path: 'ckpt', mount: true }]
    })
    const end = await runToEnd(plan)
    expect(end.exitCode).toBe(0)
    expect(readKey(root, `${P}/artifacts/ckpt/old.txt`)).toBeUndefined()
    expect(readKey(root, `${P}/artifacts/ckpt/new.txt`)).toBe('new\n')
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!)).toEqual([{ path: 'ckpt/new.txt', size: 4, sha256: sha256('new\n') }])
  })

  test('deps: a file that differs from its manifest entry is refused before the commands run', async () => {
    const { root, loc } = await folderStore()
    const depPrefix = 'github.com/acme/data/runs/old-dog-3/artifacts'
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(join(root, depPrefix, 'data'), { recursive: true })
    writeFileSync(join(root, depPrefix, 'data', 'train.csv'), 'tampered\n')
    const files = [{ path: 'data/train.csv', sha256: sha256('a,b\n1,2\n') }]
    const end = await runToEnd(makePlan(loc, { deps: [{ label: 'tag `dataset`', artifactsPrefix: depPrefix, files }], commands: ['echo RAN'] }))
    expect(end.exitCode).toBe(1)
    expect(statusOf(root)!.reason).toContain('`data/train.csv` of tag `dataset` has sha256 ' + sha256('tampered\n'))
    expect(logChunks(root).join('')).not.toContain('RAN')
  })

  test('image without a Docker engine: failed, with a message that says what to do', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { image: 'pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime', commands: ['python -V'] }))
    expect(end.exitCode).toBe(1)
    const st = statusOf(root)!
    expect(st.status).toBe('failed')
    expect(st.reason).toContain('workflow `train` needs the docker image `pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime`, but no Docker engine is available on this machine')
    expect(st.reason).toMatch(/start the Docker engine|install Docker/)
  })

  test('python: a different python3 only warns', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { python: '2.7', commands: ['echo ok'] }))
    expect(end.exitCode).toBe(0)
    expect(logChunks(root).join('')).toMatch(/warning: the workflow asks for python 2\.7, but/)
  })

  describe('spot interruption notice (fake IMDSv2 on 127.0.0.1)', () => {
    let server: Server
    let endpoint: string
    let notice = false
    const seen: string[] = []
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers['x-aws-ec2-metadata-token'] ?? ''}${req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ?? ''}`)
        if (req.method === 'PUT' && req.url === '/latest/api/token') {
          res.end('TOKEN123')
        } else if (req.method === 'GET' && req.url === '/latest/meta-data/spot/instance-action') {
          if (req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN123') return void res.writeHead(401).end()
          if (!notice) return void res.writeHead(404).end('Not Found')
          res.setHeader('content-type', 'text/plain')
          res.end('{"action": "terminate", "time": "2026-11-26T18:30:00Z"}')
        } else res.writeHead(404).end()
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((r) => server.close(() => r())))

    test('404 then a notice → the job is stopped, everything saved, status interrupted', async () => {
      const { root, loc } = await folderStore()
      const plan = makePlan(
        loc,
        { commands: ['mkdir -p out && echo ckpt > out/c.txt && echo training', 'sleep 60', 'echo NEVER'], artifacts: [{ path: 'out', mount: false }] },
        { spotWatch: true }
      )
      const s = await startRun(plan, { backend: { env: { DSTACK_IMDS_ENDPOINT: endpoint, DSTACK_SPOT_POLL_INTERVAL: '1' } } })
      await waitFor('the job to print', () => logChunks(root).join('').includes('training'), 10_000)
      await waitFor('a 404 poll', () => seen.some((l) => l.startsWith('GET /latest/meta-data/spot/instance-action TOKEN123')), 10_000)
      expect((await s.handle.poll()).state).toBe('running')
      notice = true
      const end = await s.ended()
      expect(end.exitCode).toBe(75)
      const st = statusOf(root)!
      expect(st).toMatchObject({ phase: 'done', status: 'interrupted' })
      expect(st.reason).toContain('terminate at 2026-11-26T18:30:00Z')
      expect(readKey(root, `${P}/artifacts/out/c.txt`)).toBe('ckpt\n')
      expect(logChunks(root).join('')).not.toContain('NEVER')
      expect(seen.some((l) => l === 'PUT /latest/api/token 300')).toBe(true)
    })
  })
})

test('the runner writes a note of the job group for release() and removes it at the end', async () => {
  const { loc } = await folderStore()
  const s = await startRun(makePlan(loc, { commands: ['sleep 2'] }))
  const pid = Number(s.machines[0]!.id.split(':')[1])
  const note = join((await import('node:os')).tmpdir(), `dstack-runner-${pid}.jobpgid`)
  await waitFor('the job note', () => existsSync(note), 10_000)
  expect(Number(readFileSync(note, 'utf8'))).toBeGreaterThan(1)
  await s.ended()
  expect(existsSync(note)).toBe(false)
})

afterAll(() => removeTempDirs())
