/**
 * The code snapshot: a tar.gz of a commit's tree with the local changes patch applied, byte-for-byte
 * deterministic for the same tree and addressed by its sha256.
 *
 * `git archive` writes the tar (it is the fastest tar of a tree there is) and pipes it into
 * `gzip -cn`, as `git archive | gzip` does (zlib in Node when there is no working gzip). Everything runs in a scratch git folder that reads the repository's objects as an
 * alternate and writes only its own, so neither the user's index, work tree, objects nor config
 * change or apply. Its `info/attributes` switches off what would make the archive differ from the
 * committed bytes (`export-ignore`, `export-subst`, eol conversion, filters such as git-lfs'
 * smudge), and the tree is archived as a fixed synthetic commit (fixed author, date and message),
 * so the same tree gives the same bytes: mtime 2000-01-01 (after 1980, so zip/wheel builds of the
 * extracted files work), uid/gid 0, 0644/0755 files, 0755 folders, symlinks as symlinks, paths in
 * git's tree order. Submodules are empty folders, with a warning. `.git` never appears.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { constants as zc, createGzip } from 'node:zlib'
import { UserError } from '../model/errors.js'
import { GitError, gitAt, type Git } from './git.js'
import { sha256Hex } from './hash.js'
import { explainGitError } from './work-tree.js'

export interface Snapshot {
  tarGz: Buffer
  /** sha256 (hex) of tarGz: the snapshot's content address */
  sha256: string
  /** files and symlinks archived */
  files: number
  /** e.g. submodules left out; never fatal */
  warnings: string[]
}

/** fixed entry time: 2000-01-01T00:00:00Z */
export const SNAPSHOT_MTIME = new Date(Date.UTC(2000, 0, 1))
const GZIP_LEVEL = 6
const GZIP_OS_UNIX = 3

/** what the scratch folder's `info/attributes` unsets for every path (it overrides the tree's .gitattributes) */
export const NEUTRAL_ATTRIBUTES = '* -export-ignore -export-subst -text -eol -filter -ident -working-tree-encoding\n'

/** the synthetic commit's identity: its id, and so the archive's bytes, depend on the tree alone */
const SNAPSHOT_COMMIT_ENV = {
  GIT_AUTHOR_NAME: 'dstack',
  GIT_AUTHOR_EMAIL: 'snapshot@dstack',
  GIT_AUTHOR_DATE: '946684800 +0000',
  GIT_COMMITTER_NAME: 'dstack',
  GIT_COMMITTER_EMAIL: 'snapshot@dstack',
  GIT_COMMITTER_DATE: '946684800 +0000'
}

/**
 * `git ls-tree -r -z` output → files (and symlinks) and submodules. Without `-l`: sizes would make
 * git read every blob, beside the archive that reads them anyway (paths are raw bytes: any name is kept)
 */
export function treeStats(out: Buffer): { files: number; submodules: string[] } {
  let files = 0
  const submodules: string[] = []
  let start = 0
  while (start < out.length) {
    let end = out.indexOf(0, start)
    if (end < 0) end = out.length
    const record = out.subarray(start, end)
    start = end + 1
    const tab = record.indexOf(9)
    if (tab < 0) continue
    const type = record.subarray(0, tab).toString('latin1').split(' ')[1]
    if (type === 'blob') files++
    else if (type === 'commit') submodules.push(record.subarray(tab + 1).toString('utf8'))
  }
  return { files, submodules }
}

/**
 * One entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: the list is split at `:`, so a path holding `:`
 * (or starting with `"`) goes C-quoted, which git unquotes (a folder named `a:b` is a real place)
 */
export function alternatesEntry(path: string): string {
  if (!/[:"\\\x00-\x1f\x7f]/.test(path)) return path
  const escaped = path.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))
  return `"${escaped}"`
}

/**
 * A git folder of our own in `dir`: the repository's objects readable through the alternates
 * variable, new objects and the index kept here, no config but ours, attributes neutral.
 */
async function scratchGit(cwd: string, dir: string, objects: string): Promise<{ git: Git; env: Record<string, string> }> {
  await mkdir(join(dir, 'objects'), { recursive: true })
  await mkdir(join(dir, 'refs'))
  await mkdir(join(dir, 'info'))
  await writeFile(join(dir, 'HEAD'), 'ref: refs/heads/snapshot\n')
  await writeFile(join(dir, 'info', 'attributes'), NEUTRAL_ATTRIBUTES)
  const env = {
    GIT_DIR: dir,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: alternatesEntry(objects),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    ...SNAPSHOT_COMMIT_ENV
  }
  return { git: gitAt(cwd), env }
}

/** the tree with the patch applied, in the scratch index */
async function patchedTree(git: Git, env: Record<string, string>, sha: string, tree: string, patch: Buffer): Promise<string> {
  await git.run(['read-tree', tree], { env })
  try {
    await git.run(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], { env, input: patch })
  } catch (e) {
    throw new UserError(`the local changes do not apply to commit ${sha}: ${(e as Error).message}`, 'commit or stash the local changes and try again')
  }
  return git.text(['write-tree'], { env })
}

const ARCHIVE = ['-c', 'tar.umask=022', 'archive']

