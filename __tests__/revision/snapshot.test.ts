import { describe, it, expect, afterAll } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { appendFileSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { extract as tarExtract, type Header } from 'tar-stream'
import { buildSnapshot, captureRevision, readRevision, SNAPSHOT_MTIME } from '../../src/revision/index.js'
import { UserError } from '../../src/model/errors.js'
import { LAPTOP_ENV, TempDirs, commitAll, git, makeClonePair, makeRepo, readTree, untar, writeFiles, type FileSpec } from './git-fixture.js'

const dirs = new TempDirs()
afterAll(() => dirs.cleanup())

const BLOB = randomBytes(64 * 1024)
const FILES: Record<string, FileSpec> = {
  'README.md': '# demo\n',
  'train.py': 'print("train")\n',
  'run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
  'latest': { symlink: 'train.py' },
  '.gitignore': 'outputs/\n',
  'data/weights.bin': BLOB,
  'src/pkg/__init__.py': '',
  'src/pkg-extra.py': 'E = 1\n',
  'src/pkg.py': 'P = 1\n',
  'naïve/ünïcode.txt': 'utf-8 names\n',
  [`deep/${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(80)}.txt`]: 'a path longer than 100 bytes\n'
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function tarHeaders(tarGz: Buffer): Promise<Header[]> {
  const headers: Header[] = []
  const ex = tarExtract()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      headers.push(h)
      stream.on('end', () => next())
      stream.resume()
    })
    ex.on('finish', () => resolve())
    ex.on('error', reject)
  })
  ex.end(gunzipSync(tarGz))
  await done
  return headers
}

/** the working tree as the snapshot should hold it: everything but .git and ignored files */
function expectedTree(dir: string): Record<string, string> {
  const all = readTree(dir)
  for (const p of Object.keys(all)) if (p.startsWith('outputs/')) delete all[p]
  return all
}

