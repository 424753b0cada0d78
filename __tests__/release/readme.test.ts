/**
 * The README and the docs pages as a user reads them: the input/output tables of docs/action.md and
 * docs/gitlab.md match action.yml and the component's spec, and every ```console block of a page
 * runs (in order, on the local backend, in a repository holding the nearest ```yaml block above it
 * that starts with `# .dstack/workflows.yaml`) and prints output of the same shape: run names,
 * hashes, paths and numbers may differ, a `…` line stands for any lines.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo, git } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const consolePages = PAGES.filter((p) => /^```console$/m.test(readFileSync(join(ROOT, p), 'utf8')))

interface Block {
  lang: string
  body: string
  line: number
}
function blocks(md: string): Block[] {
  const out: Block[] = []
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm
  for (const m of md.matchAll(re)) out.push({ lang: m[1]!, body: m[2]!, line: md.slice(0, m.index).split('\n').length })
  return out
}

/** the shape of a line: what varies between runs replaced by placeholders */
export function shape(line: string): string {
  return line
    .replace(/(?:\/[\w.@~+-]+)+\/?/g, '<path>')
    .replace(/\b[a-z]+-[a-z]+-\d+\b/g, '<run>')
    .replace(/\b[0-9a-f]{7,64}\b/g, '<hex>')
    .replace(/\b\d+(?:\.\d+)*\b/g, '<n>')
    .trimEnd()
}

/** expected lines (with `…` for any lines) against actual lines, both as shapes */
function sameShape(expected: string[], actual: string[]): boolean {
  const e = expected.map(shape)
  const a = actual.map(shape)
  const match = (i: number, j: number): boolean => {
    if (i === e.length) return j === a.length
    if (e[i] === '…') {
      for (let k = j; k <= a.length; k++) if (match(i + 1, k)) return true
      return false
    }
    return j < a.length && e[i] === a[j] && match(i + 1, j + 1)
  }
  return match(0, 0)
}

function words(cmd: string): string[] {
  return [...cmd.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
}

const repos: { cleanup: () => void }[] = []
let store: string
let work: string
const savedWork = process.env.DSTACK_WORK_ROOT
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), 'readme-store-'))
  work = mkdtempSync(join(tmpdir(), 'readme-work-'))
  process.env.DSTACK_WORK_ROOT = work
})
afterAll(() => {
  for (const r of repos) r.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
  if (savedWork === undefined) delete process.env.DSTACK_WORK_ROOT
  else process.env.DSTACK_WORK_ROOT = savedWork
})

describe('the README and the docs pages', () => {
  it('input and output tables are generated from action.yml and templates/run.yml', async () => {
    const r = await run(process.execPath, [join(ROOT, 'scripts/docs-tables.mjs'), '--check'], { cwd: ROOT })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('the CLI page holds the console examples', () => {
    expect(consolePages).toContain('docs/cli.md')
  })

  it.each(consolePages)('every console block of %s prints what the page shows (its shape)', async (page) => {
    const all = blocks(readFileSync(join(ROOT, page), 'utf8'))
    const consoles = all.filter((b) => b.lang === 'console')
    expect(consoles.length).toBeGreaterThanOrEqual(1)
    const names = new Map<string, string>() // run name in the README → the name this test got
    let fixture = ''
    let repoDir = ''
    for (const b of all) {
      if (b.lang === 'yaml' && b.body.startsWith('# .dstack/workflows.yaml\n')) {
        fixture = b.body
        repoDir = ''
        continue
      }
      if (b.lang !== 'console') continue
      if (!repoDir) {
        const repo = makeRepo({ '.dstack/workflows.yaml': fixture })
        // an upstream that has the commit: no "no upstream branch" warning
        git(repo.dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD')
        git(repo.dir, 'branch', '-q', '--set-upstream-to=origin/main')
        repos.push(repo)
        repoDir = repo.dir
      }
      // split the block into commands and the output each one shows
      const steps: { cmd: string; expected: string[] }[] = []
      for (const line of b.body.replace(/\n$/, '').split('\n')) {
        if (line.startsWith('$ ')) steps.push({ cmd: line.slice(2), expected: [] })
        else steps[steps.length - 1]!.expected.push(line)
      }
      for (const step of steps) {
        const argv = words(step.cmd)
        expect(argv[0]).toBe('dstack-run')
        const quietErr = argv.includes('2>/dev/null')
        const args = argv.slice(1).filter((a) => a !== '2>/dev/null').map((a) => names.get(a) ?? a)
        let text = ''
        await main(args, {
          environ: { ...process.env, DSTACK_STORE: store },
          cwd: repoDir,
          out: { write: (s: string) => ((text += s), true) },
          err: { write: (s: string) => (quietErr || (text += s), true) },
          signal: new AbortController().signal
        })
        const actual = text.replace(/\n$/, '').split('\n')
        // the page's run names stand for the ones this run got, in order of appearance
        const readmeRuns = [...new Set(step.expected.join('\n').match(/\b[a-z]+-[a-z]+-\d+\b/g) ?? [])]
        const gotRuns = [...new Set(text.match(/\b[a-z]+-[a-z]+-\d+\b/g) ?? [])]
        readmeRuns.forEach((n, i) => gotRuns[i] && !names.has(n) && names.set(n, gotRuns[i]!))
        // on a mismatch, the diff of the shapes shows where
        if (!sameShape(step.expected, actual)) expect({ at: `${page}:${b.line}: $ ${step.cmd}`, lines: actual.map(shape) }).toEqual({ at: `${page}:${b.line}: $ ${step.cmd}`, lines: step.expected.map(shape) })
      }
    }
  }, 120_000)
})
