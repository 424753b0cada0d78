/**
 * What a later `attach` or `reconcile` needs to finish a detached run, or to start its retry, kept
 * in the store next to run.json (`runs/<run>/detached.json`; docs/long-runs.md): the deps as they
 * were resolved, the CI variables the job sees, the tag rule and where the machines were asked for.
 * Never a secret: those are resolved again from the environment of the process that retries.
 *
 * Several attachers at once: the retry of attempt n and the finishing of the run are each claimed
 * by a write-if-absent (`runs/<run>/claims/…`), so only one process starts a machine or writes the
 * end; the others follow what it does.
 */
import { UserError, type RunRecord } from '../model/index.js'
import { randomUUID } from 'node:crypto'
import { keys, type RunStore } from '../store/index.js'
import type { PreparedRun } from './prepare.js'
import type { ResolvedDep } from './dep-manifests.js'
import { resolveSecretEnv, REGISTRY_USERNAME_ENV, REGISTRY_PASSWORD_ENV } from '../workflows/index.js'
import { secretTexts } from './secret-values.js'

export interface DetachedState {
  version: 1
  /** the deps the first attempt used: a retry uses the same files */
  deps: ResolvedDep[]
  /** the CI variables the job sees (runner/job-env.ts), as the starting job had them */
  ciEnv: Record<string, string>
  forceTag?: boolean
  /** where the machines are asked for (the aws backend's region, profile, subnets, …), for a retry */
  placement?: Record<string, string | string[] | undefined>
  /** the local work root, when one was given */
  workRoot?: string
}

const stateKey = (repoId: string, run: string) => `${keys.runDir(repoId, run)}detached.json`
const claimKey = (repoId: string, run: string, what: string) => `${keys.runDir(repoId, run)}claims/${what}.json`

export async function saveDetachedState(store: RunStore, record: RunRecord, prepared: PreparedRun, extra: Pick<DetachedState, 'forceTag' | 'placement' | 'workRoot'>): Promise<void> {
  const state: DetachedState = { version: 1, deps: prepared.deps, ciEnv: prepared.ciEnv, ...extra }
  await store.store.put(stateKey(record.repoId, record.run), JSON.stringify(state, null, 2) + '\n', { contentType: 'application/json' })
}

export async function readDetachedState(store: RunStore, record: RunRecord): Promise<DetachedState | undefined> {
  const text = await store.store.getText(stateKey(record.repoId, record.run))
  if (text === undefined) return undefined
  try {
    const v = JSON.parse(text) as DetachedState
    if (v.version !== 1 || !Array.isArray(v.deps) || typeof v.ciEnv !== 'object') throw new Error('unexpected shape')
    return v
  } catch (e) {
    throw new UserError(`${store.store.url(stateKey(record.repoId, record.run))} is damaged: ${(e as Error).message}`)
  }
}

/**
 * The run as the process that started it had it prepared, for a retry from another process: the
 * secrets come from this process's environment (a missing one is named when a retry needs it).
 */
export function preparedFromState(record: RunRecord, state: DetachedState, environ: Record<string, string | undefined>): { prepared: PreparedRun; missingSecrets: string[] } {
  const spec = record.spec
  const registry: Record<string, string> = spec.registryAuth ? { [REGISTRY_USERNAME_ENV]: spec.registryAuth.username, [REGISTRY_PASSWORD_ENV]: spec.registryAuth.password } : {}
  const secrets = resolveSecretEnv({ secretEnv: { ...spec.secretEnv, ...registry } }, environ)
  const redactTexts = secretTexts(spec, secrets.values, environ).filter((t) => !/[\r\n]/.test(t))
  const prepared: PreparedRun = {
    spec,
    revision: record.revision,
    secretValues: secrets.values,
    redactTexts,
    ciEnv: state.ciEnv,
    deps: state.deps,
    trust: record.trust ?? { trusted: false, trigger: 'unknown', why: 'recorded before trust was' }
  }
  return { prepared, missingSecrets: secrets.missing }
}

/**
 * true for the one process that claims `what` (`attempt-3`, `finish`) of this run. The claim is a
 * write-if-absent; since some S3-compatible servers ignore the condition, the claimant also reads
 * the claim back after `settleMs`: of two writes that crossed, only the one that stayed wins.
 */
export async function claim(store: RunStore, record: RunRecord, what: string, by: string, settle: () => Promise<void> = () => new Promise((r) => setTimeout(r, 1000))): Promise<boolean> {
  const key = claimKey(record.repoId, record.run, what)
  const token = randomUUID()
  if (!(await store.store.put(key, JSON.stringify({ by, token, at: new Date().toISOString() }) + '\n', { ifAbsent: true, contentType: 'application/json' }))) return false
  await settle()
  return ((await store.store.getText(key)) ?? '').includes(token)
}
