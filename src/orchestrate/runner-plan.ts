/** Pure: a prepared run + attempt → the runner script's plan (src/runner/plan.ts). */
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunnerCache, RunnerPlan } from '../runner/plan.js'
import type { RunSpec, StoreLocation } from '../model/index.js'
import { keys } from '../store/index.js'
import { runnerDep, type ResolvedDep } from './dep-manifests.js'

export interface PlanInput {
  runName: string
  repoId: string
  revisionSha: string
  snapshotSha256: string
  attempt: number
  spec: RunSpec
  args: string[]
  store: StoreLocation
  deps: ResolvedDep[]
  ciEnv?: Record<string, string>
  backend: 'local' | 'aws'
  workRoot?: string
  /** the `cache` entries chosen for this run (cache-plan.ts) */
  caches?: RunnerCache[]
  trusted?: boolean
}

/** where a cached path is in the container: `~/x` is `/root/x` */
export function containerCachePath(path: string): string | undefined {
  if (path.startsWith('~/')) return `/root/${path.slice(2)}`
  return path.startsWith('/') ? path : undefined
}

export function runnerPlan(p: PlanInput): RunnerPlan {
  const onCloud = p.backend === 'aws'
  return {
    runName: p.runName,
    ...(p.spec.format === 'dstack.yml' && p.spec.configuredName ? { dstackRunName: p.spec.configuredName } : {}),
    workflow: p.spec.workflow,
    repoId: p.repoId,
    revisionSha: p.revisionSha,
    attempt: p.attempt,
    store: p.store,
    runPrefix: keys.runDir(p.repoId, p.runName),
    codeKey: keys.code(p.snapshotSha256),
    codeSha256: p.snapshotSha256,
    deps: p.deps.map(runnerDep),
    commands: p.spec.commands,
    setup: p.spec.setup,
    env: p.spec.env,
    // 0.x `ports: N` (N entries of 0, "any free port"): exported as $PORT_0 … as 0.x's runner did
    ...(p.spec.format === 'workflows.yaml' && p.spec.ports.some((x) => x === 0) ? { freePorts: p.spec.ports.filter((x) => x === 0).length } : {}),
    ciEnv: p.ciEnv ?? {},
    secretEnvNames: Object.keys(p.spec.secretEnv).sort(),
    workingDir: p.spec.workingDir,
    artifacts: p.spec.artifacts,
    rootPaths: [
      ...new Set(
        [
          ...p.spec.artifacts.map((a) => a.path),
          ...p.deps.flatMap((d) => (d.run.spec?.artifacts ?? []).map((a) => a.path)),
          // in a container, a cached folder outside the code is a folder of the work area mounted there
          ...(p.spec.image ? (p.caches ?? []).map((c) => containerCachePath(c.path) ?? '') : [])
        ].filter((x) => x.startsWith('/'))
      )
    ],
    ...(p.caches?.length ? { caches: p.caches, trusted: p.trusted === true } : {}),
    registryAuth: Boolean(p.spec.registryAuth && p.spec.image),
    args: p.args,
    ...(p.spec.nodes > 1
      ? { nodes: { count: p.spec.nodes, startupOrder: p.spec.startupOrder ?? 'any', ...(p.spec.groups ? { groups: p.spec.groups.map((g) => ({ name: g.name, nodes: g.nodes, commands: g.commands })) } : {}) } }
      : {}),
    image: p.spec.image,
    entrypoint: p.spec.entrypoint,
    ...(p.spec.resources.shmSizeMiB ? { shmSizeMiB: p.spec.resources.shmSizeMiB } : {}),
    ...(p.spec.shell ? { shell: p.spec.shell } : {}),
    python: p.spec.python,
    maxDurationSec: p.spec.maxDurationSec,
    options: {
      selfDestruct: onCloud,
      spotWatch: onCloud,
      logIntervalSec: 2,
      workRoot: p.workRoot ?? defaultWorkRoot(p.repoId, onCloud),
      ownsMachine: onCloud
    }
  }
}

/**
 * Where attempts work: a per-user, per-repository folder the runner creates with mode 0700 (never a
 * fixed shared path such as /tmp/dstack-work, where another user could read the job's log or plant a link).
 */
export function defaultWorkRoot(repoId: string, onCloud: boolean, tmp = tmpdir(), uid = process.getuid?.() ?? 0): string {
  const repo = createHash('sha256').update(repoId).digest('hex').slice(0, 12)
  return onCloud ? `/opt/dstack/work/${repo}` : join(tmp, `dstack-work-${uid}`, repo)
}
