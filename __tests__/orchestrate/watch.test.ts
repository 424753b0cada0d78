/**
 * The log follower and the watch loop against the real folder store, counted at the ObjectStore
 * boundary: a poll costs the same at 10 and 3,000 chunks, every chunk is printed once and in order,
 * gaps are reported, and the loop's pace and end detection follow events, not the machine's speed.
 */
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore, keys, type ObjectStore } from '../../src/store/index.js'
import { LogFollower, watchAttempt, nextWaitMs, DEFAULT_PACE } from '../../src/orchestrate/index.js'
import type { AttemptHandle, ExecState } from '../../src/model/index.js'

const R = 'github.com/acme/models'
const RUN = 'calm-heron-1'
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** a FolderStore whose every call is counted */
function counted(opts: { watch?: boolean } = {}): { objects: ObjectStore; calls: Record<string, number>; total: () => number } {
  const d = mkdtempSync(join(tmpdir(), 'watch-'))
  dirs.push(d)
  const inner = new FolderStore(d)
  const calls: Record<string, number> = {}
  const objects = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown
      if (prop === 'watch' && opts.watch === false) return undefined // a store that cannot tell: polling only
      if (typeof v !== 'function' || prop === 'watch') return v
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1
        return (v as (...a: unknown[]) => unknown).apply(target, args)
      }
    }
  })
  return { objects, calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) }
}

async function writeChunks(objects: ObjectStore, from: number, to: number): Promise<void> {
  for (let s = from; s < to; s++) await objects.put(keys.logChunk(R, RUN, 1, s), `line ${s}\n`)
}

/** many chunks at once, as plain files in the folder store (what the runner leaves there) */
function writeManyChunks(objects: ObjectStore, to: number): void {
  const dir = objects.url(keys.logs(R, RUN, 1))
  mkdirSync(dir, { recursive: true })
  for (let s = 0; s < to; s++) writeFileSync(join(dir, `${String(s).padStart(6, '0')}.log`), `line ${s}\n`)
}

describe('LogFollower', () => {
  it.each([10, 1500])('a poll costs one listing (+ one read per new chunk) with %i chunks stored', async (n) => {
    const { objects, calls, total } = counted()
    const store = new RunStore(objects)
    writeManyChunks(objects, n)
    const out: string[] = []
    const f = new LogFollower(store, R, RUN, 1, (t) => out.push(t))
    // catching up: each chunk read once, in order, listings one per 1,000 chunks
    expect(await f.poll()).toBe(Math.min(n, 1000))
    while ((await f.poll()) > 0);
    expect(out.length).toBe(n)
    expect(out.every((t, i) => t === `line ${i}\n`)).toBe(true)
    for (const k of Object.keys(calls)) delete calls[k]
    expect(await f.poll()).toBe(0)
    expect(calls).toEqual({ listAfter: 1 })
    await writeChunks(objects, n, n + 1)
    for (const k of Object.keys(calls)) delete calls[k]
    expect(await f.poll()).toBe(1)
    expect(calls).toEqual({ listAfter: 1, get: 1 })
    expect(total()).toBe(2)
    expect(out[n]).toBe(`line ${n}\n`)
  })

  it('waits at a gap while polling, and drain reports it and prints what follows', async () => {
    const { objects } = counted()
    const store = new RunStore(objects)
    for (const s of [0, 1, 3]) await objects.put(keys.logChunk(R, RUN, 1, s), `c${s} `)
    const out: string[] = []
    const f = new LogFollower(store, R, RUN, 1, (t) => out.push(t))
    expect(await f.poll()).toBe(2)
    expect(await f.poll()).toBe(0)
    await f.drain()
    expect(out.join('')).toBe('c0 c1 [log chunks 2..2 are missing from the store]\nc3 ')
    expect(f.chunksSeen).toBe(4)
  })

  it('drain pages through a backlog of more than one listing', async () => {
    const { objects } = counted()
    const store = new RunStore(objects)
    writeManyChunks(objects, 1500)
    const out: string[] = []
    const f = new LogFollower(store, R, RUN, 1, (t) => out.push(t))
    await f.drain()
    expect(out.length).toBe(1500)
    expect(out[1499]).toBe('line 1499\n')
  })
})

