/** readRevision + buildSnapshot: the complete revision of a run and its code. */
import type { Revision } from '../model/revision.js'
import { readRevision, type ReadRevisionOptions } from './read-revision.js'
import { buildSnapshot } from './snapshot.js'

export interface CapturedRevision {
  revision: Revision
  snapshot: { tarGz: Buffer; sha256: string; files: number }
  patch: Buffer
  warnings: string[]
  /** absolute work tree root */
  root: string
}

export async function captureRevision(
  repoDir: string,
  environ: Record<string, string | undefined>,
  opts: ReadRevisionOptions = {}
): Promise<CapturedRevision> {
  const read = await readRevision(repoDir, environ, opts)
  const snap = await buildSnapshot(read.root, read.revision.sha, read.patch)
  return {
    revision: { ...read.revision, snapshotSha256: snap.sha256 },
    snapshot: { tarGz: snap.tarGz, sha256: snap.sha256, files: snap.files },
    patch: read.patch,
    warnings: [...read.warnings, ...snap.warnings],
    root: read.root
  }
}
