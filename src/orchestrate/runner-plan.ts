/** Pure: a prepared run + attempt → the runner script's plan (src/runner/plan.ts). */
import type { RunnerPlan } from '../runner/plan.js'
import type { RunSpec, StoreLocation } from '../model/index.js'
import { keys } from '../store/index.js'

export interface PlanInput {
  runName: string
  repoId: string
  revisionSha: string
  snapshotSha256: string
  attempt: number
  spec: RunSpec
  args: string[]
  store: StoreLocation
  deps: { label: string; repoId: string; run: string; rootPaths?: string[] }[]
  backend: 'local' | 'aws'
  workRoot?: string
}

export function runnerPlan(p: PlanInput): RunnerPlan {
  const onCloud = p.backend === 'aws'
  return {
    runName: p.runName,
    workflow: p.spec.workflow,
    repoId: p.repoId,
    revisionSha: p.revisionSha,
    attempt: p.attempt,
    store: p.store,
    runPrefix: keys.runDir(p.repoId, p.runName),
    codeKey: keys.code(p.snapshotSha256),
    deps: p.deps.map((d) => ({ label: d.label, artifactsPrefix: keys.artifacts(d.repoId, d.run) })),
    commands: p.spec.commands,
    setup: p.spec.setup,
    env: p.spec.env,
    secretEnvNames: Object.keys(p.spec.secretEnv).sort(),
    workingDir: p.spec.workingDir,
    artifacts: p.spec.artifacts,
    rootPaths: [...new Set([...p.spec.artifacts.map((a) => a.path), ...p.deps.flatMap((d) => d.rootPaths ?? [])].filter((x) => x.startsWith('/')))],
    registryAuth: Boolean(p.spec.registryAuth && p.spec.image),
    args: p.args,
    image: p.spec.image,
    entrypoint: p.spec.entrypoint,
    python: p.spec.python,
    maxDurationSec: p.spec.maxDurationSec,
    options: {
      selfDestruct: onCloud,
      spotWatch: onCloud,
      logIntervalSec: 2,
      workRoot: p.workRoot ?? (onCloud ? '/opt/dstack/work' : '/tmp/dstack-work'),
      ownsMachine: onCloud
    }
  }
}
