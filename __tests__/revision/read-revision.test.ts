import { describe, it, expect, afterAll } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync, appendFileSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { detectRepoId, readRevision } from '../../src/revision/index.js'
import { UserError } from '../../src/model/errors.js'
import { LAPTOP_ENV, TempDirs, commitAll, git, makeClonePair, makeRepo, writeFiles } from './git-fixture.js'

const dirs = new TempDirs()
afterAll(() => dirs.cleanup())

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const FILES = {
  'README.md': '# demo\n',
  'train.py': 'print("train")\n',
  '.gitignore': 'outputs/\n*.ckpt\n',
  'data/labels.bin': Buffer.from([0, 1, 2, 3, 255, 254, 0, 0])
}

describe('readRevision on a laptop', () => {
  it('clean clone: the upstream commit, branch and remote, no patch', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    git(clone, 'remote', 'set-url', 'origin', 'git@github.com:octo/ml-repo.git')
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision).toEqual({
      repoId: 'github.com/octo/ml-repo',
      repoUrl: 'https://github.com/octo/ml-repo',
      ref: 'refs/heads/main',
      branch: 'main',
      sha,
      event: 'local'
    })
    expect(r.patch.length).toBe(0)
    expect(r.warnings).toEqual([])
    expect(r.root).toBe(clone)
  })

  it('dirty tree: staged and unstaged edits always, untracked files only when asked; the index is left alone', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    appendFileSync(join(clone, 'train.py'), 'print("unstaged")\n')
    appendFileSync(join(clone, 'README.md'), 'staged line\n')
    git(clone, 'add', 'README.md')
    writeFiles(clone, { 'new_module.py': 'NEW = 1\n', 'outputs/ignored.txt': 'ignored\n', 'model.ckpt': 'ignored too' })
    const statusBefore = git(clone, 'status', '--porcelain')
    const stagedBefore = git(clone, 'diff', '--cached', '--name-only')

    const without = await readRevision(clone, LAPTOP_ENV)
    expect(without.revision.sha).toBe(sha)
    const text = without.patch.toString('utf8')
    expect(text).toContain('+print("unstaged")')
    expect(text).toContain('+staged line')
    expect(text).not.toContain('new_module.py')
    expect(without.revision.diffSha256).toBe(sha256(without.patch))
    expect(without.untracked).toEqual([])

    const withUntracked = await readRevision(clone, LAPTOP_ENV, { includeUntracked: true })
    const text2 = withUntracked.patch.toString('utf8')
    expect(text2).toContain('+print("unstaged")')
    expect(text2).toContain('diff --git a/new_module.py b/new_module.py\nnew file mode 100644')
    expect(text2).toContain('+NEW = 1')
    expect(text2).not.toContain('ignored')
    expect(withUntracked.untracked).toEqual(['new_module.py'])
    expect(withUntracked.revision.diffSha256).toBe(sha256(withUntracked.patch))
    expect(withUntracked.revision.diffSha256).not.toBe(without.revision.diffSha256)

    // reading is read-only: nothing got staged or unstaged
    expect(git(clone, 'status', '--porcelain')).toBe(statusBefore)
    expect(git(clone, 'diff', '--cached', '--name-only')).toBe(stagedBefore)
  })

  it('the same changes give the same diffSha256', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    appendFileSync(join(clone, 'train.py'), 'x = 1\n')
    const a = await readRevision(clone, LAPTOP_ENV, { includeUntracked: true })
    const b = await readRevision(clone, LAPTOP_ENV, { includeUntracked: true })
    expect(a.revision.diffSha256).toBeDefined()
    expect(b.revision.diffSha256).toBe(a.revision.diffSha256)
  })

  it('unpushed commits travel in the patch; sha stays the pushed commit', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    writeFiles(clone, { 'train.py': 'print("committed, not pushed")\n' })
    const local = commitAll(clone, 'local work')
    expect(local).not.toBe(sha)
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision.sha).toBe(sha)
    expect(r.revision.branch).toBe('main')
    expect(r.patch.toString('utf8')).toContain('+print("committed, not pushed")')
    expect(r.warnings).toEqual([])
  })

  it('tracks the upstream branch name, not the local one', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    git(clone, 'switch', '-q', '-c', 'local-name', '--track', 'origin/main')
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision).toMatchObject({ branch: 'main', ref: 'refs/heads/main', sha })
  })

  it('a remote URL with credentials never leaks into the revision', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    git(clone, 'remote', 'set-url', 'origin', 'https://alice:ghp_SECRET123@github.com/octo/ml-repo.git')
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision.repoId).toBe('github.com/octo/ml-repo')
    expect(r.revision.repoUrl).toBe('https://github.com/octo/ml-repo')
    expect(JSON.stringify(r)).not.toContain('SECRET')
  })

  it('no upstream: HEAD, the local branch and a warning (not a failure)', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    git(clone, 'switch', '-q', '-c', 'topic')
    writeFiles(clone, { 'topic.py': 'T = 1\n' })
    const head = commitAll(clone, 'topic work')
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision).toMatchObject({ sha: head, branch: 'topic', ref: 'refs/heads/topic', event: 'local' })
    expect(r.patch.length).toBe(0)
    expect(r.warnings.join('\n')).toMatch(/branch topic has no upstream.*git push -u origin topic/)
  })

  it('no remote at all: a local repo id from the user and folder', async () => {
    const { dir, sha } = makeRepo(dirs, FILES, 'My Project')
    const r = await readRevision(dir, { USER: 'Alice Smith' })
    expect(r.revision).toMatchObject({ repoId: `local/Alice-Smith/My-Project-${fingerprintByGit(dir)}`, sha, branch: 'main' })
    expect(r.revision.repoUrl).toBeUndefined()
    expect(r.warnings).toHaveLength(1)
  })

  it('detached HEAD works, with a warning', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    writeFiles(clone, { 'x.py': 'X = 1\n' })
    const head = commitAll(clone, 'x')
    git(clone, 'checkout', '-q', '--detach', 'HEAD')
    appendFileSync(join(clone, 'x.py'), 'Y = 2\n')
    const r = await readRevision(clone, LAPTOP_ENV)
    expect(r.revision.sha).toBe(head)
    expect(r.revision.branch).toBeUndefined()
    expect(r.revision.ref).toBeUndefined()
    expect(r.patch.toString('utf8')).toContain('+Y = 2')
    expect(r.warnings.join('\n')).toMatch(/HEAD is detached/)
  })

  it('a sub-folder of the checkout reads the whole repository', async () => {
    const { clone, sha } = makeClonePair(dirs, FILES)
    const r = await readRevision(join(clone, 'data'), LAPTOP_ENV)
    expect(r.root).toBe(clone)
    expect(r.revision.sha).toBe(sha)
  })

  it('not a git repository: a UserError naming the folder and the fix', async () => {
    const plain = dirs.make('plain-')
    const err = await readRevision(plain, LAPTOP_ENV).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).message).toContain(plain)
    expect((err as UserError).message).toMatch(/not inside a git repository/)
    expect((err as UserError).hint).toMatch(/git init/)
    const missing = await readRevision(join(plain, 'nope'), LAPTOP_ENV).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(UserError)
    expect((missing as UserError).message).toMatch(/does not exist/)
  })

  it('a repository without commits: a UserError', async () => {
    const empty = dirs.make('empty-')
    git(empty, 'init', '-q')
    await expect(readRevision(empty, LAPTOP_ENV)).rejects.toThrow(/has no commits yet/)
  })
})

