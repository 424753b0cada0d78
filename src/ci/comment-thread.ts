/**
 * The comments of one pull request / merge request, behind a small interface (GitHub and GitLab
 * implement it), and the update of this tool's one comment in it.
 */
import { isOurComment, mergeSection, hasSection, parseSections } from '../report/comment.js'

export interface ThreadComment {
  id: string
  body: string
  url?: string
}

export interface CommentThread {
  /** for messages: "pull request acme/ml#12" */
  readonly where: string
  /** every comment, oldest first */
  list(): Promise<ThreadComment[]>
  create(body: string): Promise<ThreadComment>
  update(id: string, body: string): Promise<void>
  remove(id: string): Promise<void>
}

/**
 * A section that is rendered from shared state (the runs of a group in the store): rendered again
 * on each try, and written until what it was rendered from no longer changes after the write.
 */
export interface SectionSource {
  render(): Promise<string>
  /** true when the state `render` last read is still the state now */
  unchanged(): Promise<boolean>
}

export interface UpsertResult {
  action: 'created' | 'updated' | 'unchanged'
  id: string
  url?: string
}

/**
 * Puts `markdown` as `workflow`'s section into the thread's one comment of this tool, creating it
 * when there is none. Jobs of one pipeline run at the same time and neither API can update a
 * comment conditionally, so each write is read back: a section another job overwrote is written
 * again, and of two comments created at once the newer is merged into the older and deleted.
 * A `SectionSource` is rendered anew on each try (docs/seed-groups.md "Concurrent updates").
 */
export async function upsertSection(thread: CommentThread, workflow: string, content: string | SectionSource, attempts = typeof content === 'string' ? 3 : 6): Promise<UpsertResult> {
  let action: UpsertResult['action'] = 'unchanged'
  let last: ThreadComment | undefined
  for (let i = 0; i < attempts; i++) {
    const markdown = typeof content === 'string' ? content : await content.render()
    const ours = (await thread.list()).filter((c) => isOurComment(c.body))
    const target = ours[0]
    if (!target) {
      last = await thread.create(mergeSection(undefined, workflow, markdown))
      action = 'created'
    } else {
      // newer duplicates (from a concurrent first write) fold into the oldest comment
      let body = target.body
      for (const dup of ours.slice(1)) for (const s of parseSections(dup.body)) body = mergeSection(body, s.workflow, s.markdown)
      body = mergeSection(body, workflow, markdown)
      if (body !== target.body) {
        await thread.update(target.id, body)
        if (action === 'unchanged') action = 'updated'
      }
      for (const dup of ours.slice(1)) await thread.remove(dup.id)
      last = target
    }
    const after = (await thread.list()).filter((c) => isOurComment(c.body))
    const kept = after.length === 1 && hasSection(after[0]!.body, workflow, markdown)
    // a group's section: another job's run may have ended after this one rendered; then render again
    if (kept && (typeof content === 'string' || (await content.unchanged()))) return { action, id: after[0]!.id, url: after[0]!.url ?? last.url }
  }
  throw new Error(`the comment on ${thread.where} kept changing under concurrent writes (${attempts} tries); the next run updates it`)
}
