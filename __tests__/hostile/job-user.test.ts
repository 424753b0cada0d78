/**
 * Hostile: a pull request's job cannot touch the action. On the local backend it runs as its own OS
 * user (DSTACK_JOB_USER=auto; this machine is root), so it can neither read the action's processes
 * nor write the CI's command files, the store or the runner's folder. The store it reads is checked
 * against what its writers recorded, and a checkpoint restore never writes through a link.
 */
import './job-user-on.js'
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir } from './cli-harness.js'
import { canSwitchUser } from '../../src/backends/local/job-user.js'
import { FolderStore, RunStore } from '../../src/store/index.js'
import { resolveBaseline } from '../../src/orchestrate/report-data.js'
import { METRICS_OUTPUT_MAX_BYTES } from '../../src/report/output-caps.js'
import { CODE_KEY, folderStore, logChunks, makePlan, runPrefix, runToEnd, sha256, statusOf, useCodeSha } from '../runner/fixture.js'

const REPO_ID = 'github.com/acme/ml-demo'
const TOKEN = 'ghs_hostileJobUserToken0123456789abcdef'
const switching = canSwitchUser()
const maybe = switching ? describe : describe.skip

function logOf(store: string, name: string): string {
  const dir = join(runDir(store, name), 'attempts', '1', 'logs')
  return existsSync(dir) ? readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('') : ''
}

maybe('the job runs as its own OS user and cannot reach the action', () => {
  let decoy: ChildProcess
  let ciDir: string
  let store: string
  let repo: string
  let seedRun: string
  const files = ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'GITHUB_PATH']
  beforeAll(async () => {
    // the action's process as the job would find it: the CI's tokens in its environment
    decoy = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], {
      env: { PATH: process.env.PATH, ACTIONS_RUNTIME_TOKEN: TOKEN, 'INPUT_GITHUB-TOKEN': TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN: TOKEN, AWS_SECRET_ACCESS_KEY: TOKEN, CI_JOB_TOKEN: TOKEN, DSTACK_GITLAB_TOKEN: TOKEN },
      stdio: 'ignore'
    })
    // the CI's command files as a runner lays them out: a folder others may enter, files they may read
    ciDir = tempDir('runner-temp-')
    chmodSync(ciDir, 0o755)
    for (const f of files) writeFileSync(join(ciDir, f), '', { mode: 0o644 })
    // a store folder others may enter (so only its owner's write permission stands in the way)
    const storeParent = tempDir('hostile-store-parent-')
    chmodSync(storeParent, 0o755)
    store = join(storeParent, 'store')
    const attempts = [
      ...files.map((f) => `echo 'PWNED=1' >> ${join(ciDir, f)} 2>/dev/null && echo "WROTE ${f}" || echo "denied ${f}"`),
      `touch ${store}/pwned 2>/dev/null && echo "WROTE store" || echo "denied store"`,
      `for f in $(find ${store} -name run.json 2>/dev/null); do echo x >> "$f" 2>/dev/null && echo "WROTE $f"; done; echo "tried run.json"`,
      `for f in $(find ${store} -path '*artifacts/*' -type f 2>/dev/null); do echo forged > "$f" 2>/dev/null && echo "WROTE $f"; done; echo "tried artifacts"`,
      `echo x >> "$DSTACK_RUNNER_DIR/../runner/status.json" 2>/dev/null && echo "WROTE runner status" || echo "denied runner status"`,
      `ln -s /etc/passwd "$DSTACK_RUNNER_DIR/../runner/artifacts.json" 2>/dev/null && echo "WROTE runner link" || echo "denied runner link"`,
      `ls "$DSTACK_RUNNER_DIR/../runner" >/dev/null 2>&1 && echo "LISTED runner" || echo "denied runner listing"`,
      `echo own > "$DSTACK_RUNNER_DIR/mine" && echo "own folder ok"`
    ]
    repo = repoWith({
      '.dstack/workflows.yaml': `workflows:
  - name: seed
    provider: bash
    commands:
      - mkdir -p out && echo seed > out/x.txt
    artifacts:
      - path: out
  - name: procs
    provider: bash
    commands:
      - id -un
      - for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null | tr '\\0' '\\n'; done > environ.txt; wc -l < environ.txt > seen.txt
      - grep -c "${TOKEN.slice(0, 12)}" environ.txt || true
    artifacts:
      - path: environ.txt
      - path: seen.txt
  - name: writes
    provider: bash
    commands:
${attempts.map((a) => `      - ${JSON.stringify(a)}`).join('\n')}
`
    })
    const seed = await cli(repo, ['run', 'seed', '--store', store])
    expect(seed.code).toBe(0)
    seedRun = runNameOf(seed)
  })
  afterAll(() => {
    decoy.kill('SIGKILL')
    cleanup()
  })

  test('job user: a job that reads /proc/<pid>/environ of every process it can see finds no token', async () => {
    const r = await cli(repo, ['run', 'procs', '--store', store])
    expect(r.code).toBe(0)
    const name = runNameOf(r)
    expect(logOf(store, name)).toContain('dstack-job\n')
    const seen = readFileSync(join(runDir(store, name), 'artifacts', 'environ.txt'), 'utf8')
    // it did read what it may (its own processes' environments), and nothing of the action's
    expect(seen).toContain('DSTACK_RUNNER_DIR=')
    expect(seen).not.toContain(TOKEN)
    // control: as the runner's own user the same job finds the token
    const off = await cli(repo, ['run', 'procs', '--store', store], { ...process.env, DSTACK_JOB_USER: 'off' })
    expect(readFileSync(join(runDir(store, runNameOf(off)), 'artifacts', 'environ.txt'), 'utf8')).toContain(TOKEN)
  })

  test("job user: a job that writes GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH, the store and the runner's folder fails at each", async () => {
    const before = readFileSync(join(runDir(store, seedRun), 'run.json'), 'utf8')
    const r = await cli(repo, ['run', 'writes', '--store', store])
    expect(r.code).toBe(0)
    const log = logOf(store, runNameOf(r))
    expect(log).not.toMatch(/WROTE|LISTED/)
    for (const f of files) {
      expect(log).toContain(`denied ${f}`)
      expect(readFileSync(join(ciDir, f), 'utf8')).toBe('')
    }
    for (const w of ['denied store', 'tried run.json', 'tried artifacts', 'denied runner status', 'denied runner link', 'denied runner listing', 'own folder ok']) expect(log).toContain(w)
    expect(existsSync(join(store, 'pwned'))).toBe(false)
    expect(readFileSync(join(runDir(store, seedRun), 'run.json'), 'utf8')).toBe(before)
    expect(readFileSync(join(runDir(store, seedRun), 'artifacts', 'out', 'x.txt'), 'utf8')).toBe('seed\n')
  })
})

