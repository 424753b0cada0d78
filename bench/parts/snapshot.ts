/**
 * The code snapshot of a 2,000-file repository against `git archive --format=tar HEAD | gzip -6` of
 * the same commit, round-robin in the same run (median of N after one warm-up):
 *   snapshot   buildSnapshot in this process: the scratch git folder, the synthetic commit, the
 *              archive gzipped as it streams, the listing beside it, the sha256     target ≤ 1.5×
 *   revision   captureRevision in this process: the revision's git questions and the diff, then
 *              the snapshot (what `run` does before it uploads anything)           (figure only)
 *   command    the whole `dist/cli.js revision --json`: Node start-up and loading included ≤ 8×
 * Alone: `node --import tsx bench/parts/snapshot.ts`; `npm run bench` runs it in a process of its own.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSnapshot, captureRevision } from '../../src/revision/index.js'

const ROOT = new URL('../..', import.meta.url).pathname
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** a committed repository of `files` small Python files in 40 folders */
export function makeBenchRepo(files: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-repo-'))
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `pkg${i % 40}`)
    mkdirSync(sub, { recursive: true })
    writeFileSync(join(sub, `f${i}.py`), `# file ${i}\n` + 'x = 1\n'.repeat(50 + (i % 200)))
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' }
  const git = (...a: string[]) => execFileSync('git', ['-c', 'init.defaultBranch=main', ...a], { cwd: dir, env })
  git('init', '-q')
  git('add', '-A')
  git('commit', '-qm', 'bench')
  return dir
}

export interface SnapshotFigures {
  files: number
  /** medians (ms) */
  gitArchiveMs: number
  snapshotMs: number
  revisionMs: number
  commandMs: number
}

async function timeAsync(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

function timeSync(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return performance.now() - t0
}

export async function snapshotSpeed(runs: number, files = 2000): Promise<SnapshotFigures> {
  const repo = makeBenchRepo(files)
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()
    const cases = {
      gitArchive: () => Promise.resolve(timeSync('bash', ['-c', 'git archive --format=tar HEAD | gzip -6 > /dev/null'], repo)),
      snapshot: () => timeAsync(() => buildSnapshot(repo, sha, Buffer.alloc(0))),
      revision: () => timeAsync(() => captureRevision(repo, { USER: 'bench' })),
      command: () => Promise.resolve(timeSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'revision', '-C', repo, '--json'], repo))
    }
    const ms: Record<keyof typeof cases, number[]> = { gitArchive: [], snapshot: [], revision: [], command: [] }
    for (const f of Object.values(cases)) await f() // warm-up
    for (let i = 0; i < runs; i++) for (const [k, f] of Object.entries(cases)) ms[k as keyof typeof cases].push(await f())
    return { files, gitArchiveMs: median(ms.gitArchive), snapshotMs: median(ms.snapshot), revisionMs: median(ms.revision), commandMs: median(ms.command) }
  } finally {
    rmSync(repo, { recursive: true, force: true })
  }
}

/**
 * The same in a process of its own, as `run` builds a snapshot early in a fresh process: the bench's
 * own process hosts s3rver and carries the heap of the parts before it, whose collection would be
 * counted as snapshot work
 */
export function snapshotSpeedAlone(runs: number): SnapshotFigures {
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BENCH_RUNS: String(runs) } })
  if (r.status !== 0) throw new Error(`bench/parts/snapshot.ts exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SnapshotFigures
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await snapshotSpeed(Number(process.env.BENCH_RUNS ?? 7))
  console.log(process.argv.includes('--json') ? JSON.stringify(figures) : figures)
}
