/**
 * Provenance of a run: the hashes of what it ran (runner script, code snapshot, each dep's manifest)
 * and where (AMI, image digest, instance type), kept in run.json; and an in-toto statement with a
 * SLSA provenance v1 predicate whose subjects are the run's artifacts, written to the store
 * (`<run>/provenance.intoto.json`). The statement is unsigned: a CI can sign it (e.g. GitHub's
 * `actions/attest`, examples/github/provenance.yml).
 */
import { trustOf, type ManifestEntry, type RunProvenance, type RunRecord } from '../model/index.js'
import { keys, sha256, type RunStore } from '../store/index.js'
import type { ResolvedDep } from './dep-manifests.js'
import type { SecretRedactor } from '../report/redact.js'

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1'
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'
/** what `buildDefinition` means: a dstack workflow run by run-action (docs/DESIGN.md "Provenance") */
export const BUILD_TYPE = 'https://github.com/dstack/run-action/provenance/workflow-run/v1'

/** Pure: the record's provenance after an attempt (the last attempt's script, machine and image) */
export function runProvenance(
  rec: RunRecord,
  deps: ResolvedDep[],
  attempt: { runnerScriptSha256?: string; imageDigest?: string } = {}
): RunProvenance {
  const last = rec.attempts[rec.attempts.length - 1]
  const m = last?.machine
  return {
    runnerScriptSha256: attempt.runnerScriptSha256 ?? last?.runnerScriptSha256 ?? null,
    snapshotSha256: rec.revision.snapshotSha256 ?? null,
    deps: deps.map((d) => ({ label: d.label, repoId: d.repoId, run: d.run.run, manifestSha256: d.manifest?.sha256 ?? null, trusted: d.trusted, via: d.via })),
    amiId: m?.amiId ?? null,
    // the last attempt's own word when it reported one (an attempt without an image has none)
    imageDigest: 'imageDigest' in attempt ? (attempt.imageDigest ?? null) : (rec.provenance?.imageDigest ?? null),
    instanceType: m?.instanceType ?? null,
    statementKey: rec.provenance?.statementKey ?? null
  }
}

export interface InTotoStatement {
  _type: typeof STATEMENT_TYPE
  subject: { name: string; digest: { sha256: string } }[]
  predicateType: typeof SLSA_PROVENANCE_V1
  predicate: {
    buildDefinition: {
      buildType: string
      externalParameters: Record<string, unknown>
      internalParameters: Record<string, unknown>
      resolvedDependencies: { uri?: string; name?: string; digest: Record<string, string> }[]
    }
    runDetails: {
      builder: { id: string }
      metadata: { invocationId: string; startedOn: string; finishedOn?: string }
      byproducts?: { name: string; digest: Record<string, string> }[]
    }
  }
}

/** Pure: the statement for a finished run; undefined when it stored no artifact (a statement needs a subject) */
export function provenanceStatement(rec: RunRecord, manifest: ManifestEntry[], manifestSha256: string): InTotoStatement | undefined {
  if (manifest.length === 0) return undefined
  const p = rec.provenance
  const rev = rec.revision
  const deps: InTotoStatement['predicate']['buildDefinition']['resolvedDependencies'] = [
    {
      uri: `git+https://${rev.repoId}${rev.ref ? `@${rev.ref}` : ''}`,
      digest: { gitCommit: rev.sha }
    }
  ]
  if (p?.snapshotSha256) deps.push({ name: `code/${p.snapshotSha256}.tar.gz`, digest: { sha256: p.snapshotSha256 } })
  if (p?.runnerScriptSha256) deps.push({ name: 'runner.sh', digest: { sha256: p.runnerScriptSha256 } })
  for (const d of p?.deps ?? []) {
    const trust = d.trusted === undefined ? '' : `, ${d.trusted ? 'trusted' : 'untrusted'}${d.via ? ` via ${d.via}` : ''}`
    if (d.manifestSha256) deps.push({ name: `${d.label} (${d.repoId} run ${d.run}${trust}) artifacts.json`, digest: { sha256: d.manifestSha256 } })
  }
  return {
    _type: STATEMENT_TYPE,
    subject: manifest.map((e) => ({ name: e.path, digest: { sha256: e.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          workflow: rec.workflow,
          args: rec.args,
          repository: rev.repoId,
          revision: rev.sha,
          ...(rev.ref ? { ref: rev.ref } : {}),
          trigger: trustOf(rec).trigger,
          trusted: trustOf(rec).trusted,
          ...(rev.diffSha256 ? { localChangesSha256: rev.diffSha256 } : {})
        },
        internalParameters: {
          backend: rec.backend,
          instanceType: p?.instanceType ?? null,
          amiId: p?.amiId ?? null,
          imageDigest: p?.imageDigest ?? null
        },
        resolvedDependencies: deps
      },
      runDetails: {
        builder: { id: `https://github.com/dstack/run-action/builders/${rec.backend}` },
        metadata: { invocationId: rec.ciUrl ?? `${rec.repoId}/runs/${rec.run}`, startedOn: rec.submittedAt, ...(rec.endedAt ? { finishedOn: rec.endedAt } : {}) },
        byproducts: [{ name: 'artifacts.json', digest: { sha256: manifestSha256 } }]
      }
    }
  }
}

/**
 * The statement as it may leave the machine (a CI signs and publishes it): artifact names, the
 * run's parameters and the dependencies' names redacted; digests are kept as they are.
 */
export function redactStatement(st: InTotoStatement, r: SecretRedactor): InTotoStatement {
  const b = st.predicate.buildDefinition
  return {
    ...st,
    subject: st.subject.map((x) => ({ ...x, name: r.redact(x.name) })),
    predicate: {
      ...st.predicate,
      buildDefinition: {
        ...b,
        externalParameters: r.value(b.externalParameters),
        resolvedDependencies: b.resolvedDependencies.map((d) => ({ ...d, ...(d.name !== undefined ? { name: r.redact(d.name) } : {}), ...(d.uri !== undefined ? { uri: r.redact(d.uri) } : {}) }))
      }
    }
  }
}

/**
 * Writes the statement for the run's artifacts into the store and returns the record with its
 * key; the record is unchanged when the run stored no artifacts.
 */
export async function writeProvenance(store: RunStore, rec: RunRecord, redactor?: SecretRedactor): Promise<RunRecord> {
  const bytes = await store.store.get(keys.manifest(rec.repoId, rec.run))
  if (bytes === undefined || !rec.provenance) return rec
  // the writer's record of its manifest: what consumers check the store against (store/integrity.ts)
  rec = { ...rec, provenance: { ...rec.provenance, manifestSha256: sha256(bytes) } }
  const manifest = (await store.readManifest(rec.repoId, rec.run)) ?? []
  const plain = provenanceStatement(rec, manifest, sha256(bytes))
  if (!plain) return rec
  const statement = redactor ? redactStatement(plain, redactor) : plain
  const key = keys.provenance(rec.repoId, rec.run)
  await store.store.put(key, JSON.stringify(statement, null, 2) + '\n', { contentType: 'application/vnd.in-toto+json' })
  return { ...rec, provenance: { ...rec.provenance!, statementKey: key } }
}