describe('readRevision in CI against real checkouts', () => {
  it('GitHub push in a shallow clone (actions/checkout depth 1)', async () => {
    const { bare, clone } = makeClonePair(dirs, FILES)
    writeFiles(clone, { 'second.py': 'S = 2\n' })
    const second = commitAll(clone, 'second')
    git(clone, 'push', '-q', 'origin', 'main')
    const shallow = join(dirs.make('shallow-'), 'checkout')
    git(dirs.make(), 'clone', '-q', '--depth', '1', `file://${bare}`, shallow)
    expect(git(shallow, 'rev-parse', '--is-shallow-repository')).toBe('true')
    git(shallow, 'checkout', '-q', '--detach', second)

    const env = {
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'octo/ml-repo',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_SHA: second,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main'
    }
    const r = await readRevision(shallow, env)
    expect(r.revision).toEqual({
      repoId: 'github.com/octo/ml-repo',
      repoUrl: 'https://github.com/octo/ml-repo',
      ref: 'refs/heads/main',
      branch: 'main',
      sha: second,
      event: 'push'
    })
    expect(r.patch.length).toBe(0)
    // the checkout's remote is a local path: no mismatch warning, nothing else to say
    expect(r.warnings).toEqual([])

    appendFileSync(join(shallow, 'second.py'), 'S += 1\n')
    const dirty = await readRevision(shallow, env)
    expect(dirty.revision.sha).toBe(second)
    expect(dirty.patch.toString('utf8')).toContain('+S += 1')
  })

  it('GitHub pull_request: merge commit checked out detached, payload from GITHUB_EVENT_PATH', async () => {
    const { dir } = makeRepo(dirs, FILES)
    const base = git(dir, 'rev-parse', 'HEAD')
    git(dir, 'switch', '-q', '-c', 'feature')
    writeFiles(dir, { 'feature.py': 'F = 1\n' })
    const head = commitAll(dir, 'feature')
    git(dir, 'switch', '-q', 'main')
    git(dir, 'merge', '-q', '--no-ff', '-m', 'merge', 'feature')
    const merge = git(dir, 'rev-parse', 'HEAD')
    git(dir, 'checkout', '-q', '--detach', merge)
    const eventPath = join(dirs.make('event-'), 'event.json')
    writeFileSync(eventPath, JSON.stringify({ action: 'synchronize', number: 9, pull_request: { number: 9, head: { sha: head, ref: 'feature' }, base: { sha: base, ref: 'main' } } }))

    const r = await readRevision(dir, {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'octo/ml-repo',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_SHA: merge,
      GITHUB_REF: 'refs/pull/9/merge',
      GITHUB_REF_NAME: '9/merge',
      GITHUB_HEAD_REF: 'feature',
      GITHUB_BASE_REF: 'main',
      GITHUB_EVENT_PATH: eventPath
    })
    expect(r.revision).toEqual({
      repoId: 'github.com/octo/ml-repo',
      repoUrl: 'https://github.com/octo/ml-repo',
      ref: 'refs/pull/9/merge',
      branch: 'feature',
      sha: merge,
      headSha: head,
      baseSha: base,
      pr: 9,
      event: 'pull_request'
    })
    expect(r.warnings).toEqual([])
  })

  it('a later step committed: HEAD is recorded, the CI commit is kept as ciSha with a warning', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    writeFiles(dir, { 'generated.py': 'G = 1\n' })
    const later = commitAll(dir, 'generated by a step')
    const r = await readRevision(dir, {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'octo/ml-repo',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_SHA: sha,
      GITHUB_REF: 'refs/heads/main'
    })
    expect(r.revision.sha).toBe(later)
    expect(r.ciSha).toBe(sha)
    expect(r.revision.event).toBe('workflow_dispatch')
    expect(r.warnings.join('\n')).toMatch(new RegExp(`GitHub reported commit ${sha}, but the checkout is at ${later}`))
  })

  it('GitLab merge request pipeline (detached source head) and branch pipeline', async () => {
    const { dir } = makeRepo(dirs, FILES)
    const base = git(dir, 'rev-parse', 'HEAD')
    git(dir, 'switch', '-q', '-c', 'feature')
    writeFiles(dir, { 'mr.py': 'M = 1\n' })
    const head = commitAll(dir, 'mr')
    git(dir, 'checkout', '-q', '--detach', head)
    git(dir, 'remote', 'add', 'origin', 'https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com/ml/vision/detector.git')
    const common = {
      GITLAB_CI: 'true',
      CI_SERVER_FQDN: 'gitlab.example.com',
      CI_SERVER_HOST: 'gitlab.example.com',
      CI_PROJECT_PATH: 'ml/vision/detector',
      CI_PROJECT_URL: 'https://gitlab.example.com/ml/vision/detector',
      CI_COMMIT_SHA: head
    }
    const mr = await readRevision(dir, {
      ...common,
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_COMMIT_REF_NAME: 'feature',
      CI_MERGE_REQUEST_IID: '4',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
      CI_MERGE_REQUEST_DIFF_BASE_SHA: base
    })
    expect(mr.revision).toEqual({
      repoId: 'gitlab.example.com/ml/vision/detector',
      repoUrl: 'https://gitlab.example.com/ml/vision/detector',
      ref: 'refs/merge-requests/4/head',
      branch: 'feature',
      sha: head,
      headSha: head,
      baseSha: base,
      pr: 4,
      event: 'merge_request_event'
    })
    expect(mr.warnings).toEqual([])
    expect(JSON.stringify(mr)).not.toContain('SECRET')

    const push = await readRevision(dir, { ...common, CI_PIPELINE_SOURCE: 'push', CI_COMMIT_REF_NAME: 'feature', CI_COMMIT_BRANCH: 'feature' })
    expect(push.revision).toMatchObject({ sha: head, branch: 'feature', ref: 'refs/heads/feature', event: 'push' })
    expect(push.revision.pr).toBeUndefined()
  })

  it('warns when the folder is a checkout of another repository than the CI job', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    git(dir, 'remote', 'add', 'origin', 'https://github.com/someone/else.git')
    const r = await readRevision(dir, { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'octo/ml-repo', GITHUB_EVENT_NAME: 'push', GITHUB_SHA: sha })
    expect(r.revision.repoId).toBe('github.com/octo/ml-repo')
    expect(r.warnings.join('\n')).toMatch(/checkout of github.com\/someone\/else/)
  })

  it('includeUntracked works in CI too', async () => {
    const { dir, sha } = makeRepo(dirs, FILES)
    mkdirSync(join(dir, 'conf'))
    writeFileSync(join(dir, 'conf', 'local.yaml'), 'lr: 0.1\n')
    const env = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'octo/ml-repo', GITHUB_EVENT_NAME: 'push', GITHUB_SHA: sha }
    expect((await readRevision(dir, env)).patch.length).toBe(0)
    const r = await readRevision(dir, env, { includeUntracked: true })
    expect(r.patch.toString('utf8')).toContain('+++ b/conf/local.yaml')
    expect(r.revision.diffSha256).toBe(sha256(r.patch))
  })
})

