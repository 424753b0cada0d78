/**
 * The code snapshot: a tar.gz of a commit's tree with the local changes patch applied, byte-for-byte
 * deterministic for the same tree and addressed by its sha256.
 *
 * The patch is applied to a temporary index with a temporary object directory (the repository's
 * objects as an alternate), so neither the user's index, work tree nor object store changes.
 * Entries are streamed from `git cat-file --batch` into tar-stream in sorted path order with fixed
 * metadata (mtime 2000-01-01 — after 1980, so zip/wheel builds of the extracted files work — uid/gid
 * 0, no user/group names, 0644/0755 files, 0755 folders, symlinks as symlinks). Submodules are
 * skipped with a warning. `.git` never appears: only tree entries are archived.
 */
import { once } from 'node:events'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { constants as zc, createGzip } from 'node:zlib'
import { pack as tarPack, type Header, type Pack } from 'tar-stream'
import { UserError } from '../model/errors.js'
import { ByteReader } from './byte-reader.js'
import { gitAt, type Git } from './git.js'
import { sha256Hex } from './hash.js'
import { openWorkTree } from './work-tree.js'

export interface Snapshot {
  tarGz: Buffer
  /** sha256 (hex) of tarGz: the snapshot's content address */
  sha256: string
  /** files and symlinks archived */
  files: number
  /** total size of their content (uncompressed) */
  bytes: number
  /** e.g. skipped submodules; never fatal */
  warnings: string[]
}

/** fixed entry time: 2000-01-01T00:00:00Z */
export const SNAPSHOT_MTIME = new Date(Date.UTC(2000, 0, 1))
const GZIP_LEVEL = 6
const GZIP_OS_UNIX = 3
const GZIP_BATCH = 1024 * 1024
const SMALL_FILE = 1024 * 1024

export interface TreeEntry {
  mode: string
  type: string
  object: string
  path: string
}

/** `git ls-tree -r -z` output → entries; paths that are not valid UTF-8 are reported, not returned */
export function parseLsTree(out: Buffer, warnings: string[]): TreeEntry[] {
  const entries: TreeEntry[] = []
  let start = 0
  while (start < out.length) {
    let end = out.indexOf(0, start)
    if (end < 0) end = out.length
    const record = out.subarray(start, end)
    start = end + 1
    const tab = record.indexOf(9)
    if (tab < 0) continue
    const [mode, type, object] = record.subarray(0, tab).toString('latin1').split(' ')
    const rawPath = record.subarray(tab + 1)
    const path = rawPath.toString('utf8')
    if (!Buffer.from(path, 'utf8').equals(rawPath)) {
      warnings.push(`skipped ${JSON.stringify(rawPath.toString('latin1'))}: its name is not valid UTF-8`)
      continue
    }
    entries.push({ mode, type, object, path })
  }
  return entries
}

/** byte order of the UTF-8 path: the same on every machine and locale */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** parent folders of `path` not yet in `seen`, outermost first (added to `seen`) */
function newParents(path: string, seen: Set<string>): string[] {
  const parts = path.split('/')
  const out: string[] = []
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/')
    if (!seen.has(dir)) {
      seen.add(dir)
      out.push(dir)
    }
  }
  return out
}

type EntryHeader = Partial<Header> & Pick<Header, 'name'>

function header(h: EntryHeader): EntryHeader {
  return { uid: 0, gid: 0, uname: '', gname: '', mtime: SNAPSHOT_MTIME, ...h }
}

async function addEntry(pack: Pack, h: EntryHeader, body?: AsyncIterable<Buffer> | Buffer): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolvePromise())
    if (!body || Buffer.isBuffer(body)) {
      pack.entry(header(h), body ?? Buffer.alloc(0), done)
      return
    }
    const sink = pack.entry(header(h), done)
    void (async () => {
      try {
        for await (const chunk of body) {
          if (!sink.write(chunk)) await once(sink, 'drain')
        }
        sink.end(undefined)
      } catch (e) {
        sink.destroy(e as Error)
        reject(e as Error)
      }
    })()
  })
}

/** a tree (with the patch applied) in temporary index and object storage; returns the tree id */
async function patchedTree(git: Git, sha: string, patch: Buffer, env: Record<string, string>): Promise<string> {
  try {
    await git.run(['read-tree', `${sha}^{tree}`], { env })
  } catch (e) {
    throw new UserError(`commit ${sha} is not in the repository ${git.cwd}`, 'fetch it first (git fetch), or check out the commit to run')
  }
  if (patch.length > 0) {
    try {
      await git.run(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], { env, input: patch })
    } catch (e) {
      throw new UserError(
        `the local changes do not apply to commit ${sha}: ${(e as Error).message}`,
        'commit or stash the local changes and try again'
      )
    }
  }
  return git.text(['write-tree'], { env })
}

