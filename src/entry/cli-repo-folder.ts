/** `-C DIR` of every verb: the folder must exist (a typo must not read or write somewhere else). */
import { statSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { UserError } from '../model/index.js'

/** `-C DIR`: an existing folder (a typo must not read or write somewhere else) */
export function repoFolder(cwd: string, given: string | undefined): string {
  const dir = resolvePath(cwd, given ?? '.')
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch {
    throw new UserError(`-C ${given ?? '.'}: the folder ${dir} does not exist`, 'give the folder of the repository (a git checkout), or leave -C out for the current folder')
  }
  if (!isDir) throw new UserError(`-C ${given ?? '.'}: ${dir} is a file, not a folder`, 'give the folder of the repository (a git checkout)')
  return dir
}