describe('watch pace', () => {
  it('is fast while chunks arrive and doubles up to slowMs when quiet', () => {
    const p = { fastMs: 1000, slowMs: 10_000 }
    const waits: number[] = []
    let w: number | undefined
    for (const printed of [0, 1, 1, 0, 0, 0, 0, 0, 0, 2, 0]) waits.push((w = nextWaitMs(w, printed, p)))
    expect(waits).toEqual([1000, 1000, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 1000, 2000])
    expect(DEFAULT_PACE.s3.slowMs).toBeGreaterThanOrEqual(10_000)
  })

  it('stays fast for holdMs after the last chunk, so a job that prints every second is never read at a backed-off pace', () => {
    const p = { fastMs: 500, slowMs: 10_000, holdMs: 1500 }
    const waits: number[] = []
    let w: number | undefined
    let quiet = 0
    // chunks every second: between two of them the loop never waits longer than fastMs
    for (const printed of [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]) {
      quiet = printed ? 0 : quiet + (w ?? 0)
      waits.push((w = nextWaitMs(w, printed, p, quiet)))
    }
    expect(waits).toEqual([500, 500, 500, 500, 500, 500, 500, 1000, 2000, 4000, 8000])
    // the runner's gap between chunks is shorter than the hold, on both stores
    expect(DEFAULT_PACE.s3.holdMs).toBeGreaterThan(1000)
    expect(DEFAULT_PACE.folder.holdMs).toBeGreaterThan(500)
  })
})

function fakeHandle(over: Partial<AttemptHandle> = {}): AttemptHandle & { polls: number } {
  const h = {
    machine: { id: 'm-1', backend: 'local' as const },
    polls: 0,
    async poll(): Promise<ExecState> {
      h.polls++
      return { state: 'running' }
    },
    async cancel() {},
    async release() {},
    ...over
  }
  return h
}

