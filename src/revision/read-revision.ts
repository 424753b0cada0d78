/**
 * The run revision of a checkout: which commit (`sha`) plus which local changes (`patch`).
 *
 * - In CI (GitHub Actions, GitLab CI) names come from the CI environment; `sha` is HEAD of the
 *   checkout, and the patch holds edits on top of it. When CI reports another commit than HEAD
 *   (a step committed, or the checkout used another ref), HEAD wins — it is the code that runs —
 *   and the CI commit is returned as `ciSha` with a warning.
 * - On a laptop (as dstack did) the base is the tracking branch's remote commit, so unpushed
 *   commits travel in the patch; without an upstream the base is HEAD, with a warning.
 *
 * Shallow clones and detached HEADs work: no history is walked.
 */
import { userInfo } from 'node:os'
import { basename, resolve } from 'node:path'
import { realpath } from 'node:fs/promises'
import type { Revision } from '../model/revision.js'
import { ciContextFromEnv, type CiContext } from './ci-context.js'
import type { Git } from './git.js'
import { sha256Hex } from './hash.js'
import { localChangesPatch } from './local-changes.js'
import { localRepoId, tryRepoIdFromRemoteUrl, webUrlFromRemoteUrl } from './remote-url.js'
import { openWorkTree, type WorkTree } from './work-tree.js'

export interface ReadRevisionOptions {
  /** include untracked, non-ignored files in the patch (default false) */
  includeUntracked?: boolean
  /** absolute folders whose untracked files are never included (a folder run store inside the repository) */
  excludeDirs?: string[]
  /** GitHub event payload reader (tests); defaults to reading the file */
  readFile?: (p: string) => string
}

export interface RevisionRead {
  revision: Omit<Revision, 'snapshotSha256'>
  /** binary patch of local changes against `revision.sha`; empty when the tree is clean */
  patch: Buffer
  /** things a user should know (no upstream, CI commit ≠ HEAD, large patch, …); never fatal */
  warnings: string[]
  /** absolute work tree root */
  root: string
  /** the commit CI reported, when it differs from the checkout's HEAD */
  ciSha?: string
  /** untracked files included in the patch */
  untracked: string[]
}

/** patches above this size get a warning (they travel with every run) */
const LARGE_PATCH_BYTES = 10 * 1024 * 1024

export { sha256Hex }

function userName(environ: Record<string, string | undefined>): string {
  const fromEnv = environ.USER ?? environ.USERNAME ?? environ.LOGNAME
  if (fromEnv) return fromEnv
  try {
    return userInfo().username
  } catch {
    return 'user'
  }
}

/**
 * What makes a checkout without a remote one project and not another: its root commit(s) (two
 * unrelated repositories never share one) and the real path of its git folder (two copies of one
 * history in different folders are different projects; the worktrees of one repository share it).
 * 10 hex characters of their sha256. Moving the repository to another folder gives a new identity:
 * a remote (`git remote add origin …`) gives one that does not depend on the folder.
 */
export async function localFingerprint(tree: WorkTree): Promise<string> {
  const [roots, common] = await Promise.all([tree.git.tryText(['rev-list', '--max-parents=0', 'HEAD']), tree.git.tryText(['rev-parse', '--git-common-dir'])])
  const gitDir = resolve(tree.root, common || '.git')
  const real = await realpath(gitDir).catch(() => gitDir)
  const rootCommits = (roots ?? tree.head).split('\n').filter(Boolean).sort().join(',')
  return sha256Hex(Buffer.from(`${rootCommits}\n${real}`)).slice(0, 10)
}

async function localId(tree: WorkTree, environ: Record<string, string | undefined>): Promise<string> {
  return localRepoId(userName(environ), basename(tree.root), await localFingerprint(tree))
}

