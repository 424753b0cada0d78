/** Opening a checkout: find the work tree root and HEAD, turning git's complaints into UserErrors. */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { UserError } from '../model/errors.js'
import { GitError, gitAt, type Git } from './git.js'

export interface WorkTree {
  /** git running at the work tree root */
  git: Git
  /** absolute path of the work tree root (repoDir may be a sub-folder) */
  root: string
  /** the checked-out commit */
  head: string
}

/** git's complaint about `dir` as a UserError naming the folder and the fix */
export function explainGitError(dir: string, e: unknown): Error {
  if (!(e instanceof GitError)) return e as Error
  if (e.spawnError?.code === 'ENOENT') {
    return new UserError('git is not installed (or not on PATH)', 'install git: it is needed to capture the code revision')
  }
  const msg = e.stderr
  if (/not a git repository/i.test(msg)) {
    return new UserError(
      `${dir} is not inside a git repository`,
      'run from a clone of the repository that holds the workflows (in CI, check it out first, e.g. with actions/checkout), ' +
        'or make one: git init && git add -A && git commit -m "first commit"'
    )
  }
  if (/dubious ownership/i.test(msg)) {
    return new UserError(
      `git refuses to read ${dir}: the folder belongs to another user`,
      `mark it as safe: git config --global --add safe.directory ${dir}`
    )
  }
  if (/must be run in a work tree/i.test(msg)) {
    return new UserError(`${dir} is a bare git repository`, 'run from a checkout with a working tree')
  }
  return new UserError(`git cannot read ${dir}: ${msg.trim() || e.message}`)
}

export async function openWorkTree(repoDir: string): Promise<WorkTree> {
  const dir = resolve(repoDir)
  const st = await stat(dir).catch(() => undefined)
  if (!st?.isDirectory()) {
    throw new UserError(`folder ${dir} does not exist`, 'pass the folder of a git checkout')
  }
  // one git call: the root, then HEAD's id on its own last line when there is a commit (exit 1
  // without one); a folder name may hold a newline, an id never does
  let out: string
  let code: number
  try {
    const r = await gitAt(dir).run(['rev-parse', '--show-toplevel', '--verify', '--quiet', 'HEAD^{commit}'], { okExitCodes: [0, 1] })
    out = r.stdout.toString('utf8').replace(/\n$/, '')
    code = r.code
  } catch (e) {
    throw explainGitError(dir, e)
  }
  const cut = code === 0 ? out.lastIndexOf('\n') : -1
  const root = cut >= 0 ? out.slice(0, cut) : out
  const head = cut >= 0 ? out.slice(cut + 1) : ''
  if (!head) {
    throw new UserError(`the git repository ${root} has no commits yet`, 'commit the files first: git add -A && git commit -m "first commit"')
  }
  const git = gitAt(root)
  return { git, root, head }
}
