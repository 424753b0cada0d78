/** LocalBackend: start, poll, cancel, release, releaseMachine, detached, stderr diagnostics. */
import { describe, expect, test } from '@jest/globals'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { LocalBackend } from '../../../src/backends/local/index.js'
import type { MachineInfo, StartRequest } from '../../../src/model/index.js'
import { waitFor } from '../../runner/fixture.js'

function request(script: string, over: Partial<StartRequest> = {}): StartRequest & { machines: MachineInfo[]; lines: string[] } {
  const machines: MachineInfo[] = []
  const lines: string[] = []
  return {
    runName: 'r1',
    repoId: 'github.com/a/b',
    attempt: 1,
    spec: {} as never,
    store: { kind: 'folder', root: tmpdir() },
    runnerScriptKey: 'k',
    runnerScript: script,
    secretEnv: {},
    previousAttempts: [],
    onMachine: (m) => void machines.push(m),
    log: (l) => void lines.push(l),
    signal: new AbortController().signal,
    machines,
    lines,
    ...over
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function ended(h: { poll(): Promise<{ state: string }> }) {
  return waitFor('the script to end', async () => {
    const s = await h.poll()
    return s.state === 'ended' ? s : undefined
  })
}

describe('LocalBackend', () => {
  test('start: reports the machine local:<pid> before returning; poll reports the exit code; secrets reach the env', async () => {
    const req = request('echo "$MY_SECRET" > "$OUT"; exit 3', { secretEnv: { MY_SECRET: 'v1' } })
    const out = join(tmpdir(), `lb-${process.pid}-${Date.now()}`)
    const b = new LocalBackend({ env: { OUT: out } })
    expect(b.name).toBe('local')
    const h = await b.start(req)
    expect(req.machines).toHaveLength(1)
    expect(req.machines[0]).toMatchObject({ backend: 'local', id: expect.stringMatching(/^local:\d+$/) })
    expect(h.machine.id).toBe(req.machines[0]!.id)
    const s = await ended(h)
    expect(s).toMatchObject({ state: 'ended', exitCode: 3 })
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(out, 'utf8')).toBe('v1\n')
    rmSync(out, { force: true })
    await h.release()
    await h.release() // idempotent
  })

  test('a script that fails before writing status: the last stderr is the reason', async () => {
    const h = await new LocalBackend().start(request('echo "aws: command not found" >&2; exit 127'))
    const s = await ended(h)
    expect(s).toMatchObject({ state: 'ended', exitCode: 127 })
    expect((s as { reason?: string }).reason).toContain('aws: command not found')
    await h.release()
  })

  test('cancel sends SIGTERM to the runner, which can still save before exiting', async () => {
    const h = await new LocalBackend().start(request('trap \'echo saved >&2; exit 143\' TERM; while true; do sleep 0.1; done'))
    expect((await h.poll()).state).toBe('running')
    await new Promise((r) => setTimeout(r, 300))
    await h.cancel('test')
    const s = await ended(h)
    expect(s).toMatchObject({ exitCode: 143 })
    await h.release()
  })

  test('release kills a runner that ignores SIGTERM after the grace period, with its whole group', async () => {
    const h = await new LocalBackend({ graceMs: 500 }).start(request("trap '' TERM; sleep 30 & wait"))
    const pid = Number(h.machine.id.split(':')[1])
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    await h.release()
    expect(Date.now() - t0).toBeLessThan(5000)
    await waitFor('the runner to die', () => !alive(pid))
    // nothing left in its process group
    await waitFor('the group to die', () => {
      try {
        process.kill(-pid, 0)
        return false
      } catch {
        return true
      }
    })
  })

  test('releaseMachine stops a runner recorded by another process (post step, `stop`)', async () => {
    const h = await new LocalBackend({ detached: true }).start(request('while true; do sleep 0.2; done'))
    const pid = Number(h.machine.id.split(':')[1])
    expect(alive(pid)).toBe(true)
    await new LocalBackend({ graceMs: 2000 }).releaseMachine({ id: h.machine.id, backend: 'local' })
    await waitFor('the runner to die', () => !alive(pid))
    // unknown / foreign ids are ignored
    await new LocalBackend().releaseMachine({ id: 'local:1', backend: 'local' })
    await new LocalBackend().releaseMachine({ id: 'i-0123', backend: 'aws' })
    await new LocalBackend().releaseMachine({ id: `local:${process.pid}`, backend: 'local' })
    expect(alive(process.pid)).toBe(true)
  })

  test('detached: the child is unref()ed and keeps running on its own', async () => {
    const marker = join(tmpdir(), `lb-detached-${process.pid}-${Date.now()}`)
    const h = await new LocalBackend({ detached: true }).start(request(`sleep 0.5; touch ${marker}`))
    await waitFor('the detached runner to finish', () => existsSync(marker))
    rmSync(marker, { force: true })
    await h.release()
  })

  test('an aborted signal: nothing is started', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(new LocalBackend().start(request('exit 0', { signal: ac.signal }))).rejects.toThrow(/cancelled/)
  })
})