/**
 * The fingerprint of a checkout without a remote, computed here from git's own answers (its root
 * commits, the real path of its git folder), not by the code under test.
 */
function fingerprintByGit(dir: string): string {
  const roots = git(dir, 'rev-list', '--max-parents=0', 'HEAD').split('\n').filter(Boolean).sort().join(',')
  const gitDir = realpathSync(resolve(dir, git(dir, 'rev-parse', '--git-common-dir')))
  return createHash('sha256').update(`${roots}\n${gitDir}`).digest('hex').slice(0, 10)
}

describe('the identity of a repository without a remote', () => {
  it('two projects in folders of the same name are two repositories; one project keeps its id', async () => {
    const a = makeRepo(dirs, { 'a.py': 'A = 1\n' }, 'ml')
    const b = makeRepo(dirs, { 'b.py': 'B = 1\n' }, 'ml')
    const idA = await detectRepoId(a.dir, LAPTOP_ENV)
    const idB = await detectRepoId(b.dir, LAPTOP_ENV)
    expect(idA).toMatch(/^local\/alice\/ml-[0-9a-f]{10}$/)
    expect(idB).toMatch(/^local\/alice\/ml-[0-9a-f]{10}$/)
    expect(idA).not.toBe(idB)
    // the same id from a sub-folder, after a new commit, and from readRevision (what `run` records)
    mkdirSync(join(a.dir, 'sub'))
    expect(await detectRepoId(join(a.dir, 'sub'), LAPTOP_ENV)).toBe(idA)
    writeFiles(a.dir, { 'a.py': 'A = 2\n' })
    commitAll(a.dir, 'second')
    expect(await detectRepoId(a.dir, LAPTOP_ENV)).toBe(idA)
    expect((await readRevision(a.dir, LAPTOP_ENV)).revision.repoId).toBe(idA)
  })

  it('a copy of the same history in another folder of the same name is another project; a worktree is the same one', async () => {
    const a = makeRepo(dirs, { 'a.py': 'A = 1\n' }, 'proj')
    const copy = join(dirs.make(), 'proj')
    git(dirname(copy), 'clone', '-q', '--no-local', a.dir, copy)
    git(copy, 'remote', 'remove', 'origin')
    const idA = await detectRepoId(a.dir, LAPTOP_ENV)
    expect(await detectRepoId(copy, LAPTOP_ENV)).not.toBe(idA)
    const wt = join(dirs.make(), 'proj')
    git(a.dir, 'worktree', 'add', '-q', '-b', 'side', wt)
    expect(await detectRepoId(wt, LAPTOP_ENV)).toBe(`local/alice/proj-${fingerprintByGit(a.dir)}`)
    expect(await detectRepoId(wt, LAPTOP_ENV)).toBe(idA)
  })

  it('a repository with a remote keeps the remote\'s id', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    git(clone, 'remote', 'set-url', 'origin', 'git@github.com:octo/ml.git')
    expect(await detectRepoId(clone, LAPTOP_ENV)).toBe('github.com/octo/ml')
  })
})

describe('detectRepoId', () => {
  it('from CI, from the upstream remote, or local/<user>/<folder>', async () => {
    const { clone } = makeClonePair(dirs, FILES)
    expect(await detectRepoId(clone, { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'octo/ci-name' })).toBe('github.com/octo/ci-name')
    expect(await detectRepoId(clone, LAPTOP_ENV)).toBe(`local/alice/clone-${fingerprintByGit(clone)}`)
    git(clone, 'remote', 'set-url', 'origin', 'https://bob:tok@gitlab.example.com/g/sub/r.git')
    expect(await detectRepoId(clone, LAPTOP_ENV)).toBe('gitlab.example.com/g/sub/r')
    await expect(detectRepoId(dirs.make('plain-'), LAPTOP_ENV)).rejects.toThrow(UserError)
  })
})
