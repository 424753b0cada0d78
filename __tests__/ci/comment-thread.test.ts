/** upsertSection over an in-memory thread: create, update, concurrent writers, duplicates. */
import { describe, it, expect } from '@jest/globals'
import { upsertSection, type CommentThread, type ThreadComment } from '../../src/ci/comment-thread.js'
import { parseSections, mergeSection } from '../../src/report/comment.js'

class MemoryThread implements CommentThread {
  readonly where = 'pull request acme/ml#7'
  comments: ThreadComment[] = [{ id: '1', body: 'LGTM' }]
  next = 100
  calls: string[] = []
  /** runs after each update: a concurrent job writing in between */
  afterUpdate?: () => void
  async list() {
    this.calls.push('list')
    return this.comments.map((c) => ({ ...c }))
  }
  async create(body: string) {
    this.calls.push('create')
    const c = { id: String(this.next++), body, url: `https://x/${this.next}` }
    this.comments.push(c)
    return { ...c }
  }
  async update(id: string, body: string) {
    this.calls.push('update')
    this.comments.find((c) => c.id === id)!.body = body
    this.afterUpdate?.()
  }
  async remove(id: string) {
    this.calls.push('remove')
    this.comments = this.comments.filter((c) => c.id !== id)
  }
}

describe('upsertSection', () => {
  it('creates the comment once, then updates it in place', async () => {
    const t = new MemoryThread()
    const first = await upsertSection(t, 'train', 'running')
    expect(first).toMatchObject({ action: 'created', id: '100' })
    const second = await upsertSection(t, 'train', 'succeeded')
    expect(second).toMatchObject({ action: 'updated', id: '100' })
    expect(await upsertSection(t, 'train', 'succeeded')).toMatchObject({ action: 'unchanged' })
    expect(t.comments).toHaveLength(2)
    expect(parseSections(t.comments[1]!.body)).toEqual([{ workflow: 'train', markdown: 'succeeded' }])
    expect(t.comments[0]!.body).toBe('LGTM')
  })

  it('writes its section again when a concurrent job overwrote it', async () => {
    const t = new MemoryThread()
    await upsertSection(t, 'evaluate', 'evaluate running')
    const before = t.comments[1]!.body
    let raced = false
    t.afterUpdate = () => {
      if (raced) return
      raced = true
      // the other job read the comment before our update and writes its own version now
      t.comments[1]!.body = mergeSection(before, 'evaluate', 'evaluate succeeded')
    }
    await upsertSection(t, 'train', 'train running')
    expect(parseSections(t.comments[1]!.body)).toEqual([
      { workflow: 'evaluate', markdown: 'evaluate succeeded' },
      { workflow: 'train', markdown: 'train running' }
    ])
  })

  it('folds a duplicate comment from a concurrent first write into the oldest one', async () => {
    const t = new MemoryThread()
    t.comments.push({ id: '50', body: mergeSection(undefined, 'evaluate', 'evaluate running') })
    t.comments.push({ id: '51', body: mergeSection(undefined, 'prepare', 'prepare ok') })
    const r = await upsertSection(t, 'train', 'train running')
    expect(r).toMatchObject({ action: 'updated', id: '50' })
    expect(t.comments.map((c) => c.id)).toEqual(['1', '50'])
    expect(parseSections(t.comments[1]!.body).map((s) => s.workflow)).toEqual(['evaluate', 'prepare', 'train'])
  })

  it('gives up with a clear error when every write is overwritten', async () => {
    const t = new MemoryThread()
    await upsertSection(t, 'evaluate', 'x')
    t.afterUpdate = () => void (t.comments[1]!.body = mergeSection(undefined, 'evaluate', 'other'))
    await expect(upsertSection(t, 'train', 'y')).rejects.toThrow(/kept changing under concurrent writes \(3 tries\)/)
  })
})
