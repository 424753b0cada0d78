/** Log chunks are one byte stream: a UTF-8 character split across two chunks prints whole. */
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogFollower } from '../../src/orchestrate/index.js'
import { FolderStore, RunStore, keys } from '../../src/store/index.js'
import { followLogs } from '../../src/entry/cli-views.js'
import type { RunRecord } from '../../src/model/index.js'

const dir = mkdtempSync(join(tmpdir(), 'log-decoding-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const REPO = 'github.com/acme/demo'
const TEXT = 'héllo 🙂 wörld — 日本\n'

/** TEXT cut into chunks at every byte, so every multi-byte character is split somewhere */
async function storeSplit(objects: FolderStore, run: string, gapAt?: number): Promise<void> {
  const bytes = Buffer.from(TEXT, 'utf8')
  for (let i = 0; i < bytes.length; i++) {
    if (i === gapAt) continue
    await objects.put(keys.logChunk(REPO, run, 1, i), bytes.subarray(i, i + 1))
  }
}

describe('log chunks decoded as one stream', () => {
  it('the orchestrator\'s follower (CI log, action log)', async () => {
    const objects = new FolderStore(join(dir, 'a'))
    await storeSplit(objects, 'run-1')
    let text = ''
    const f = new LogFollower(new RunStore(objects), REPO, 'run-1', 1, (t) => void (text += t))
    await f.poll()
    await f.drain()
    expect(text).toBe(TEXT)
  })

  it('a lost chunk in the middle of a character is shown as such, the rest still decodes', async () => {
    const objects = new FolderStore(join(dir, 'b'))
    await storeSplit(objects, 'run-2', 2) // the second byte of "é"
    let text = ''
    const f = new LogFollower(new RunStore(objects), REPO, 'run-2', 1, (t) => void (text += t))
    await f.drain()
    expect(text).toBe('h\ufffd[log chunks 2..2 are missing from the store]\n' + TEXT.slice(2))
  })

  it('`dstack-run logs`', async () => {
    const objects = new FolderStore(join(dir, 'c'))
    await storeSplit(objects, 'run-3')
    let out = ''
    const rec = { repoId: REPO, run: 'run-3', attempts: [] } as unknown as RunRecord
    await followLogs(new RunStore(objects), rec, 1, false, { out: { write: (s: string) => ((out += s), true) }, signal: new AbortController().signal })
    expect(out).toBe(TEXT)
  })
})