/** URL of `origin`, else of the only remote; undefined without remotes */
async function defaultRemoteUrl(git: Git): Promise<string | undefined> {
  const remotes = (await git.tryText(['remote']))?.split('\n').filter(Boolean) ?? []
  const name = remotes.includes('origin') ? 'origin' : remotes.length === 1 ? remotes[0] : undefined
  return name ? git.tryText(['remote', 'get-url', name]) : undefined
}

interface Base {
  sha: string
  repoId: string
  repoUrl?: string
  ref?: string
  branch?: string
}

async function ciBase(tree: WorkTree, ctx: CiContext, environ: Record<string, string | undefined>, warnings: string[], remoteUrlP: Promise<string | undefined>): Promise<Base> {
  const remoteUrl = await remoteUrlP
  const remoteId = remoteUrl ? tryRepoIdFromRemoteUrl(remoteUrl) : undefined
  let repoId = ctx.repoId
  if (!repoId) {
    repoId = remoteId ?? (await localId(tree, environ))
    warnings.push(`the ${ctx.platform} environment does not name the repository; using ${repoId}`)
  } else if (remoteId && remoteId.toLowerCase() !== repoId.toLowerCase()) {
    warnings.push(`${tree.root} is a checkout of ${remoteId}, not of ${repoId} that this CI job belongs to; runs are recorded under ${repoId}`)
  }
  return { sha: tree.head, repoId, repoUrl: ctx.repoUrl ?? (remoteUrl ? webUrlFromRemoteUrl(remoteUrl) : undefined), ref: ctx.ref, branch: ctx.branch }
}

interface Upstream {
  /** current branch; undefined when HEAD is detached */
  branch?: string
  remote?: string
  /** `branch.<name>.merge`, e.g. `refs/heads/main` */
  merge?: string
  /** the remote-tracking commit; undefined when there is no upstream or it is not fetched */
  sha?: string
  /** URL of the upstream's remote */
  remoteUrl?: string
}

async function readUpstream(git: Git): Promise<Upstream> {
  const branch = await git.tryText(['symbolic-ref', '--quiet', '--short', 'HEAD'])
  if (!branch) return {}
  const [remote, merge] = await Promise.all([git.tryText(['config', '--get', `branch.${branch}.remote`]), git.tryText(['config', '--get', `branch.${branch}.merge`])])
  if (!remote || remote === '.' || !merge) return { branch, remote, merge }
  const sha = await git.tryText(['rev-parse', '--verify', '--quiet', '@{upstream}^{commit}'])
  const remoteUrl = sha ? await git.tryText(['remote', 'get-url', remote]) : undefined
  return { branch, remote, merge, sha, remoteUrl }
}

/** repo id from the remote (upstream's, else origin / the only remote), else `local/<user>/<folder>-<fingerprint>` */
async function laptopIdentity(tree: WorkTree, upstream: Upstream, environ: Record<string, string | undefined>, defaultUrl: () => Promise<string | undefined>) {
  const remoteUrl = upstream.remoteUrl ?? (await defaultUrl())
  const repoId = (remoteUrl && tryRepoIdFromRemoteUrl(remoteUrl)) || (await localId(tree, environ))
  return { repoId, repoUrl: remoteUrl ? webUrlFromRemoteUrl(remoteUrl) : undefined }
}