async function archive(git: Git, tree: string, env: Record<string, string>, warnings: string[]) {
  const listed = parseLsTree((await git.run(['ls-tree', '-r', '-z', '--full-tree', tree], { env })).stdout, warnings)
  const entries = listed.filter((e) => {
    if (e.type === 'commit') warnings.push(`skipped submodule ${e.path}: submodules are not part of the code snapshot`)
    return e.type === 'blob'
  })
  entries.sort((a, b) => comparePaths(a.path, b.path))

  // Streaming thousands of 512-byte headers through a gzip stream one by one costs a thread-pool
  // round trip each (3× slower on 2,000 files); batches of 1 MiB do not. Deflate without flushes
  // gives the same bytes however the input is split.
  // The tar is compressed while it is built: gathered into 1 MiB batches (not thousands of 512-byte
  // writes) and fed to a gzip stream, whose zlib work runs on the thread pool beside this loop.
  const pack = tarPack()
  const gz = createGzip({ level: GZIP_LEVEL, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY })
  const out: Buffer[] = []
  gz.on('data', (c: Buffer) => out.push(c))
  let batch: Buffer[] = []
  let batchBytes = 0
  const flushBatch = () => {
    if (batch.length) gz.write(batch.length === 1 ? batch[0] : Buffer.concat(batch))
    batch = []
    batchBytes = 0
  }
  pack.on('data', (c: unknown) => {
    batch.push(c as Buffer)
    batchBytes += (c as Buffer).length
    if (batchBytes >= GZIP_BATCH) flushBatch()
  })
  const packed = new Promise<void>((res, rej) => {
    pack.on('end', () => {
      flushBatch()
      gz.end()
    })
    gz.on('end', () => res())
    pack.on('error', rej)
    gz.on('error', rej)
  })

  const cat = git.spawn(['cat-file', '--batch'], { env })
  const catStderr: Buffer[] = []
  cat.stderr.on('data', (c: Buffer) => catStderr.push(c))
  cat.stdin.on('error', () => undefined)
  cat.stdin.end(entries.map((e) => e.object + '\n').join(''))
  const reader = new ByteReader(cat.stdout)

  let files = 0
  let bytes = 0
  const seenDirs = new Set<string>()
  try {
    for (const e of entries) {
      const head = await reader.line()
      const [object, type, sizeText] = head.split(' ')
      if (object !== e.object || type !== 'blob') {
        throw new Error(`git cat-file returned "${head}" for ${e.path} (${e.object}): ${Buffer.concat(catStderr).toString('utf8')}`)
      }
      const size = Number(sizeText)
      for (const dir of newParents(e.path, seenDirs)) {
        await addEntry(pack, { name: `${dir}/`, type: 'directory', mode: 0o755 })
      }
      if (e.mode === '120000') {
        const target = (await reader.exact(size)).toString('utf8')
        await addEntry(pack, { name: e.path, type: 'symlink', linkname: target, mode: 0o777 })
      } else {
        // small files in one piece (one tar write instead of a stream per file), big ones streamed
        const body = size <= SMALL_FILE ? await reader.exact(size) : reader.bytes(size)
        await addEntry(pack, { name: e.path, type: 'file', mode: e.mode === '100755' ? 0o755 : 0o644, size }, body)
      }
      await reader.exact(1) // the LF after each object
      files++
      bytes += size
    }
  } finally {
    if (cat.exitCode === null) cat.kill()
  }
  pack.finalize()
  await packed
  const tarGz = Buffer.concat(out)
  // the gzip header has no name and mtime 0; pin the OS byte so every platform gives the same bytes
  if (tarGz.length > 9) tarGz[9] = GZIP_OS_UNIX
  return { tarGz, files, bytes }
}

/**
 * A deterministic tar.gz of commit `sha` in the checkout containing `repoDir`, with `patch`
 * (from readRevision) applied. Extract with `tar -xzf snapshot.tar.gz -C <empty folder>`.
 */
export async function buildSnapshot(repoDir: string, sha: string, patch: Buffer): Promise<Snapshot> {
  const { root } = await openWorkTree(repoDir)
  const git = gitAt(root)
  if (patch.length === 0) {
    // nothing to apply: archive the commit's own tree, without a temporary index or object store
    // (three git processes fewer; the same bytes)
    let tree: string
    try {
      tree = await git.text(['rev-parse', '--verify', '--quiet', `${sha}^{tree}`])
    } catch {
      throw new UserError(`commit ${sha} is not in the repository ${git.cwd}`, 'fetch it first (git fetch), or check out the commit to run')
    }
    const warnings: string[] = []
    const { tarGz, files, bytes } = await archive(git, tree, {}, warnings)
    return { tarGz, sha256: sha256Hex(tarGz), files, bytes, warnings }
  }
  const objectsPath = await git.text(['rev-parse', '--git-path', 'objects'])
  const objects = isAbsolute(objectsPath) ? objectsPath : resolve(root, objectsPath)
  const tmp = await mkdtemp(join(tmpdir(), 'run-action-snapshot-'))
  try {
    await mkdir(join(tmp, 'objects'))
    const env = {
      GIT_INDEX_FILE: join(tmp, 'index'),
      GIT_OBJECT_DIRECTORY: join(tmp, 'objects'),
      GIT_ALTERNATE_OBJECT_DIRECTORIES: objects
    }
    const warnings: string[] = []
    const tree = await patchedTree(git, sha, patch, env)
    const { tarGz, files, bytes } = await archive(git, tree, env, warnings)
    return { tarGz, sha256: sha256Hex(tarGz), files, bytes, warnings }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