describe('buildSnapshot', () => {
  it('is byte-for-byte deterministic: same tree twice, after touching mtimes, in another clone folder', async () => {
    const { clone, sha, bare } = makeClonePair(dirs, FILES)
    const a = await buildSnapshot(clone, sha, Buffer.alloc(0))
    const b = await buildSnapshot(clone, sha, Buffer.alloc(0))
    expect(b.tarGz.equals(a.tarGz)).toBe(true)
    // from a sub-folder: still the whole tree
    expect((await buildSnapshot(join(clone, 'src', 'pkg'), sha, Buffer.alloc(0))).sha256).toBe(a.sha256)
    expect(a.sha256).toBe(sha256(a.tarGz))
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/)

    for (const f of ['README.md', 'train.py', 'data/weights.bin']) utimesSync(join(clone, f), new Date(2030, 1, 1), new Date(2030, 1, 1))
    expect((await buildSnapshot(clone, sha, Buffer.alloc(0))).sha256).toBe(a.sha256)

    const other = join(dirs.make('other-'), 'a-different-folder-name')
    git(dirs.make(), 'clone', '-q', bare, other)
    expect((await buildSnapshot(other, sha, Buffer.alloc(0))).sha256).toBe(a.sha256)

    const shallow = join(dirs.make('shallow-'), 'checkout')
    git(dirs.make(), 'clone', '-q', '--depth', '1', `file://${bare}`, shallow)
    expect((await buildSnapshot(shallow, sha, Buffer.alloc(0))).sha256).toBe(a.sha256)

    expect(a.files).toBe(Object.keys(FILES).length)
  })

  it('different content gives a different sha256', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    const before = await buildSnapshot(dir, sha, Buffer.alloc(0))
    writeFiles(dir, { 'train.py': 'print("train!")\n' })
    const after = await buildSnapshot(dir, commitAll(dir, 'change'), Buffer.alloc(0))
    expect(after.sha256).not.toBe(before.sha256)
    // a mode change alone is a different snapshot too
    execFileSync('chmod', ['+x', join(dir, 'train.py')])
    const exec = await buildSnapshot(dir, commitAll(dir, 'chmod'), Buffer.alloc(0))
    expect(exec.sha256).not.toBe(after.sha256)
  })

  it('has fixed metadata, sorted paths, folders before their files, no .git, and a timestamp-free gzip header', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    const snap = await buildSnapshot(dir, sha, Buffer.alloc(0))
    expect([...snap.tarGz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
    const headers = await tarHeaders(snap.tarGz)
    expect(headers.some((h) => h.name === '.git' || h.name.startsWith('.git/'))).toBe(false)
    for (const h of headers) {
      expect(h.mtime.getTime()).toBe(SNAPSHOT_MTIME.getTime())
      expect([h.uid, h.gid, h.uname, h.gname]).toEqual([0, 0, 'root', 'root'])
    }
    const byName = new Map(headers.map((h) => [h.name, h]))
    expect(byName.get('run.sh')).toMatchObject({ type: 'file', mode: 0o755 })
    expect(byName.get('train.py')).toMatchObject({ type: 'file', mode: 0o644 })
    expect(byName.get('latest')).toMatchObject({ type: 'symlink', linkname: 'train.py' })
    expect(byName.get('src/')).toMatchObject({ type: 'directory', mode: 0o755 })
    const names = headers.map((h) => h.name)
    expect(names.indexOf('src/')).toBeLessThan(names.indexOf('src/pkg/__init__.py'))
    const files = headers.filter((h) => h.type !== 'directory').map((h) => h.name)
    expect(files).toEqual([...files].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))))
  })

  it('extracts with plain tar -xzf into the commit tree (modes, symlinks, binary, long and UTF-8 names)', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    const snap = await buildSnapshot(dir, sha, Buffer.alloc(0))
    const out = untar(dirs, snap.tarGz)
    expect(readTree(out)).toEqual(expectedTree(dir))
    expect(readFileSync(join(out, 'data/weights.bin')).equals(BLOB)).toBe(true)
    expect(readdirSync(out)).not.toContain('.git')
  })

  it('streams large files', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17)
    const { dir, sha } = makeRepo(dirs, { 'big.bin': big, 'small.txt': 'hi\n' })
    const snap = await buildSnapshot(dir, sha, Buffer.alloc(0))
    expect(snap.files).toBe(2)
    expect(readFileSync(join(untar(dirs, snap.tarGz), 'big.bin')).equals(big)).toBe(true)
  })

  it('keeps a submodule as an empty folder, with a warning', async () => {
    const { dir } = makeRepo(dirs, FILES)
    git(dir, 'update-index', '--add', '--cacheinfo', `160000,${'e'.repeat(40)},vendor/lib`)
    git(dir, 'commit', '-q', '-m', 'add a submodule')
    const snap = await buildSnapshot(dir, git(dir, 'rev-parse', 'HEAD'), Buffer.alloc(0))
    expect(snap.warnings).toEqual(['submodule vendor/lib is an empty folder in the code snapshot: submodules are not part of it'])
    expect((await tarHeaders(snap.tarGz)).filter((h) => h.name.startsWith('vendor/lib')).map((h) => [h.name, h.type])).toEqual([['vendor/lib/', 'directory']])
    expect(snap.files).toBe(Object.keys(FILES).length)
  })

  it('holds the committed bytes whatever attributes and config say: eol, export-ignore, export-subst, filters, tar.umask', async () => {
    const committed = {
      '.gitattributes': '*.txt text eol=crlf\nhidden.txt export-ignore\nversion.txt export-subst ident\n*.bin filter=shout\n',
      'notes.txt': 'line 1\nline 2\n',
      'hidden.txt': 'still here\n',
      'version.txt': 'commit $Format:%H$ $Id$\n',
      'weights.bin': 'lower case\n'
    }
    const { dir, sha } = makeRepo(dirs, committed)
    // the repository's own config and the user's global one would change what git archive writes
    git(dir, 'config', 'filter.shout.smudge', 'tr a-z A-Z')
    git(dir, 'config', 'filter.shout.required', 'true')
    git(dir, 'config', 'tar.umask', '0077')
    const globalConfig = join(dirs.make(), 'gitconfig')
    writeFileSync(globalConfig, '[core]\n\tautocrlf = true\n[filter "shout"]\n\tsmudge = tr a-z A-Z\n\trequired = true\n[tar]\n\tumask = 0077\n')
    const saved = process.env.GIT_CONFIG_GLOBAL
    process.env.GIT_CONFIG_GLOBAL = globalConfig
    let snap
    try {
      snap = await buildSnapshot(dir, sha, Buffer.alloc(0))
    } finally {
      if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL
      else process.env.GIT_CONFIG_GLOBAL = saved
    }
    const out = untar(dirs, snap.tarGz)
    for (const [path, content] of Object.entries(committed)) expect(readFileSync(join(out, path), 'utf8')).toBe(content)
    const headers = await tarHeaders(snap.tarGz)
    expect(headers.filter((h) => h.type === 'file').map((h) => h.mode)).toEqual(Object.keys(committed).map(() => 0o644))
  })

  it('keeps a file whose name is not valid UTF-8 (a Linux name is bytes)', async () => {
    const { dir } = makeRepo(dirs, FILES)
    const blob = git(dir, 'hash-object', '-w', join(dir, 'train.py'))
    const latin1Name = Buffer.from('caf\xe9.txt', 'latin1')
    execFileSync('git', ['update-index', '--index-info'], { cwd: dir, input: Buffer.concat([Buffer.from(`100644 ${blob}\t`), latin1Name, Buffer.from('\n')]) })
    git(dir, 'commit', '-q', '-m', 'a latin-1 name')
    const snap = await buildSnapshot(dir, git(dir, 'rev-parse', 'HEAD'), Buffer.alloc(0))
    expect(snap.warnings).toEqual([])
    expect(snap.files).toBe(Object.keys(FILES).length + 1)
    const names = readdirSync(untar(dirs, snap.tarGz), { encoding: 'buffer' })
    expect(names.some((n) => n.equals(latin1Name))).toBe(true)
  })

  it('a commit the checkout does not have, or a folder that is not a checkout, is a UserError naming it', async () => {
    const { dir } = makeRepo(dirs, FILES)
    const missing = 'ab'.repeat(20)
    await expect(buildSnapshot(join(dir, 'src'), missing, Buffer.alloc(0))).rejects.toThrow(new UserError(`commit ${missing} is not in the repository ${join(dir, 'src')}`))
    const plain = dirs.make('plain-')
    await expect(buildSnapshot(plain, missing, Buffer.alloc(0))).rejects.toThrow(`${plain} is not inside a git repository`)
    await expect(buildSnapshot(dir, '--output=/tmp/x', Buffer.alloc(0))).rejects.toThrow('is not a commit id')
  })

  it('a sparse partial clone: the files it never checked out are fetched, then archived', async () => {
    const { bare, sha } = makeClonePair(dirs, FILES)
    git(bare, 'config', 'uploadpack.allowFilter', 'true')
    const partial = join(dirs.make('partial-'), 'checkout')
    git(dirs.make(), 'clone', '-q', '--filter=blob:none', '--sparse', `file://${bare}`, partial)
    expect(readdirSync(partial)).not.toContain('data')
    const promised = () => git(partial, 'rev-list', '--objects', '--missing=print', 'HEAD^{tree}').split('\n').filter((l) => l.startsWith('?'))
    expect(promised().length).toBeGreaterThan(0)
    const snap = await buildSnapshot(partial, sha, Buffer.alloc(0))
    expect(readFileSync(join(untar(dirs, snap.tarGz), 'data/weights.bin')).equals(BLOB)).toBe(true)
    expect(promised()).toEqual([])
  })

  it('without a gzip program, zlib compresses the same tar (still deterministic)', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    const withGzip = await buildSnapshot(dir, sha, Buffer.alloc(0))
    // a PATH with git and nothing else: git cannot start `gzip -cn`
    const bin = dirs.make('path-')
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'))
    const saved = process.env.PATH
    process.env.PATH = bin
    let a, b
    try {
      a = await buildSnapshot(dir, sha, Buffer.alloc(0))
      b = await buildSnapshot(dir, sha, Buffer.alloc(0))
    } finally {
      process.env.PATH = saved
    }
    expect(a.tarGz.equals(b.tarGz)).toBe(true)
    expect(gunzipSync(a.tarGz).equals(gunzipSync(withGzip.tarGz))).toBe(true)
    // GNU gzip and zlib deflate differently: this was the zlib path
    expect(a.tarGz.equals(withGzip.tarGz)).toBe(false)
    expect([...a.tarGz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0])
    expect(a.tarGz[9]).toBe(3)
  })

  it('a patch that does not apply is a UserError', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    const bogus = Buffer.from('diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-not the content\n+x\n')
    await expect(buildSnapshot(dir, sha, bogus)).rejects.toThrow(UserError)
  })
})