describe('store integrity', () => {
  let store: string
  let repo: string
  beforeAll(async () => {
    store = tempDir('hostile-store-')
    repo = repoWith({
      '.dstack/workflows.yaml': `workflows:
  - name: produce
    provider: bash
    commands:
      - mkdir -p dataset && echo payload > dataset/x.txt
    artifacts:
      - path: dataset
  - name: consume
    provider: bash
    deps:
      - workflow: produce
    commands:
      - echo CONSUMED; cat dataset/x.txt
  - name: scores
    provider: bash
    commands:
      - echo '{"step":1,"loss":0.5}' > "$DSTACK_METRICS"
  - name: many-metrics
    provider: bash
    commands:
      - for i in $(seq 1 6000); do printf '{"step":1,"metric_%05d_with_a_long_name":%d}\\n' "$i" "$i"; done > "$DSTACK_METRICS"
`
    })
  })
  afterAll(cleanup)

  test('integrity: a forged store artifact, its manifest rewritten to match, is caught before a consumer uses it', async () => {
    const p = await cli(repo, ['run', 'produce', '--store', store])
    expect(p.code).toBe(0)
    const dir = runDir(store, runNameOf(p))
    // the forger rewrites the file and the manifest consistently
    writeFileSync(join(dir, 'artifacts', 'dataset', 'x.txt'), 'forged\n')
    const manifest = [{ path: 'dataset/x.txt', size: 7, sha256: sha256('forged\n') }]
    writeFileSync(join(dir, 'artifacts.json'), JSON.stringify(manifest))
    const recorded = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { provenance: { manifestSha256: string } }).provenance.manifestSha256
    const c = await cli(repo, ['run', 'consume', '--store', store])
    expect(c.code).toBe(1)
    expect(c.err).toContain(`store integrity: the artifacts manifest \`artifacts.json\` of run ${runNameOf(p)} has sha256 ${sha256(JSON.stringify(manifest))} in the store, but the run that wrote it recorded ${recorded}`)
    expect(c.err + c.out).not.toContain('CONSUMED')
  })

  test('integrity: a baseline whose metrics were forged in the store is never compared with; the reason names the run and file', async () => {
    const b = await cli(repo, ['run', 'scores', '--store', store])
    expect(b.code).toBe(0)
    const base = runNameOf(b)
    const forged = '{"step":1,"loss":0.0001}\n'
    writeFileSync(join(runDir(store, base), 'artifacts', '_dstack', 'metrics.jsonl'), forged)
    const rs = new RunStore(new FolderStore(store))
    const cur = (await rs.getRun(REPO_ID, base))!
    const info = await resolveBaseline(rs, { ...cur, run: 'later-run-9', submittedAt: new Date(Date.now() + 1000).toISOString() }, base)
    expect(info?.metrics).toBeUndefined()
    expect(info?.missing).toContain(`store integrity: the artifact \`_dstack/metrics.jsonl\` of run ${base} has sha256 ${sha256(forged)} in the store`)
  })

  test('outputs: 6,000 metric names keep the metrics output under its cap; every value stays in the _dstack/metrics.jsonl artifact', async () => {
    const r = await cli(repo, ['run', 'many-metrics', '--store', store, '--json'])
    expect(r.code).toBe(0)
    // --json gives the outputs typed: metrics as an object
    const { record, outputs } = JSON.parse(r.out.slice(r.out.indexOf('{\n  "record"'))) as { record: { run: string }; outputs: Record<string, unknown> }
    const metrics = outputs.metrics as Record<string, number>
    expect(Buffer.byteLength(JSON.stringify(metrics))).toBeLessThanOrEqual(METRICS_OUTPUT_MAX_BYTES)
    expect(Object.keys(metrics).length).toBeGreaterThan(0)
    expect(Object.keys(metrics).length).toBeLessThan(6000)
    const kept = readFileSync(join(runDir(store, record.run), 'artifacts', '_dstack', 'metrics.jsonl'), 'utf8').trim().split('\n')
    expect(kept).toHaveLength(6000)
  })
})