async function laptopBase(tree: WorkTree, environ: Record<string, string | undefined>, warnings: string[], remoteUrlP: Promise<string | undefined>): Promise<Base> {
  const { head } = tree
  const up = await readUpstream(tree.git)
  const { branch, remote, merge } = up
  if (up.sha) {
    // as dstack: the remote-tracking commit, so unpushed commits travel in the patch
  } else if (branch && remote && remote !== '.' && merge) {
    warnings.push(`the upstream of branch ${branch} (${remote} ${merge}) is gone or not fetched; recording the local commit ${head} — run git fetch, or git push -u ${remote} ${branch}`)
  } else if (branch) {
    warnings.push(`branch ${branch} has no upstream branch; recording the local commit ${head}, which may not exist on any remote (the code snapshot still carries it) — set one with git push -u origin ${branch}`)
  } else {
    warnings.push(`HEAD is detached; recording the local commit ${head}, which may not exist on any remote (the code snapshot still carries it)`)
  }
  const identity = await laptopIdentity(tree, up, environ, () => remoteUrlP)
  if (up.sha && merge) {
    return { sha: up.sha, ...identity, ref: merge, branch: merge.replace(/^refs\/heads\//, '') }
  }
  return { sha: head, ...identity, ref: branch ? `refs/heads/${branch}` : undefined, branch }
}

/**
 * Only the repository id, cheaply (no diff, no snapshot): from the CI environment, else from the
 * checkout's remote, else `local/<user>/<folder>-<fingerprint>`. For commands that list or read runs.
 */
export async function detectRepoId(repoDir: string, environ: Record<string, string | undefined>): Promise<string> {
  const ctx = ciContextFromEnv(environ)
  if (ctx.repoId) return ctx.repoId
  const tree = await openWorkTree(repoDir)
  const upstream = ctx.platform === 'local' ? await readUpstream(tree.git) : {}
  return (await laptopIdentity(tree, upstream, environ, () => defaultRemoteUrl(tree.git))).repoId
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k]
  return o
}

/**
 * Read the revision of the checkout containing `repoDir` in the CI context of `environ`.
 * Throws UserError when `repoDir` is not a git checkout (naming the folder and the fix).
 */
export async function readRevision(
  repoDir: string,
  environ: Record<string, string | undefined>,
  opts: ReadRevisionOptions = {}
): Promise<RevisionRead> {
  const ctx = ciContextFromEnv(environ, opts.readFile)
  const tree = await openWorkTree(repoDir)
  const warnings = [...ctx.warnings]
  // git questions that do not depend on each other run side by side
  const remoteUrl = defaultRemoteUrl(tree.git)
  remoteUrl.catch(() => undefined)
  const changesAtHead = ctx.platform === 'local' ? undefined : localChangesPatch(tree.git, tree.head, { includeUntracked: opts.includeUntracked, excludeDirs: opts.excludeDirs })
  changesAtHead?.catch(() => undefined)
  const base = ctx.platform === 'local' ? await laptopBase(tree, environ, warnings, remoteUrl) : await ciBase(tree, ctx, environ, warnings, remoteUrl)
  let ciSha: string | undefined
  if (ctx.sha && ctx.sha !== tree.head) {
    ciSha = ctx.sha
    warnings.push(
      `${ctx.platform === 'github' ? 'GitHub' : 'GitLab'} reported commit ${ctx.sha}, but the checkout is at ${tree.head} ` +
        `(a step committed, or the checkout used another ref); recording ${tree.head}`
    )
  }
  const { patch, untracked } = await (base.sha === tree.head && changesAtHead ? changesAtHead : localChangesPatch(tree.git, base.sha, { includeUntracked: opts.includeUntracked, excludeDirs: opts.excludeDirs }))
  if (patch.length > LARGE_PATCH_BYTES) {
    warnings.push(
      `the local changes patch is ${(patch.length / 1024 / 1024).toFixed(1)} MiB and travels with every run` +
        (untracked.length ? '; add data files and outputs to .gitignore' : '')
    )
  }
  const revision: Omit<Revision, 'snapshotSha256'> = dropUndefined({
    repoId: base.repoId,
    repoUrl: base.repoUrl,
    ref: base.ref,
    branch: base.branch,
    sha: base.sha,
    headSha: ctx.headSha,
    baseSha: ctx.baseSha,
    pr: ctx.pr,
    event: ctx.event,
    diffSha256: patch.length > 0 ? sha256Hex(patch) : undefined
  })
  return dropUndefined({ revision, patch, warnings, root: tree.root, ciSha, untracked })
}