describe('captureRevision', () => {
  it('dirty laptop tree with unpushed commit, binary edits and untracked files: the snapshot is the working tree', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    // an unpushed commit with a binary change
    const blob2 = Buffer.from(BLOB)
    blob2[100] ^= 0xff
    blob2.write('changed', 5000)
    writeFiles(clone, { 'data/weights.bin': blob2 })
    commitAll(clone, 'retrain')
    // uncommitted: a tracked text edit, a mode change, a deleted file, a binary edit, untracked text + binary, ignored output
    appendFileSync(join(clone, 'train.py'), 'print("more")\n')
    execFileSync('chmod', ['+x', join(clone, 'train.py')])
    execFileSync('rm', [join(clone, 'README.md')])
    const blob3 = Buffer.concat([blob2, randomBytes(1000)])
    writeFiles(clone, {
      'data/weights.bin': blob3,
      'notes/untracked.md': 'untracked\n',
      'data/new.npy': randomBytes(4096),
      'outputs/model.pt': 'ignored',
      latest: { symlink: 'run.sh' }
    })
    const indexBefore = readFileSync(join(clone, '.git', 'index'))
    const objectsBefore = git(clone, 'count-objects', '-v')

    const withUntracked = await captureRevision(clone, LAPTOP_ENV, { includeUntracked: true })
    expect(withUntracked.revision.sha).toBe(sha)
    expect(withUntracked.revision.snapshotSha256).toBe(withUntracked.snapshot.sha256)
    expect(withUntracked.revision.diffSha256).toBe(sha256(withUntracked.patch))
    expect(withUntracked.warnings).toEqual([])
    const out = untar(dirs, withUntracked.snapshot.tarGz)
    expect(readTree(out)).toEqual(expectedTree(clone))
    expect(readFileSync(join(out, 'data/weights.bin')).equals(blob3)).toBe(true)

    // without untracked files: the tracked state only
    const tracked = await captureRevision(clone, LAPTOP_ENV)
    const out2 = readTree(untar(dirs, tracked.snapshot.tarGz))
    const want = expectedTree(clone)
    delete want['notes/untracked.md']
    delete want['data/new.npy']
    expect(out2).toEqual(want)
    expect(tracked.snapshot.sha256).not.toBe(withUntracked.snapshot.sha256)

    // capturing left the user's index and object store alone
    expect(readFileSync(join(clone, '.git', 'index')).equals(indexBefore)).toBe(true)
    expect(git(clone, 'count-objects', '-v')).toBe(objectsBefore)

    // the same state again: the same content address (nothing to upload)
    expect((await captureRevision(clone, LAPTOP_ENV, { includeUntracked: true })).snapshot.sha256).toBe(withUntracked.snapshot.sha256)
  })

  it('a laptop branch behind its upstream: the snapshot is still the working tree', async () => {
    const { bare, clone } = makeClonePair(dirs, FILES)
    const other = join(dirs.make('other-'), 'other')
    git(dirs.make(), 'clone', '-q', bare, other)
    writeFiles(other, { 'train.py': 'print("newer on the remote")\n', 'remote-only.txt': 'r\n' })
    const newer = commitAll(other, 'newer')
    git(other, 'push', '-q', 'origin', 'main')
    git(clone, 'fetch', '-q')
    appendFileSync(join(clone, 'README.md'), 'local edit\n')
    const c = await captureRevision(clone, LAPTOP_ENV)
    expect(c.revision.sha).toBe(newer)
    expect(readTree(untar(dirs, c.snapshot.tarGz))).toEqual(expectedTree(clone))
  })

  it('a clean CI checkout and a dirty one with the same tree give the same snapshot', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    writeFiles(clone, { 'train.py': 'print("v2")\n' })
    const env = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'octo/ml-repo', GITHUB_EVENT_NAME: 'push', GITHUB_SHA: sha }
    const dirty = await captureRevision(clone, env)
    expect(dirty.revision.sha).toBe(sha)
    expect(dirty.revision.diffSha256).toBeDefined()
    const committed = commitAll(clone, 'v2')
    const clean = await captureRevision(clone, { ...env, GITHUB_SHA: committed })
    expect(clean.revision.diffSha256).toBeUndefined()
    expect(clean.snapshot.sha256).toBe(dirty.snapshot.sha256)
  })

  it('readRevision + buildSnapshot equals captureRevision', async () => {
    const { dir } = makeRepo(dirs, FILES)
    appendFileSync(join(dir, 'train.py'), '# edit\n')
    writeFileSync(join(dir, 'extra.txt'), 'x\n')
    const read = await readRevision(dir, LAPTOP_ENV, { includeUntracked: true })
    const snap = await buildSnapshot(dir, read.revision.sha, read.patch)
    const cap = await captureRevision(dir, LAPTOP_ENV, { includeUntracked: true })
    expect(cap.snapshot.sha256).toBe(snap.sha256)
    expect(cap.revision).toEqual({ ...read.revision, snapshotSha256: snap.sha256 })
  })
})