describe('watchAttempt', () => {
  const base = { repoId: R, run: RUN, attempt: 1, cancelGraceMs: 60_000, warn: () => undefined, signal: new AbortController().signal }

  it('ends when status.json says done, before the backend notices; quiet polls back off', async () => {
    const { objects } = counted({ watch: false })
    const store = new RunStore(objects)
    const out: string[] = []
    const follower = new LogFollower(store, R, RUN, 1, (t) => out.push(t))
    const handle = fakeHandle()
    let t = 0
    const waits: number[] = []
    const script: Record<number, () => Promise<void>> = {
      1: () => writeChunks(objects, 0, 1),
      2: () => store.writeStatus(R, RUN, 1, { phase: 'running' }),
      6: async () => {
        await writeChunks(objects, 1, 2)
        await store.writeStatus(R, RUN, 1, { phase: 'done', status: 'failed', exitCode: 3, reason: '`commands[0]` exited with 3' })
      }
    }
    const exec = await watchAttempt({
      ...base, store, handle, follower, pace: { fastMs: 1000, slowMs: 4000 }, now: () => t,
      sleep: async (ms) => {
        waits.push(ms)
        t += ms
        await script[waits.length]?.()
      }
    })
    expect(exec).toEqual({ state: 'ended', exitCode: 3, reason: '`commands[0]` exited with 3' })
    expect(out).toEqual(['line 0\n', 'line 1\n'])
    // nothing, chunk 0 (fast), status only (quiet: 2 s, 4 s, 4 s …)
    expect(waits).toEqual([1000, 1000, 2000, 4000, 4000, 4000])
  })

  it('keeps its fast pace while status.json says uploading, so `done` is seen within fastMs of being written (the machine is billed until then)', async () => {
    const { objects } = counted({ watch: false })
    const store = new RunStore(objects)
    const follower = new LogFollower(store, R, RUN, 1, () => undefined)
    let t = 0
    const waits: number[] = []
    const script: Record<number, () => Promise<void>> = {
      1: () => writeChunks(objects, 0, 1),
      // the job ends; its artifacts go up for a long while, printing nothing
      2: () => store.writeStatus(R, RUN, 1, { phase: 'uploading' }),
      12: () => store.writeStatus(R, RUN, 1, { phase: 'done', status: 'succeeded', exitCode: 0 })
    }
    const exec = await watchAttempt({
      ...base, store, handle: fakeHandle(), follower, pace: { fastMs: 1000, slowMs: 8000, holdMs: 1500 }, now: () => t,
      sleep: async (ms) => {
        waits.push(ms)
        t += ms
        await script[waits.length]?.()
      }
    })
    expect(exec).toEqual({ state: 'ended', exitCode: 0 })
    // never backed off while uploading: `done` seen at the first poll after it was written
    expect(waits).toEqual(Array(12).fill(1000))
  })

  it('a change of status.json holds the fast pace like a chunk: a quiet job that starts and ends at once is seen done at the next fast poll', async () => {
    const { objects } = counted({ watch: false })
    const store = new RunStore(objects)
    const follower = new LogFollower(store, R, RUN, 1, () => undefined)
    let t = 0
    const waits: number[] = []
    const script: Record<number, () => Promise<void>> = {
      // a long quiet start (the bootstrap, the code): the loop backs off
      5: () => store.writeStatus(R, RUN, 1, { phase: 'running' }),
      // the job's first and last command, then done, within holdMs of the status change
      6: () => store.writeStatus(R, RUN, 1, { phase: 'done', status: 'succeeded', exitCode: 0 })
    }
    const exec = await watchAttempt({
      ...base, store, handle: fakeHandle(), follower, pace: { fastMs: 500, slowMs: 8000, holdMs: 1500 }, now: () => t,
      sleep: async (ms) => {
        waits.push(ms)
        t += ms
        await script[waits.length]?.()
      }
    })
    expect(exec).toEqual({ state: 'ended', exitCode: 0 })
    // fast for holdMs at first, backing off while quiet, then fast again once the status moved: done seen 0.5 s after it was written
    expect(waits).toEqual([500, 500, 500, 1000, 2000, 500])
  })

  it('wakes at once when the backend says its runner ended, without waiting out the sleep', async () => {
    const { objects } = counted()
    const store = new RunStore(objects)
    let ended = false
    let signalEnd: () => void = () => undefined
    const whenEnded = new Promise<void>((r) => (signalEnd = r))
    const handle = fakeHandle({
      whenEnded: () => whenEnded,
      async poll(): Promise<ExecState> {
        return ended ? { state: 'ended', exitCode: 0 } : { state: 'running' }
      }
    })
    const sleeps: number[] = []
    const watching = watchAttempt({
      ...base, store, handle, follower: new LogFollower(store, R, RUN, 1, () => undefined), pace: DEFAULT_PACE.s3, now: () => 0,
      // a sleep that never ends by itself: only the wake-up can move the loop on
      sleep: (ms) => {
        sleeps.push(ms)
        return ms < 100 ? Promise.resolve() : new Promise<void>(() => undefined)
      }
    })
    while (sleeps.length === 0) await new Promise((r) => setTimeout(r, 5))
    ended = true
    signalEnd()
    expect(await watching).toEqual({ state: 'ended', exitCode: 0 })
    expect(sleeps[0]).toBe(DEFAULT_PACE.s3.fastMs)
  })

  it('wakes on a folder-store change (inotify) instead of polling', async () => {
    const { objects } = counted()
    const store = new RunStore(objects)
    const out: string[] = []
    const handle = fakeHandle()
    await store.putRunnerScript(R, RUN, 1, '#!/bin/bash\n')
    let slept = 0
    const watching = watchAttempt({
      ...base, store, handle, follower: new LogFollower(store, R, RUN, 1, (t) => out.push(t)), pace: { fastMs: 3_600_000, slowMs: 3_600_000 }, now: () => 0,
      sleep: (ms) => {
        slept++
        return ms < 100 ? new Promise((r) => setTimeout(r, ms)) : new Promise<void>(() => undefined)
      }
    })
    await writeChunks(objects, 0, 1)
    // the watcher may still be setting up: write until it reacts (each write is an event), however long that takes
    let ended = false
    void watching.finally(() => (ended = true))
    while (!ended) {
      await store.writeStatus(R, RUN, 1, { phase: 'done', status: 'succeeded', exitCode: 0 })
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(await watching).toEqual({ state: 'ended', exitCode: 0 })
    expect(out).toEqual(['line 0\n'])
    expect(slept).toBeGreaterThan(0)
  })
})
