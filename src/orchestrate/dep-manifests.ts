/**
 * What the runner needs to check a dep's artifacts: the manifest's sha256 as read now, and its files
 * with their sha256. A tag also pins the manifest it was made with: when the stored manifest no
 * longer matches, the run stops here, before any machine starts.
 */
import { UserError, type DepSpec, type RunRecord } from '../model/index.js'
import { checkManifestBytes, keys, parseManifest, sha256, verifyStoredFiles, type ResolvedDepRun, type RunStore } from '../store/index.js'
import type { RunnerDep } from '../runner/plan.js'

export interface ResolvedDep {
  label: string
  repoId: string
  run: RunRecord
  /** the dep run's own trust, and how it was found (`tag data`, `latest trusted succeeded run of train`) */
  trusted: boolean
  via: string
  /** the artifacts the runner copies in (none when the run stored no manifest) */
  manifest?: { key: string; sha256: string; files: { path: string; sha256: string }[] }
}

export async function readDepManifest(store: RunStore, dep: DepSpec, label: string, found: ResolvedDepRun): Promise<ResolvedDep> {
  const { repoId, run, trusted, via } = found
  const key = keys.manifest(repoId, run.run)
  const bytes = await store.store.get(key)
  const sha = sha256(bytes ?? Buffer.alloc(0))
  if (dep.kind === 'tag') {
    // the very tag record the dep was resolved by (its namespace included), not a second look-up
    const tag = found.tag
    if (tag && tag.manifest_sha256 !== sha) {
      throw new UserError(
        `the artifacts of tag \`${dep.name}\` (run ${run.run} in ${repoId}) changed after it was tagged: ${key} has sha256 ${sha}, the tag recorded ${tag.manifest_sha256}`,
        `check who wrote to the store; tag the run again (\`dstack-run tags add ${dep.name} ${run.run} --force\`) only if the new artifacts are trusted`
      )
    }
  }
  // the manifest and (folder store) every file against what the dep's run recorded (store/integrity.ts)
  checkManifestBytes(run, bytes)
  if (bytes === undefined) return { label, repoId, run, trusted, via }
  const files = parseManifest(bytes.toString('utf8'), key).map((e) => ({ path: e.path, sha256: e.sha256 }))
  await verifyStoredFiles(store, run, files)
  return { label, repoId, run, trusted, via, manifest: { key, sha256: sha, files } }
}

/** the runner plan's view of a resolved dep */
export function runnerDep(d: ResolvedDep): RunnerDep {
  return {
    label: d.label,
    artifactsPrefix: keys.artifacts(d.repoId, d.run.run),
    ...(d.manifest ? { manifestKey: d.manifest.key, manifestSha256: d.manifest.sha256 } : {}),
    files: d.manifest?.files ?? []
  }
}
