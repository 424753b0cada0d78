/**
 * Hostile-input cases run as a user would: a real git repository with workflow files, the real CLI
 * entry (`main`), the local backend executing the real runner script with bash, a folder store.
 */
import './job-user-on.js'
import { mkdtempSync, rmSync, readdirSync, readFileSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'

export interface Captured {
  code: number
  out: string
  err: string
}

export async function cli(cwd: string, args: string[], environ: Record<string, string | undefined> = process.env): Promise<Captured> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ,
    cwd,
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

const made: string[] = []

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.push(d)
  return d
}

export function repoWith(files: Record<string, string>): string {
  const r = makeRepo(files)
  made.push(r.dir)
  return r.dir
}

export function cleanup(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** every file under `dir` (relative, sorted), links included as they are (never followed) */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.push(relative(dir, p))
    }
  }
  walk(dir)
  return out.sort()
}

/** every byte the store holds, as one string (to look for a secret anywhere in it) */
export function everyStoredByte(dir: string): string {
  return filesUnder(dir).map((f) => {
    const p = join(dir, f)
    return statSync(p).isFile() ? readFileSync(p, 'latin1') : ''
  }).join('\n')
}

/** the run name the CLI reported on stderr (`run <name> <status>`) */
export function runNameOf(c: Captured): string {
  const m = /run (\S+) (succeeded|failed|cancelled|timed-out|interrupted)/.exec(c.err)
  if (!m) throw new Error(`no run name in the CLI's output:\n${c.err}`)
  return m[1]!
}

export const REPO_ID = 'github.com/acme/ml-demo'
export function runDir(store: string, run: string): string {
  return join(store, REPO_ID, 'runs', run)
}
