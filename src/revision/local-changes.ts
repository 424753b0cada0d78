/**
 * Local changes as one binary patch against a base commit, as dstack captured them: tracked edits
 * (staged or not, plus commits not in the base) and, on request, untracked non-ignored files.
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative, resolve } from 'node:path'
import type { Git } from './git.js'

/**
 * Flags that make the patch independent of the user's git config (colour, prefixes, external diff
 * tools, textconv, relative diffs) so the same changes always give the same bytes.
 */
const DIFF_ARGS = [
  '--literal-pathspecs',
  'diff',
  '--binary',
  '--full-index',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--no-renames',
  '--no-relative',
  '--ignore-submodules=all',
  '--src-prefix=a/',
  '--dst-prefix=b/'
]

export interface LocalChanges {
  patch: Buffer
  /** untracked files included in the patch (repo-relative) */
  untracked: string[]
}

/** NUL-separated git output → strings */
export function splitNul(out: Buffer): string[] {
  return out
    .toString('utf8')
    .split('\0')
    .filter((s) => s !== '')
}

export async function untrackedFiles(git: Git): Promise<string[]> {
  return splitNul((await git.run(['ls-files', '--others', '--exclude-standard', '-z', '--full-name'])).stdout)
}

/**
 * `git diff --binary <base>` of the working tree; with includeUntracked, untracked non-ignored
 * files are added as intent-to-add entries to a *copy* of the index first, so they show up as
 * new-file patches in the same diff (what `git diff --no-index /dev/null <file>` gives for each,
 * in one git call). The user's index is never written. `git` must run at the work tree root.
 */
export async function localChangesPatch(git: Git, base: string, opts: { includeUntracked?: boolean; excludeDirs?: string[] } = {}): Promise<LocalChanges> {
  // a run store inside the repository holds other runs' logs and artifacts: never part of the code
  const outside = (p: string) => !(opts.excludeDirs ?? []).some((d) => { const rel = relative(d, resolve(git.cwd, p)); return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)) })
  const untracked = opts.includeUntracked ? (await untrackedFiles(git)).filter(outside) : []
  if (untracked.length === 0) {
    return { patch: (await git.run([...DIFF_ARGS, base, '--'])).stdout, untracked }
  }
  const tmp = await mkdtemp(join(tmpdir(), 'run-action-index-'))
  try {
    const index = join(tmp, 'index')
    const env = { GIT_INDEX_FILE: index }
    const gitPath = await git.text(['rev-parse', '--git-path', 'index'])
    const realIndex = isAbsolute(gitPath) ? gitPath : resolve(git.cwd, gitPath)
    if (await exists(realIndex)) await copyFile(realIndex, index)
    else await git.run(['read-tree', 'HEAD'], { env })
    await git.run(['--literal-pathspecs', 'add', '--intent-to-add', '--pathspec-from-file=-', '--pathspec-file-nul'], {
      env,
      input: untracked.join('\0') + '\0'
    })
    return { patch: (await git.run([...DIFF_ARGS, base, '--'], { env })).stdout, untracked }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}
