/**
 * listAfter (one request, starting after a key) on both stores, and RunStore.attemptUpdates on top:
 * what the log follower costs per poll does not grow with the number of chunks.
 */
import { describe, it, expect } from '@jest/globals'
import { storeFixture } from './store-fixture.js'
import { FolderStore } from '../../src/store/folder-store.js'
import { S3Store } from '../../src/store/s3-store.js'
import { RunStore } from '../../src/store/run-store.js'
import { keys } from '../../src/store/keys.js'
import type { ObjectStore } from '../../src/store/object-store.js'

const fx = storeFixture('la')

const impls: [string, () => ObjectStore][] = [
  ['FolderStore', () => new FolderStore(fx.tempDir())],
  ['S3Store', () => new S3Store({ bucket: fx.s3().bucket, prefix: `${fx.nextPrefix()}/p/`, endpoint: fx.s3().endpoint, client: fx.s3().client })]
]

const R = 'github.com/acme/models'
const RUN = 'brave-otter-1'

describe.each(impls)('%s listAfter', (name, make) => {
  it('returns the keys after startAfter in key order, a page at a time, with a tag that changes on rewrite', async () => {
    const st = make()
    for (const k of ['a/logs/000000.log', 'a/logs/000001.log', 'a/logs/000002.log', 'a/logs.txt', 'a/runner.sh', 'a/ssm/x/stdout', 'a/status.json', 'ab/other', 'b/no']) await st.put(k, k)
    const keysOf = (p: { objects: { key: string }[] }) => p.objects.map((o) => o.key)
    expect(keysOf(await st.listAfter('a/', 'a/logs/', 100))).toEqual(['a/logs/000000.log', 'a/logs/000001.log', 'a/logs/000002.log', 'a/runner.sh', 'a/ssm/x/stdout', 'a/status.json'])
    expect(keysOf(await st.listAfter('a/', 'a/logs/000001.log', 100))).toEqual(['a/logs/000002.log', 'a/runner.sh', 'a/ssm/x/stdout', 'a/status.json'])
    // '.' sorts before '/': a/logs.txt comes before the whole logs/ folder, as on S3 (s3rver lists
    // folders in its own order, so this is checked on the folder store only)
    if (name === 'FolderStore') expect(keysOf(await st.listAfter('a/', '', 2))).toEqual(['a/logs.txt', 'a/logs/000000.log'])
    const page = await st.listAfter('a/', 'a/logs/000000.log', 2)
    expect(keysOf(page)).toEqual(['a/logs/000001.log', 'a/logs/000002.log'])
    expect(page.truncated).toBe(true)
    expect((await st.listAfter('a/', 'a/runner.sh', 10)).truncated).toBe(false)
    expect(keysOf(await st.listAfter('a/', 'a/zzz', 10))).toEqual([])
    expect(keysOf(await st.listAfter('a/nothing/', '', 10))).toEqual([])
    const before = (await st.listAfter('a/', 'a/ssm/', 10)).objects.find((o) => o.key === 'a/status.json')!
    expect(before.size).toBe('a/status.json'.length)
    await new Promise((r) => setTimeout(r, 20))
    await st.put('a/status.json', '{"phase":"done"}')
    const after = (await st.listAfter('a/', 'a/ssm/', 10)).objects.find((o) => o.key === 'a/status.json')!
    expect(after.tag).not.toBe(before.tag)
  })

  it('attemptUpdates: the chunks after the last one seen, and status.json, in one listing', async () => {
    const st = make()
    const rs = new RunStore(st)
    expect(await rs.attemptUpdates(R, RUN, 1, -1)).toEqual({ chunks: [], statusTag: undefined, truncated: false })
    await rs.putRunnerScript(R, RUN, 1, '#!/bin/bash\n')
    for (const s of [0, 1, 2, 4]) await st.put(keys.logChunk(R, RUN, 1, s), `chunk ${s}\n`)
    await st.put(keys.logChunk(R, RUN, 2, 0), 'other attempt\n')
    let u = await rs.attemptUpdates(R, RUN, 1, -1)
    expect(u.chunks).toEqual([0, 1, 2, 4])
    expect(u.statusTag).toBeUndefined()
    await rs.writeStatus(R, RUN, 1, { phase: 'running' })
    u = await rs.attemptUpdates(R, RUN, 1, 2)
    expect(u.chunks).toEqual([4])
    expect(u.statusTag).toEqual(expect.any(String))
    u = await rs.attemptUpdates(R, RUN, 1, 1, 2)
    expect(u).toMatchObject({ chunks: [2, 4], truncated: true, statusTag: undefined })
  })
})

describe('FolderStore.watch', () => {
  it('calls back when a chunk lands in a folder created after the watch began', async () => {
    const st = new FolderStore(fx.tempDir())
    let calls = 0
    let seen: () => void = () => undefined
    const changed = new Promise<void>((r) => (seen = r))
    const stop = st.watch('r/attempts/1/', () => {
      calls++
      seen()
    })
    try {
      await st.put('r/attempts/1/logs/000000.log', 'x')
      await changed
      expect(calls).toBeGreaterThan(0)
    } finally {
      stop()
    }
  })
})
