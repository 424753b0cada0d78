/**
 * Pure: the one PR / MR comment of this tool. A pull request gets a single comment, found again by
 * its marker and updated in place; each workflow owns one section of it, so the `train` and
 * `evaluate` jobs of one pipeline share the comment without overwriting each other.
 */

/** first line of the comment: how it is found again among the others */
export const COMMENT_MARKER = '<!-- dstack-run-action -->'
const TITLE = '## dstack runs'
/** GitHub holds 65,536 characters per comment, GitLab 1,000,000 per note */
export const COMMENT_MAX_CHARS = 65_000
/** one workflow's section: room for several workflows in one comment */
export const SECTION_MAX_CHARS = 15_000

const start = (workflow: string) => `<!-- dstack-run-action:section ${workflow} -->`
const end = (workflow: string) => `<!-- dstack-run-action:end ${workflow} -->`
const SECTION_RE = /<!-- dstack-run-action:section ([^\s>]+) -->\n([\s\S]*?)\n<!-- dstack-run-action:end \1 -->/g

export interface CommentSection {
  workflow: string
  markdown: string
}

export function isOurComment(body: string): boolean {
  return body.startsWith(COMMENT_MARKER)
}

/** the sections of a comment body, in order */
export function parseSections(body: string): CommentSection[] {
  return [...body.matchAll(SECTION_RE)].map((m) => ({ workflow: m[1]!, markdown: m[2]! }))
}

function cap(markdown: string, max: number): string {
  return markdown.length <= max ? markdown : markdown.slice(0, max - 40) + '\n\n… (truncated)'
}

/**
 * The comment body with `workflow`'s section replaced (or appended), every other section kept.
 * Workflow names are validated names (no spaces or `>`), so they are safe inside the markers.
 */
export function mergeSection(existing: string | undefined, workflow: string, markdown: string): string {
  const sections = existing ? parseSections(existing) : []
  const mine = { workflow, markdown: cap(markdown.trimEnd(), SECTION_MAX_CHARS) }
  const i = sections.findIndex((s) => s.workflow === workflow)
  if (i >= 0) sections[i] = mine
  else sections.push(mine)
  let body = render(sections)
  // over the limit: the other workflows' sections shrink to a line each, oldest first
  for (let j = 0; body.length > COMMENT_MAX_CHARS && j < sections.length; j++) {
    const s = sections[j]!
    if (s.workflow === workflow) continue
    sections[j] = { workflow: s.workflow, markdown: `\`${s.workflow}\`: see the job's summary (left out here for length)` }
    body = render(sections)
  }
  return body
}

function render(sections: CommentSection[]): string {
  return [COMMENT_MARKER, TITLE, '', ...sections.map((s) => `${start(s.workflow)}\n${s.markdown}\n${end(s.workflow)}\n`)].join('\n')
}

/** did the body keep our section as we wrote it (a concurrent job may have overwritten it)? */
export function hasSection(body: string, workflow: string, markdown: string): boolean {
  const want = cap(markdown.trimEnd(), SECTION_MAX_CHARS)
  return parseSections(body).some((s) => s.workflow === workflow && s.markdown === want)
}
