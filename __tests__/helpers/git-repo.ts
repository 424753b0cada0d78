/** Temporary git repositories for end-to-end tests (removed by the caller's cleanup). */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { execFileSync } from 'node:child_process'

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1'
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8'
  }).trim()
}

/** a committed repo with these files and an `origin` remote URL (not fetched) */
export function makeRepo(files: Record<string, string>, remote = 'https://github.com/acme/ml-demo.git'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'repo-'))
  git(dir, 'init', '-q')
  git(dir, 'remote', 'add', 'origin', remote)
  writeFiles(dir, files)
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'initial')
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true })
    writeFileSync(join(dir, p), text)
  }
}
