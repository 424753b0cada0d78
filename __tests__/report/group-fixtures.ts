/**
 * Seed groups in a store for the group tests: a 5-seed group on a PR and a 5-seed baseline group on
 * main, with final metrics chosen so that Welch's test has a closed form: each side has sd
 * √0.00025·k with equal n = 5, so t = Δ / (sd·√(2/5)) and df = 8 exactly, and the two-sided
 * p-values are the t(8) table's: |t| = 2 → 0.0805, |t| = 4 → 0.00395, |t| = 5 → 0.00105.
 */
import { createHash } from 'node:crypto'
import { DEFAULTS, type ManifestEntry, type RunRecord, type RunSpec } from '../../src/model/index.js'
import { keys, type RunStore } from '../../src/store/index.js'

export const REPO = 'github.com/acme/ml'
export const PR_SHA = 'a1b2c3d4e5f6'.padEnd(40, '0')
export const MAIN_SHA = 'c0ffee00c0ffee'.padEnd(40, '1')

export const groupSpec: RunSpec = {
  workflow: 'train', format: 'workflows.yaml', source: { file: '.dstack/workflows.yaml', line: 3, column: 5 },
  commands: ['python train.py --seed $SEED'], commandLines: [7], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [{ path: 'model', mount: false }], deps: [], ports: [], cache: [],
  resources: { gpu: { names: ['A10G'], count: { min: 1, max: 1 } }, cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB },
  spotPolicy: 'auto', maxDurationSec: 21600, retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
}

/** final metrics of each seed: [accuracy, val_loss, latency_ms] */
export const PR_FINALS = [
  [0.91, 0.18, 14],
  [0.92, 0.19, 15],
  [0.93, 0.2, 16],
  [0.94, 0.21, 17],
  [0.95, 0.22, 18]
]
export const MAIN_FINALS = [
  [0.89, 0.23, 10],
  [0.9, 0.24, 11],
  [0.91, 0.25, 12],
  [0.92, 0.26, 13],
  [0.93, 0.27, 14]
]

export interface GroupRunOptions {
  run: string
  seed: number
  branch: 'main' | 'feature/better-lr'
  status?: RunRecord['status']
  /** minutes after 10:00 the run started / ended */
  start: number
  minutes: number
  day?: string
  pipeline?: string
  group?: string | null
  trust?: boolean
}

export function groupRecord(o: GroupRunOptions): RunRecord {
  const day = o.day ?? '2026-03-01'
  const at = (min: number) => new Date(Date.parse(`${day}T10:00:00Z`) + min * 60_000).toISOString().replace('.000Z', 'Z')
  const status = o.status ?? 'succeeded'
  const done = status !== 'running'
  const main = o.branch === 'main'
  const rec: RunRecord = {
    run: o.run, repoId: REPO, workflow: 'train', spec: groupSpec, backend: 'aws', args: [],
    revision: { repoId: REPO, sha: main ? MAIN_SHA : PR_SHA, branch: o.branch, pr: main ? undefined : 12, event: main ? 'push' : 'pull_request', snapshotSha256: 'b'.repeat(64) },
    status, exitCode: done ? 0 : undefined, reason: done ? 'all commands exited with 0' : undefined,
    submittedAt: at(o.start), endedAt: done ? at(o.start + o.minutes) : undefined,
    attempts: [{ n: 1, startedAt: at(o.start), endedAt: done ? at(o.start + o.minutes) : undefined, status: done ? 'succeeded' : undefined, machine: { id: 'i-0abc', backend: 'aws', instanceType: 'g5.xlarge', market: 'spot', pricePerHour: 0.4 } }],
    tags: [], costUsd: done ? Math.round((o.minutes / 60) * 0.4 * 10000) / 10000 : undefined,
    ciUrl: main ? 'https://github.com/acme/ml/actions/runs/40' : 'https://github.com/acme/ml/actions/runs/77',
    ...(o.group === null ? {} : { group: { name: o.group ?? 'seeds', pipeline: o.pipeline ?? (main ? '40' : '77'), size: 5, member: String(o.seed) } })
  }
  // as the orchestrator records it: a push on main is trusted, a pull request's run is not (`trust` overrides)
  const trusted = o.trust ?? main
  Object.assign(rec, { trust: { trusted, trigger: main ? 'push on main' : 'pull_request #12', why: trusted ? 'the default branch' : 'pull / merge request code is untrusted' } })
  return rec
}

export function metricsFile(finals: number[], seed: number, curve: 'pr' | 'main'): string {
  const lines = Array.from({ length: 21 }, (_, i) => {
    const loss = curve === 'pr' ? 2.4 * Math.exp(-i / 5) + 0.1 + seed * 0.01 : 2.5 * Math.exp(-i / 6) + 0.12 + seed * 0.015
    return JSON.stringify({ step: i * 10, loss: Number(loss.toFixed(5)) })
  })
  lines.push(JSON.stringify({ accuracy: finals[0], val_loss: finals[1], latency_ms: finals[2] }))
  return lines.join('\n') + '\n'
}

const sha = (b: string) => createHash('sha256').update(b).digest('hex')

/** saves the record and, when given, its metrics artifact and manifest */
export async function putGroupRun(store: RunStore, r: RunRecord, metrics?: string): Promise<void> {
  await store.saveRun(r)
  const manifest: ManifestEntry[] = []
  if (metrics !== undefined) {
    await store.store.put(keys.artifacts(r.repoId, r.run, '_dstack/metrics.jsonl'), metrics)
    manifest.push({ path: '_dstack/metrics.jsonl', size: Buffer.byteLength(metrics), sha256: sha(metrics) })
  }
  await store.store.put(keys.manifest(r.repoId, r.run), JSON.stringify(manifest))
}

export const PR_RUNS = ['swift-fox-1', 'swift-fox-2', 'swift-fox-3', 'swift-fox-4', 'swift-fox-5']
export const MAIN_RUNS = ['calm-otter-11', 'calm-otter-12', 'calm-otter-13', 'calm-otter-14', 'calm-otter-15']

/** the 5-seed baseline group on main (run 2026-02-10) and, finished, the 5-seed PR group */
export async function putBaselineGroup(store: RunStore, day = '2026-02-10'): Promise<void> {
  for (const [i, run] of MAIN_RUNS.entries()) {
    await putGroupRun(store, groupRecord({ run, seed: i + 1, branch: 'main', start: i, minutes: 40 + i * 2, day }), metricsFile(MAIN_FINALS[i]!, i + 1, 'main'))
  }
}

export async function putPrGroup(store: RunStore, finished = 5): Promise<void> {
  for (const [i, run] of PR_RUNS.entries()) {
    const done = i < finished
    await putGroupRun(store, groupRecord({ run, seed: i + 1, branch: 'feature/better-lr', start: i, minutes: 30 + i * 3, status: done ? 'succeeded' : 'running' }), done ? metricsFile(PR_FINALS[i]!, i + 1, 'pr') : undefined)
  }
}
