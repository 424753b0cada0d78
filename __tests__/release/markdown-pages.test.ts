/**
 * Every markdown page of the repository (README.md, docs/*.md, the examples' and the sources'
 * READMEs) renders as its author meant on GitHub: rendered by a CommonMark / GFM renderer
 * (`marked`), no code block is left open, none swallowed a heading or the opening fence of the next
 * block, and every relative link and `#anchor` leads to a file and a heading that exist.
 */
import { describe, it, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fenceProblems, linkProblems, pages, pageText, slugs } from '../helpers/markdown-pages.js'

const ROOT = process.cwd()
const files = pages(execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n'))

describe('markdown pages', () => {
  it('are found: the README, the docs pages and the examples\' READMEs', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/workflows.md', 'docs/cli.md', 'docs/action.md', 'docs/gitlab.md', 'docs/aws.md', 'docs/performance.md', 'examples/iam/README.md']))
  })

  it.each(files)('%s: every code block is closed and swallows no heading or fence', (f) => {
    expect(fenceProblems(pageText(ROOT, f))).toEqual([])
  })

  it.each(files)('%s: every relative link and anchor leads somewhere', (f) => {
    expect(linkProblems(join(ROOT, f), ROOT)).toEqual([])
  })
})

describe('the checks find what they look for (so a green run means something)', () => {
  it('a missing opening fence: the stray fence opens a block that swallows the next heading', () => {
    const md = '# Page\n\n$ cmd\noutput\n```\n\n## Next section\n\ntext\n\n```yaml\na: 1\n```\n'
    const p = fenceProblems(md)
    expect(p).toEqual(expect.arrayContaining([expect.stringMatching(/heading `## Next section` is swallowed/), expect.stringMatching(/````yaml` is inside the code block opened at line 5/)]))
  })

  it('a block never closed', () => {
    expect(fenceProblems('# P\n\n```sh\nls\n')).toEqual([expect.stringMatching(/line 3: the code block opened here is never closed/)])
  })

  it('a well-formed page has no problem, markdown blocks may hold headings', () => {
    expect(fenceProblems('# P\n\n````markdown\n## a heading\n```yaml\nx: 1\n```\n````\n\n```sh\n# a comment\nls\n```\n')).toEqual([])
  })

  it('anchors as GitHub makes them', () => {
    expect([...slugs('# A `b --c` d\n## Private images: `registry_auth`\n## X\n## X\n')]).toEqual(['a-b---c-d', 'private-images-registry_auth', 'x', 'x-1'])
  })

  it('broken links, missing anchors and links out of the repository', () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-links-'))
    try {
      mkdirSync(join(dir, 'docs'))
      writeFileSync(join(dir, 'docs/a.md'), '# A\n\n## Here\n\n[ok](#here) [ok2](../README.md#top) [bad](#nowhere) [gone](b.md) [out](../../x.md) [web](https://example.com/x)\n')
      writeFileSync(join(dir, 'README.md'), '# Top\n')
      expect(linkProblems(join(dir, 'docs/a.md'), dir)).toEqual(['#nowhere: docs/a.md has no heading with the anchor #nowhere', 'b.md: docs/b.md does not exist', '../../x.md: leaves the repository'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
