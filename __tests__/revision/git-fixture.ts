/** Temporary git repositories for the revision tests (never touches the project's own checkout). */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
  GIT_CONFIG_NOSYSTEM: '1'
}
for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete GIT_ENV[k]

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: GIT_ENV,
    stdio: ['ignore', 'pipe', 'pipe']
  })
    .toString('utf8')
    .trim()
}

export class TempDirs {
  private readonly dirs: string[] = []
  make(prefix = 'rev-'): string {
    const d = mkdtempSync(join(tmpdir(), `run-action-test-${prefix}`))
    this.dirs.push(d)
    return d
  }
  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  }
}

export type FileSpec = string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string }

export function writeFiles(root: string, files: Record<string, FileSpec>): void {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(root, path)
    mkdirSync(dirname(full), { recursive: true })
    rmSync(full, { force: true })
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) writeFileSync(full, spec)
    else if ('symlink' in spec) symlinkSync(spec.symlink, full)
    else {
      writeFileSync(full, spec.content)
      if (spec.mode !== undefined) chmodSync(full, spec.mode)
    }
  }
}

/** a repository at `<tmp>/<name>` with `files` committed on main; returns its folder and HEAD */
export function makeRepo(dirs: TempDirs, files: Record<string, FileSpec>, name = 'work'): { dir: string; sha: string } {
  const dir = join(dirs.make(), name)
  mkdirSync(dir)
  git(dir, 'init', '-q')
  writeFiles(dir, files)
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'first')
  return { dir, sha: git(dir, 'rev-parse', 'HEAD') }
}

export function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

/**
 * A bare "remote" with `files` on main and a clone of it whose main tracks origin/main.
 * The remote is a local path, so the laptop repo id falls back to `local/<user>/<folder>`
 * unless the remote URL is rewritten (see `setRemoteUrl`).
 */
export function makeClonePair(dirs: TempDirs, files: Record<string, FileSpec>): { bare: string; clone: string; sha: string } {
  const seed = makeRepo(dirs, files, 'seed')
  const bare = join(dirs.make(), 'remote.git')
  git(dirname(bare), 'clone', '-q', '--bare', seed.dir, bare)
  const clone = join(dirs.make(), 'clone')
  git(dirname(clone), 'clone', '-q', bare, clone)
  return { bare, clone, sha: seed.sha }
}

/** every file below `root` (not `.git`) → content, or `-> target` for symlinks, plus `+x` for executables */
export function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      if (rel === '' && name === '.git') continue
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(root, path))
      if (st.isSymbolicLink()) out[path] = `-> ${readlinkSync(join(root, path))}`
      else if (st.isDirectory()) walk(path)
      else out[path] = readFileSync(join(root, path)).toString('base64') + (st.mode & 0o100 ? ' +x' : '')
    }
  }
  walk('')
  return out
}

/** extract a tar.gz with the system tar into a new folder; returns the folder */
export function untar(dirs: TempDirs, tarGz: Buffer): string {
  const d = dirs.make('untar-')
  writeFileSync(join(d, 'snapshot.tar.gz'), tarGz)
  const out = join(d, 'out')
  mkdirSync(out)
  execFileSync('tar', ['-xzf', join(d, 'snapshot.tar.gz'), '-C', out])
  return out
}

/** a no-CI environment with a fixed user name */
export const LAPTOP_ENV: Record<string, string | undefined> = { USER: 'alice' }
