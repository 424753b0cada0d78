/**
 * The stored provenance statement as the two files GitHub's `actions/attest` takes: the predicate
 * (`predicate-path`) and the subjects in `sha256sum` format (`subject-checksums`). The subjects are
 * checked against the run's manifest first, so a statement changed in the store is not signed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunRecord } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import { SecretRedactor } from '../report/redact.js'

export interface AttestInputs {
  predicatePath: string
  subjectsPath: string
}

export async function writeAttestInputs(store: RunStore, record: RunRecord, dir: string, redactor: SecretRedactor = new SecretRedactor()): Promise<AttestInputs | undefined> {
  const key = record.provenance?.statementKey
  if (!key) return undefined
  const text = await store.store.getText(key)
  if (text === undefined) throw new Error(`the provenance statement ${key} is missing from the store`)
  const statement = JSON.parse(text) as { subject?: { name: string; digest: { sha256: string } }[]; predicate?: unknown }
  // the statement's names were redacted when it was written (orchestrate/provenance.ts)
  const manifest = redactor.value((await store.readManifest(record.repoId, record.run)) ?? [])
  const want = manifest.map((e) => `${e.sha256}  ${e.path}`).sort()
  const got = (statement.subject ?? []).map((s) => `${s.digest.sha256}  ${s.name}`).sort()
  if (JSON.stringify(want) !== JSON.stringify(got)) throw new Error(`the provenance statement ${key} does not list the artifacts of artifacts.json: not signing it`)
  const lines = manifest.filter((e) => !/[\r\n\\]/.test(e.path)).map((e) => `${e.sha256}  ${e.path}`)
  mkdirSync(dir, { recursive: true })
  const predicatePath = join(dir, `dstack-${record.run}.predicate.json`)
  const subjectsPath = join(dir, `dstack-${record.run}.subjects.sha256`)
  writeFileSync(predicatePath, JSON.stringify(statement.predicate, null, 2) + '\n')
  writeFileSync(subjectsPath, lines.join('\n') + '\n')
  return { predicatePath, subjectsPath }
}
