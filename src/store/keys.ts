/**
 * The store key layout (DESIGN.md "Store layout"), pure. Every name is validated with
 * src/model/names.ts first, so a hostile run, tag or repo id never becomes a key.
 */
import { assertName, assertRepoId, normaliseRelativePath } from '../model/names.js'
import { UserError } from '../model/errors.js'

function attemptNo(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`invalid attempt number ${JSON.stringify(n)}`)
  return n
}

function rankNo(rank: number): number {
  if (!Number.isSafeInteger(rank) || rank < 0) throw new UserError(`invalid node rank ${JSON.stringify(rank)}`)
  return rank
}

function seqNo(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new UserError(`invalid log chunk number ${JSON.stringify(seq)}`)
  return String(seq).padStart(6, '0')
}

export function assertSha256(sha: string): string {
  if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) throw new UserError(`invalid sha256 ${JSON.stringify(sha)}`)
  return sha
}

export const keys = {
  /** `<repoId>/runs/` (listing prefix) */
  runs: (repoId: string): string => `${assertRepoId(repoId)}/runs/`,
  /** `<repoId>/runs/<run>/` (folder of one run) */
  runDir: (repoId: string, run: string): string => `${keys.runs(repoId)}${assertName('run name', run)}/`,
  /** `<repoId>/runs/<run>/run.json` */
  run: (repoId: string, run: string): string => `${keys.runDir(repoId, run)}run.json`,
  /** `<repoId>/runs/<run>/attempts/<n>/` */
  attempt: (repoId: string, run: string, n: number): string => `${keys.runDir(repoId, run)}attempts/${attemptNo(n)}/`,
  /**
   * where one runner writes its status and logs: the attempt's folder, or for a node of a
   * multi-node attempt `…/attempts/<n>/nodes/<rank>/`
   */
  node: (repoId: string, run: string, n: number, rank?: number): string =>
    rank === undefined ? keys.attempt(repoId, run, n) : `${keys.attempt(repoId, run, n)}nodes/${rankNo(rank)}/`,
  runnerScript: (repoId: string, run: string, n: number): string => `${keys.attempt(repoId, run, n)}runner.sh`,
  status: (repoId: string, run: string, n: number, rank?: number): string => `${keys.node(repoId, run, n, rank)}status.json`,
  /** `…/attempts/<n>/logs/` (a node's: `…/attempts/<n>/nodes/<rank>/logs/`) */
  logs: (repoId: string, run: string, n: number, rank?: number): string => `${keys.node(repoId, run, n, rank)}logs/`,
  /** `…/attempts/<n>/logs/000042.log` */
  logChunk: (repoId: string, run: string, n: number, seq: number, rank?: number): string => `${keys.logs(repoId, run, n, rank)}${seqNo(seq)}.log`,
  /** `<repoId>/runs/<run>/artifacts/` or `…/artifacts/<path>` (path normalised, no `..`) */
  artifacts: (repoId: string, run: string, path?: string): string =>
    `${keys.runDir(repoId, run)}artifacts/${path === undefined ? '' : normaliseRelativePath('artifact path', path)}`,
  /** `<repoId>/runs/<run>/artifacts.json` */
  manifest: (repoId: string, run: string): string => `${keys.runDir(repoId, run)}artifacts.json`,
  /** `<repoId>/runs/<run>/provenance.intoto.json`: in-toto statement (SLSA provenance v1) for the artifacts */
  provenance: (repoId: string, run: string): string => `${keys.runDir(repoId, run)}provenance.intoto.json`,
  /** `<repoId>/tags/` */
  tags: (repoId: string): string => `${assertRepoId(repoId)}/tags/`,
  /** `<repoId>/tags/<tag>.json`; with `trusted: false`, the untrusted runs' own namespace `<repoId>/untrusted-tags/<tag>.json` */
  tag: (repoId: string, tag: string, trusted = true): string => `${trusted ? keys.tags(repoId) : keys.untrustedTags(repoId)}${assertName('tag', tag)}.json`,
  /** `<repoId>/untrusted-tags/`: tags of untrusted runs (docs/trust-model.md), never read by a trusted look-up */
  untrustedTags: (repoId: string): string => `${assertRepoId(repoId)}/untrusted-tags/`,
  /** `code/<sha256>.tar.gz` (shared by every repo) */
  code: (sha256: string): string => `code/${assertSha256(sha256)}.tar.gz`
}
