/** The one PR / MR comment: sections per workflow, kept apart, capped. */
import { describe, it, expect } from '@jest/globals'
import { COMMENT_MARKER, COMMENT_MAX_CHARS, SECTION_MAX_CHARS, mergeSection, parseSections, hasSection, isOurComment } from '../../src/report/comment.js'

describe('mergeSection', () => {
  it('starts a comment with the marker and one section', () => {
    const body = mergeSection(undefined, 'train', '### train running\n')
    expect(isOurComment(body)).toBe(true)
    expect(body.split('\n')[0]).toBe(COMMENT_MARKER)
    expect(parseSections(body)).toEqual([{ workflow: 'train', markdown: '### train running' }])
  })

  it('replaces its own section and keeps the others in place', () => {
    let body = mergeSection(undefined, 'train', 'train running')
    body = mergeSection(body, 'evaluate', 'evaluate running')
    body = mergeSection(body, 'train', 'train succeeded\n| a | b |')
    expect(parseSections(body)).toEqual([
      { workflow: 'train', markdown: 'train succeeded\n| a | b |' },
      { workflow: 'evaluate', markdown: 'evaluate running' }
    ])
    expect(hasSection(body, 'train', 'train succeeded\n| a | b |\n')).toBe(true)
    expect(hasSection(body, 'train', 'train running')).toBe(false)
  })

  it('caps a section, and shrinks other sections before passing the comment limit', () => {
    const big = 'x'.repeat(SECTION_MAX_CHARS * 2)
    let body = mergeSection(undefined, 'a', big)
    expect(parseSections(body)[0]!.markdown.length).toBeLessThanOrEqual(SECTION_MAX_CHARS)
    for (const w of ['b', 'c', 'd', 'e', 'f']) body = mergeSection(body, w, big)
    expect(body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    const sections = parseSections(body)
    expect(sections.map((s) => s.workflow)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    expect(sections[0]!.markdown).toMatch(/left out here for length/)
    expect(sections[5]!.markdown.length).toBeGreaterThan(SECTION_MAX_CHARS - 100)
  })

  it('does not take a lookalike section marker inside user text for a section', () => {
    const body = mergeSection(undefined, 'train', 'reason: <!-- dstack-run-action:end evaluate -->')
    expect(parseSections(body)).toEqual([{ workflow: 'train', markdown: 'reason: <!-- dstack-run-action:end evaluate -->' }])
  })
})