/** a git process's stdout (through `through` when given), or a GitError with its stderr */
async function gitOutput(child: ChildProcessWithoutNullStreams, label: string[], through?: Transform): Promise<Buffer> {
  const err: Buffer[] = []
  child.stderr.on('data', (c: Buffer) => err.push(c))
  child.stdin.end()
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.on('error', reject)
    child.on('close', resolveExit)
  })
  const out: Buffer[] = []
  const sink = async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) out.push(c)
  }
  await (through ? pipeline(child.stdout, through, sink) : pipeline(child.stdout, sink))
  const code = await exited
  if (code !== 0) throw new GitError(label, code, Buffer.concat(err).toString('utf8'))
  return Buffer.concat(out)
}

/**
 * `git archive` of the synthetic commit, gzipped. git pipes the tar into `gzip -cn` itself, as
 * `git archive | gzip` does (the tar never passes through Node: ~15 % less time); without a
 * working gzip, zlib compresses the tar as it streams.
 */
async function archiveGz(git: Git, env: Record<string, string>, commit: string): Promise<Buffer> {
  let tarGz: Buffer
  try {
    tarGz = await gitOutput(git.spawn(['-c', `tar.tar.gz.command=gzip -cn -${GZIP_LEVEL}`, ...ARCHIVE, '--format=tar.gz', commit], { env }), ['archive', commit])
  } catch {
    const gz = createGzip({ level: GZIP_LEVEL, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY })
    tarGz = await gitOutput(git.spawn([...ARCHIVE, '--format=tar', commit], { env }), ['archive', commit], gz)
  }
  // the gzip header has no name and mtime 0; pin the OS byte so every platform gives the same bytes
  if (tarGz.length > 9) tarGz[9] = GZIP_OS_UNIX
  return tarGz
}

/**
 * A partial clone (`--filter=blob:none`, often with a sparse checkout) lacks the contents of the
 * files it never checked out, and the scratch folder cannot fetch them: the repository itself
 * does (reading a promised object fetches it). Returns how many were missing.
 */
async function fetchMissingBlobs(repo: Git, tree: string): Promise<number> {
  const listed = (await repo.run(['rev-list', '--objects', '--missing=print', tree])).stdout.toString('utf8')
  const missing = listed.split('\n').filter((l) => l.startsWith('?')).map((l) => l.slice(1))
  if (missing.length > 0) await repo.run(['cat-file', '--batch-check'], { input: missing.join('\n') + '\n' })
  return missing.length
}

/**
 * A deterministic tar.gz of commit `sha` in the checkout containing `repoDir`, with `patch`
 * (from readRevision) applied. Extract with `tar -xzf snapshot.tar.gz -C <empty folder>`.
 */
export async function buildSnapshot(repoDir: string, sha: string, patch: Buffer): Promise<Snapshot> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) throw new Error(`buildSnapshot: ${JSON.stringify(sha)} is not a commit id`)
  // one question to the repository: where its objects are, and the commit's tree (last: a folder
  // name may hold a newline, a tree id never does)
  const dir = resolve(repoDir)
  let answer: string
  try {
    answer = (await gitAt(dir).run(['rev-parse', '--git-path', 'objects', `${sha}^{tree}`])).stdout.toString('utf8')
  } catch (e) {
    if (e instanceof GitError && /unknown revision|bad revision/.test(e.stderr)) {
      throw new UserError(`commit ${sha} is not in the repository ${dir}`, 'fetch it first (git fetch), or check out the commit to run')
    }
    throw explainGitError(dir, e)
  }
  const cut = answer.lastIndexOf('\n', answer.length - 2)
  const objectsPath = answer.slice(0, cut)
  const commitTree = answer.slice(cut + 1).trim()
  const objects = isAbsolute(objectsPath) ? objectsPath : resolve(dir, objectsPath)
  const tmp = await mkdtemp(join(tmpdir(), 'run-action-snapshot-'))
  try {
    const { git, env } = await scratchGit(dir, tmp, objects)
    const tree = patch.length > 0 ? await patchedTree(git, env, sha, commitTree, patch) : commitTree
    const commit = await git.text(['commit-tree', '-m', 'code snapshot', tree], { env })
    // the listing (counts, submodules) runs beside the archive, on the other core
    const pack = () => Promise.all([archiveGz(git, env, commit), git.run(['ls-tree', '-r', '-z', '--full-tree', tree], { env })])
    let packed: Awaited<ReturnType<typeof pack>>
    try {
      packed = await pack()
    } catch (e) {
      const missing = e instanceof GitError ? await fetchMissingBlobs(gitAt(dir), commitTree) : 0
      if (missing === 0) throw e
      packed = await pack().catch((again: Error) => {
        throw new UserError(
          `the checkout lacks ${missing} file(s) of commit ${sha} (a partial clone) and git could not fetch them: ${again.message}`,
          'fetch the whole commit (git fetch --refetch), or check out without a blob filter'
        )
      })
    }
    const [tarGz, listing] = packed
    const { files, submodules } = treeStats(listing.stdout)
    const warnings = submodules.map((p) => `submodule ${p} is an empty folder in the code snapshot: submodules are not part of it`)
    return { tarGz, sha256: sha256Hex(tarGz), files, warnings }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
