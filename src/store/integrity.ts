/**
 * Store integrity: what a run stored is checked against the hashes its writer recorded before a
 * consumer uses it (a dep's artifacts, a baseline's metrics). The runner that stored the artifacts
 * wrote `artifacts.json`, a sha256 per file; the orchestrator that ran it recorded that manifest's
 * own sha256 in run.json (`provenance.manifestSha256`) when the run ended. So a forged artifact is
 * caught whether the forger left the manifest alone (the file's sha256 differs from its entry) or
 * rewrote it too (the manifest's sha256 differs from the record). A mismatch is an IntegrityError
 * naming the run, the file and both hashes.
 */
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { UserError } from '../model/errors.js'
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { FolderStore } from './folder-store.js'
import { keys } from './keys.js'
import { parseManifest, sha256, sha256File, type RunStore } from './run-store.js'

export class IntegrityError extends UserError {
  constructor(
    readonly run: string,
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    what: string
  ) {
    super(
      `store integrity: ${what} \`${file}\` of run ${run} has sha256 ${actual} in the store, but the run that wrote it recorded ${expected}: it was changed after the run, so it is not used`,
      'check who else writes to the store (docs/trust-model.md); run the workflow again to store trusted artifacts'
    )
    this.name = 'IntegrityError'
  }
}

/** the sha256 of artifacts.json its writer recorded, when the run recorded one (runs before it did not) */
export function recordedManifestSha256(rec: RunRecord): string | undefined {
  const s = rec.provenance?.manifestSha256
  return typeof s === 'string' && /^[0-9a-f]{64}$/.test(s) ? s : undefined
}

/** throws when the manifest's bytes are not the ones the run recorded */
export function checkManifestBytes(rec: RunRecord, bytes: Buffer | undefined): void {
  const want = recordedManifestSha256(rec)
  if (want === undefined) return
  const got = sha256(bytes ?? Buffer.alloc(0))
  if (got !== want) throw new IntegrityError(rec.run, 'artifacts.json', want, bytes === undefined ? `(missing) ${got}` : got, 'the artifacts manifest')
}

/** the run's manifest, checked against the record; undefined when it stored none */
export async function verifiedManifest(store: RunStore, rec: RunRecord): Promise<{ bytes: Buffer; entries: ManifestEntry[] } | undefined> {
  const key = keys.manifest(rec.repoId, rec.run)
  const bytes = await store.store.get(key)
  if (bytes === undefined && recordedManifestSha256(rec) === undefined) return undefined
  checkManifestBytes(rec, bytes)
  if (bytes === undefined) return undefined
  return { bytes, entries: parseManifest(bytes.toString('utf8'), key) }
}

/** one artifact's bytes, checked against its manifest entry (undefined: not listed, or over `max` bytes) */
export async function verifiedArtifact(store: RunStore, rec: RunRecord, path: string, max = Infinity): Promise<Buffer | undefined> {
  const m = await verifiedManifest(store, rec)
  const entry = m?.entries.find((e) => e.path === path)
  if (!entry || entry.size > max) return undefined
  const bytes = await store.store.get(keys.artifacts(rec.repoId, rec.run, path))
  if (bytes === undefined) return undefined
  const got = sha256(bytes)
  if (got !== entry.sha256) throw new IntegrityError(rec.run, path, entry.sha256, got, 'the artifact')
  return bytes
}

/**
 * Every listed file of a folder store checked against its entry, without reading it into memory
 * (a link in the store is refused, never followed). On S3 the runner checks each file it fetches
 * against the same entries (runner/body/fetch.sh), so nothing is downloaded twice here.
 */
export async function verifyStoredFiles(store: RunStore, rec: RunRecord, entries: { path: string; sha256: string }[]): Promise<void> {
  const folder = store.store
  if (!(folder instanceof FolderStore)) return
  for (const e of entries) {
    const file = join(folder.root, ...keys.artifacts(rec.repoId, rec.run, e.path).split('/'))
    const st = await lstat(file).catch(() => undefined)
    if (!st) continue // missing: the runner's fetch says so, naming the dep
    if (st.isSymbolicLink() || !st.isFile()) throw new IntegrityError(rec.run, e.path, e.sha256, st.isSymbolicLink() ? '(a symbolic link)' : '(not a regular file)', 'the artifact')
    const got = await sha256File(file)
    if (got !== e.sha256) throw new IntegrityError(rec.run, e.path, e.sha256, got, 'the artifact')
  }
}
