/**
 * The multi-node watch loop against the real folder store: every node's reads go out at once (a
 * poll costs one round trip, not one per node), their lines still come out node by node, the
 * machines may go as soon as every node has ended, before the last reads of their logs.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { watchCluster } from '../../src/orchestrate/watch-cluster.js'
import { FolderStore, RunStore, keys } from '../../src/store/index.js'
import type { AttemptHandle, ExecState } from '../../src/model/index.js'

const REPO = 'github.com/acme/models'
const RUN = 'calm-fox-1'

let dir: string
let objects: FolderStore
let store: RunStore
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'watch-cluster-'))
  objects = new FolderStore(dir)
  store = new RunStore(objects)
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** a handle whose nodes are running until `ended` says otherwise */
function handle(states: ExecState[]): AttemptHandle {
  const machine = { id: 'node-0', backend: 'aws' as const, instanceType: 'g5.xlarge', market: 'spot' as const }
  return {
    machine,
    machines: states.map((_, r) => ({ ...machine, id: `node-${r}` })),
    poll: async () => ({ state: 'running' }),
    pollNodes: async () => states,
    cancel: async () => undefined,
    release: async () => undefined
  }
}

async function nodeWrote(rank: number, lines: string[]): Promise<void> {
  for (const [seq, text] of lines.entries()) await objects.put(keys.logChunk(REPO, RUN, 1, seq, rank), text)
  await store.writeStatus(REPO, RUN, 1, { phase: 'done', status: 'succeeded', exitCode: 0 }, rank)
}

function deps(h: AttemptHandle, out: string[], extra: Partial<Parameters<typeof watchCluster>[0]> = {}): Parameters<typeof watchCluster>[0] {
  return {
    store, repoId: REPO, run: RUN, attempt: 1, nodes: 2, handle: h,
    emit: (_rank, text) => void out.push(text),
    pace: { fastMs: 1, slowMs: 1 },
    signal: new AbortController().signal,
    sleep: async () => undefined,
    now: Date.now,
    cancelGraceMs: 1000,
    warn: () => undefined,
    ...extra
  }
}

describe('watchCluster', () => {
  it('reads every node at once and still prints their lines node by node', async () => {
    await nodeWrote(0, ['zero a\n', 'zero b\n'])
    await nodeWrote(1, ['one a\n'])
    // node 0's listing answers only once node 1's was asked (or after 500 turns of the event loop:
    // one node after the other, it never would be), and node 1's lines are read first
    const asked: number[] = []
    const updates = store.attemptUpdates.bind(store)
    store.attemptUpdates = async (repoId, run, n, after, max, rank) => {
      asked.push(rank ?? -1)
      if (rank === 0) for (let turn = 0; turn < 500 && !asked.includes(1); turn++) await new Promise((r) => setImmediate(r))
      return updates(repoId, run, n, after, max, rank)
    }
    const askedBy: number[][] = []
    const readChunk = store.readLogChunk.bind(store)
    store.readLogChunk = async (repoId, run, n, seq, rank) => {
      if (rank === 0) askedBy.push([...asked])
      return readChunk(repoId, run, n, seq, rank)
    }
    const out: string[] = []
    const ended: ExecState = { state: 'ended', exitCode: 0 }
    const r = await watchCluster(deps(handle([ended, ended]), out))
    expect(askedBy[0]).toEqual(expect.arrayContaining([0, 1]))
    expect(out.join('')).toBe('[node 0] zero a\n[node 0] zero b\n[node 1] one a\n')
    expect(r.nodes.map((v) => v.written?.status)).toEqual(['succeeded', 'succeeded'])
  })

  it('lets the machines go once every node has ended, before the last reads of their logs (billed seconds), and still prints every line', async () => {
    const states: ExecState[] = [{ state: 'running' }, { state: 'running' }]
    const h = handle(states)
    const events: string[] = []
    const updates = store.attemptUpdates.bind(store)
    store.attemptUpdates = async (repoId, run, n, after, max, rank) => {
      events.push(`list ${rank}`)
      return updates(repoId, run, n, after, max, rank)
    }
    let polls = 0
    h.pollNodes = async () => {
      // both runners end between the first and the second poll
      if (++polls === 2) {
        await nodeWrote(0, ['zero\n'])
        await nodeWrote(1, ['one\n'])
      }
      return polls >= 2 ? [{ state: 'ended', exitCode: 0 }, { state: 'ended', exitCode: 0 }] : states
    }
    const out: string[] = []
    await watchCluster(deps(h, out, { onEnded: () => void events.push('machines released') }))
    const released = events.indexOf('machines released')
    expect(released).toBeGreaterThan(0)
    // the last reads of both nodes come after the release
    expect(events.slice(released + 1)).toEqual(expect.arrayContaining(['list 0', 'list 1']))
    expect(out.join('')).toBe('[node 0] zero\n[node 1] one\n')
  })
})