maybe('checkpoint restore and links', () => {
  afterAll(cleanup)
  test('links: a checkpoint restore into a retry through a symlink committed in the repository is refused', async () => {
    const victim = tempDir('victim-')
    const { root, loc } = await folderStore()
    // the repository commits `ckpt` as a link to a folder outside the code
    const src = tempDir('code-src-')
    writeFileSync(join(src, 'README.md'), 'hi\n')
    symlinkSync(victim, join(src, 'ckpt'))
    const { spawnSync } = await import('node:child_process')
    expect(spawnSync('tar', ['-czf', join(root, CODE_KEY), '-C', src, '.']).status).toBe(0)
    useCodeSha(loc, sha256(readFileSync(join(root, CODE_KEY))))
    // what attempt 1 synced of the checkpoint
    mkdirSync(join(root, runPrefix(), 'artifacts', 'ckpt'), { recursive: true })
    writeFileSync(join(root, runPrefix(), 'artifacts', 'ckpt', 'model.pt'), 'weights\n')
    const work = tempDir('hostile-work-')
    chmodSync(work, 0o711)
    const plan = makePlan(loc, { attempt: 2, commands: ['echo "restored=[$DSTACK_RESTORED]"'], artifacts: [{ path: 'ckpt', mount: true }] })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_WORK_ROOT: work } } })
    expect(end.exitCode).toBe(0)
    expect(readdirSync(victim)).toEqual([])
    const log = logChunks(root, 'wise-cat-1', 2).join('')
    expect(log).toContain('checkpoint `ckpt` was not restored: it is a symbolic link')
    expect(log).toContain('restored=[]')
    expect(statusOf(root, 'wise-cat-1', 2)!.status).toBe('succeeded')
  })
})
