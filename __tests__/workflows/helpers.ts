import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseWorkflowFile } from '../../src/workflows/index.js'
import type { RunSpec, WorkflowProblem } from '../../src/model/index.js'

const fixtureDir = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** a fixture file's text; task files are stored with a `.fixture` suffix (see fixtures/README.md) */
export function readFixture(name: string, file: string): string {
  const p = join(fixtureDir(name), file)
  return readFileSync(existsSync(p) ? p : `${p}.fixture`, 'utf8')
}

/** copy a fixture repository to a temporary folder, dropping the `.fixture` suffixes */
export function fixtureRepo(name: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `wf-${name}-`))
  cpSync(fixtureDir(name), dir, { recursive: true })
  const strip = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) strip(p)
      else if (e.name.endsWith('.fixture')) renameSync(p, p.slice(0, -'.fixture'.length))
    }
  }
  strip(dir)
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** parse text and expect no problems; returns the specs by name */
export function parseOk(file: string, text: string): Record<string, RunSpec> {
  const r = parseWorkflowFile(file, text)
  if (r.problems.length) throw new Error('unexpected problems:\n' + r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'))
  return Object.fromEntries(r.specs.map((s) => [s.workflow, s]))
}

export function problemsOf(file: string, text: string): WorkflowProblem[] {
  return parseWorkflowFile(file, text).problems
}

/** a problem at `path` whose message matches */
export function findProblem(problems: WorkflowProblem[], path: string, message: RegExp): WorkflowProblem {
  const p = problems.find((x) => x.path === path && message.test(x.message))
  if (!p) throw new Error(`no problem at ${path} matching ${message}; got:\n` + problems.map((x) => `${x.line}:${x.column} ${x.path}: ${x.message}`).join('\n'))
  return p
}
