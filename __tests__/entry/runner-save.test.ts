/**
 * saveThenRelease: what the action's post step and GitLab's `after_script` (`release`) do with a
 * machine a job left behind: ask its runner to stop, wait (bounded, on a fake clock) until the
 * attempt's status.json says `done`, and only then release it.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, RunStore } from '../../src/store/index.js'
import { saveThenRelease, saveThenReleaseAll, type AttemptRef } from '../../src/entry/runner-save.js'
import type { Backend, MachineInfo, StoreLocation } from '../../src/model/index.js'

const root = mkdtempSync(join(tmpdir(), 'save-release-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const loc: StoreLocation = { kind: 'folder', root }
const store = new RunStore(openStore(loc))
const m: MachineInfo = { id: 'i-0abc', backend: 'aws', region: 'us-east-1' }

/** a backend whose runner writes `done` `savesAfterPolls` sleeps after it was asked to stop (never when undefined) */
function fakeBackend(ref: AttemptRef, savesAfterPolls?: number) {
  const calls: string[] = []
  let stoppedAt: number | undefined
  let polls = 0
  const backend = {
    name: 'aws',
    start: () => Promise.reject(new Error('not used')),
    stopRunner: async (machine: MachineInfo, reason: string) => {
      calls.push(`stop ${machine.id}: ${reason}`)
      stoppedAt = polls
    },
    releaseMachine: async (machine: MachineInfo) => void calls.push(`release ${machine.id}`)
  } as unknown as Backend
  let now = 0
  const deps = {
    timeoutSec: 120,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms
      polls++
      if (savesAfterPolls !== undefined && stoppedAt !== undefined && polls - stoppedAt >= savesAfterPolls) {
        await store.writeStatus(ref.repoId, ref.run, ref.attempt, { phase: 'done', status: 'cancelled' }, ref.rank)
        calls.push('saved')
      }
    },
    log: (l: string) => void calls.push(`log ${l}`),
    pollMs: 2000
  }
  return { backend, deps, calls }
}

const ref = (run: string, rank?: number): AttemptRef => ({ machineId: m.id, store: loc, repoId: 'github.com/acme/ml-demo', run, attempt: 1, ...(rank !== undefined ? { rank } : {}) })

describe('saveThenRelease', () => {
  it('a runner still going is asked to stop, and the machine is released only once its status says done', async () => {
    const r = ref('busy-cat-1')
    await store.writeStatus(r.repoId, r.run, 1, { phase: 'running' })
    const f = fakeBackend(r, 3)
    await saveThenRelease(f.backend, m, r, store, f.deps)
    expect(f.calls.filter((c) => !c.startsWith('log'))).toEqual(['stop i-0abc: the CI job ended', 'saved', 'release i-0abc'])
    expect(f.calls).toContain('log the runner on i-0abc saved artifacts, logs and status')
  })

  it('a node of a multi-node attempt: its own status.json is the one waited for', async () => {
    const r = ref('busy-cat-2', 1)
    await store.writeStatus(r.repoId, r.run, 1, { phase: 'done', status: 'succeeded' }, 0)
    await store.writeStatus(r.repoId, r.run, 1, { phase: 'running' }, 1)
    const f = fakeBackend(r, 2)
    await saveThenRelease(f.backend, m, r, store, f.deps)
    expect(f.calls.filter((c) => !c.startsWith('log'))).toEqual(['stop i-0abc: the CI job ended', 'saved', 'release i-0abc'])
  })

  it('a runner that already saved: released at once, never stopped', async () => {
    const r = ref('done-cat-1')
    await store.writeStatus(r.repoId, r.run, 1, { phase: 'done', status: 'succeeded' })
    const f = fakeBackend(r)
    await saveThenRelease(f.backend, m, r, store, f.deps)
    expect(f.calls).toEqual(['release i-0abc'])
  })

  it('a runner that never saves: released after the bound, saying so', async () => {
    const r = ref('stuck-cat-1')
    await store.writeStatus(r.repoId, r.run, 1, { phase: 'uploading' })
    const f = fakeBackend(r)
    await saveThenRelease(f.backend, m, r, store, f.deps)
    expect(f.calls[0]).toBe('stop i-0abc: the CI job ended')
    expect(f.calls).toContain('log the runner on i-0abc did not finish saving within 120 s (DSTACK_CANCEL_WAIT_SEC); terminating it anyway')
    expect(f.calls.at(-1)).toBe('release i-0abc')
  })

  it('a state file from an older version (no attempt) or a backend that cannot stop a runner: released directly', async () => {
    const f = fakeBackend(ref('x-1'))
    await saveThenRelease(f.backend, m, undefined, undefined, f.deps)
    expect(f.calls).toEqual(['release i-0abc'])
  })

  it('the nodes of a cluster are all asked to stop before any wait, so they save side by side within one bound', async () => {
    const r0 = ref('cluster-cat-1', 0)
    const r1 = ref('cluster-cat-1', 1)
    await store.writeStatus(r0.repoId, r0.run, 1, { phase: 'running' }, 0)
    await store.writeStatus(r1.repoId, r1.run, 1, { phase: 'running' }, 1)
    const calls: string[] = []
    const stopped = new Set<string>()
    const backend = {
      name: 'aws',
      stopRunner: async (machine: MachineInfo) => {
        calls.push(`stop ${machine.id}`)
        stopped.add(machine.id)
      },
      releaseMachine: async (machine: MachineInfo) => void calls.push(`release ${machine.id}`)
    } as unknown as Backend
    let now = 0
    const deps = {
      timeoutSec: 120,
      now: () => now,
      // each runner saves 4 s after it was asked to stop: both within the first wait
      sleep: async (ms: number) => {
        now += ms
        if (now >= 4000) for (const [id, r] of [['i-0', r0], ['i-1', r1]] as const) if (stopped.has(id)) await store.writeStatus(r.repoId, r.run, 1, { phase: 'done', status: 'cancelled' }, r.rank)
      },
      log: () => undefined,
      pollMs: 2000
    }
    const results = await saveThenReleaseAll([{ m: { ...m, id: 'i-0', rank: 0 }, ref: r0, backend, store }, { m: { ...m, id: 'i-1', rank: 1 }, ref: r1, backend, store }], deps)
    // both asked to stop (side by side, in either order) before any release; released in turn
    expect(calls.slice(0, 2).sort()).toEqual(['stop i-0', 'stop i-1'])
    expect(calls.slice(2)).toEqual(['release i-0', 'release i-1'])
    expect(results.map((x) => x.error)).toEqual([undefined, undefined])
    // one bound for all: the second node did not wait a bound of its own
    expect(now).toBeLessThanOrEqual(6000)
  })
})
