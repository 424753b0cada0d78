/**
 * The workflow examples of the README and the docs pages are workflow files that validate: every
 * ```yaml block that is a workflow file (its first line names one, `# .dstack/workflows.yaml` /
 * `# train.dstack.yml`, or it is a `workflows:` list or a `type:` configuration) is parsed as that file.
 */
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { marked, type Tokens } from 'marked'
import { parse } from 'yaml'
import { parseWorkflowFile } from '../../src/workflows/index.js'
import { isSeedFile, isTaskFile } from '../../src/workflows/discover.js'

const ROOT = process.cwd()
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const text = (page: string) => readFileSync(join(ROOT, page), 'utf8')

/** the yaml code blocks of the README that are workflow files, with the file name each one is */
function workflowExamples(markdown: string): { file: string; text: string; line: number }[] {
  const out: { file: string; text: string; line: number }[] = []
  for (const t of marked.lexer(markdown)) {
    if (t.type !== 'code' || !['yaml', 'yml'].includes((t as Tokens.Code).lang ?? '')) continue
    const text = (t as Tokens.Code).text
    const named = /^#\s*(\S+)\s*$/.exec(text.split('\n')[0] ?? '')?.[1]
    let file = named && (isSeedFile(named) || isTaskFile(named)) ? named : undefined
    if (!file) {
      const v = parse(text) as unknown
      if (v && typeof v === 'object' && 'workflows' in v) file = '.dstack/workflows.yaml'
      else if (v && typeof v === 'object' && 'type' in v) file = 'example.dstack.yml'
    }
    if (file) out.push({ file, text: text + '\n', line: markdown.slice(0, markdown.indexOf(t.raw)).split('\n').length })
  }
  return out
}

describe('workflow examples of the README and the docs pages', () => {
  const all = PAGES.flatMap((page) => workflowExamples(text(page)).map((e) => ({ ...e, page })))

  it('are found (docs/workflows.md starts with the .dstack/workflows.yaml example with `gpu: A10G:1`)', () => {
    expect(all.length).toBeGreaterThanOrEqual(6)
    expect(all.filter((e) => e.page === 'README.md').length).toBeGreaterThanOrEqual(1)
    expect(workflowExamples(text('docs/workflows.md'))[0]).toMatchObject({ file: '.dstack/workflows.yaml', text: expect.stringContaining('gpu: A10G:1') })
  })

  it.each(all.map((e) => [`${e.page}:${e.line} (${e.file})`, e] as const))('%s validates', (_name, e) => {
    const r = parseWorkflowFile(e.file, e.text)
    expect(r.problems).toEqual([])
    expect(r.specs.length + r.skipped.length).toBeGreaterThan(0)
  })

  it('the extractor finds a broken example (so a passing test means something)', () => {
    const broken = workflowExamples('```yaml\n# .dstack/workflows.yaml\nworkflows:\n  - name: x\n    provider: bash\n    comands: [a]\n```\n\n```yaml\nsteps: [a]\n```\n')
    expect(broken).toHaveLength(1)
    expect(parseWorkflowFile(broken[0]!.file, broken[0]!.text).problems.length).toBeGreaterThan(0)
  })
})
