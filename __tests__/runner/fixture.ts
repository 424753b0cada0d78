/**
 * Test fixture for the runner script: a plan, a code snapshot in the store, and a run through the
 * real LocalBackend (bash executes the rendered script for real).
 */
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { createHash } from 'node:crypto'
import type { RunnerPlan } from '../../src/runner/plan.js'
import { renderRunnerScript } from '../../src/runner/render.js'
import { LocalBackend, type LocalBackendOptions } from '../../src/backends/local/index.js'
import type { ExecState, MachineInfo, StoreLocation } from '../../src/model/index.js'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { awsCliPath, startS3Server, type S3TestServer } from '../helpers/s3server.js'

export type Ended = Extract<ExecState, { state: 'ended' }>
import { spawn } from 'node:child_process'

export const REPO = 'github.com/acme/models'
export const SHA = 'a'.repeat(64)
export const CODE_KEY = `code/${SHA}.tar.gz`

export function runPrefix(run = 'wise-cat-1'): string {
  return `${REPO}/runs/${run}`
}

/** the sha256 of the snapshot stored at CODE_KEY in each store (the runner checks it) */
const codeShas = new Map<string, string>()
export function useCodeSha(store: StoreLocation, sha: string): void {
  codeShas.set(JSON.stringify(store), sha)
}

export function makePlan(store: StoreLocation, over: Partial<RunnerPlan> = {}, options: Partial<RunnerPlan['options']> = {}): RunnerPlan {
  const runName = over.runName ?? 'wise-cat-1'
  return {
    codeSha256: codeShas.get(JSON.stringify(store)) ?? SHA,
    runName,
    workflow: 'train',
    repoId: REPO,
    revisionSha: 'c0ffee0',
    attempt: 1,
    store,
    runPrefix: runPrefix(runName),
    codeKey: CODE_KEY,
    deps: [],
    commands: ['echo hello'],
    setup: [],
    env: {},
    secretEnvNames: [],
    workingDir: '.',
    artifacts: [],
    args: [],
    maxDurationSec: 120,
    ...over,
    options: { selfDestruct: false, spotWatch: false, logIntervalSec: 1, workRoot: '/tmp/dstack-test-work', ...options }
  }
}

/**
 * Async spawn with stdin closed (never spawnSync while s3rver runs in-process). The shared helper's
 * run() writes to stdin, which races with children that exit without reading it (EPIPE).
 */
export function sh(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const created: string[] = []

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  created.push(d)
  return d
}

/** remove every temp folder this test file made (call from afterAll) */
export function removeTempDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** a tar.gz of `files` (path → content), made with tar -czf */
export async function codeTarball(files: Record<string, string>): Promise<Buffer> {
  const src = tempDir('code-src-')
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, p)), { recursive: true })
    writeFileSync(join(src, p), content)
  }
  const out = join(tempDir('code-tar-'), 'code.tar.gz')
  const r = await sh('tar', ['-czf', out, '-C', src, '.'])
  if (r.code !== 0) throw new Error(`tar failed: ${r.stderr}`)
  return readFileSync(out)
}

/** an S3 server on loopback with the code snapshot of `files` in place under `prefix` */
export async function s3StoreWithCode(bucket: string, prefix: string, files: Record<string, string>): Promise<{ s3: S3TestServer; loc: StoreLocation }> {
  const s3 = await startS3Server(bucket)
  const loc: StoreLocation = { kind: 's3', bucket: s3.bucket, prefix: `${prefix}/`, region: 'us-east-1' }
  const body = await codeTarball(files)
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${CODE_KEY}`, Body: body }))
  useCodeSha(loc, sha256(body))
  return { s3, loc }
}

/** an `aws` that notes each call (its arguments) before running the real one */
export function recordingAws(): { path: string; calls: () => string[] } {
  const dir = tempDir('aws-rec-')
  const log = join(dir, 'calls.log')
  const path = join(dir, 'aws')
  writeFileSync(path, `#!/bin/bash\nprintf '%s\\n' "$*" >>'${log}'\nexec '${awsCliPath()}' "$@"\n`)
  chmodSync(path, 0o755)
  return { path, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) }
}

/** a folder store with the code snapshot in place */
export async function folderStore(files: Record<string, string> = { 'README.md': 'hi\n' }): Promise<{ root: string; loc: StoreLocation }> {
  const root = tempDir('store-')
  mkdirSync(join(root, 'code'), { recursive: true })
  const tar = await codeTarball(files)
  writeFileSync(join(root, CODE_KEY), tar)
  const loc: StoreLocation = { kind: 'folder', root }
  useCodeSha(loc, sha256(tar))
  return { root, loc }
}

export interface Started {
  handle: Awaited<ReturnType<LocalBackend['start']>>
  machines: MachineInfo[]
  script: string
  /** resolves with the final ExecState */
  ended: () => Promise<Ended>
}

export async function startRun(plan: RunnerPlan, opts: { backend?: LocalBackendOptions; secretEnv?: Record<string, string> } = {}): Promise<Started> {
  const script = renderRunnerScript(plan)
  const workRoot = tempDir('work-')
  const backend = new LocalBackend({ graceMs: 5000, ...opts.backend, env: { DSTACK_WORK_ROOT: workRoot, DSTACK_LOG_INTERVAL: '1', ...opts.backend?.env } })
  const machines: MachineInfo[] = []
  const handle = await backend.start({
    runName: plan.runName,
    repoId: plan.repoId,
    attempt: plan.attempt,
    spec: {} as never,
    store: plan.store,
    runnerScriptKey: `${plan.runPrefix}/attempts/${plan.attempt}/runner.sh`,
    runnerScript: script,
    secretEnv: opts.secretEnv ?? {},
    previousAttempts: [],
    onMachine: (m) => {
      machines.push(m)
    },
    log: () => undefined,
    signal: new AbortController().signal
  })
  return {
    handle,
    machines,
    script,
    ended: async () => {
      for (;;) {
        const s = await handle.poll()
        if (s.state === 'ended') {
          await handle.release()
          return s
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
}

export async function runToEnd(plan: RunnerPlan, opts: Parameters<typeof startRun>[1] = {}): Promise<Ended & { script: string }> {
  const s = await startRun(plan, opts)
  return { ...(await s.ended()), script: s.script }
}

// ---- folder store reading ----
export function readKey(root: string, key: string): string | undefined {
  const p = join(root, key)
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

export function statusOf(root: string, run = 'wise-cat-1', n = 1): Record<string, unknown> | undefined {
  const t = readKey(root, `${runPrefix(run)}/attempts/${n}/status.json`)
  return t === undefined ? undefined : (JSON.parse(t) as Record<string, unknown>)
}

export function logChunks(root: string, run = 'wise-cat-1', n = 1): string[] {
  const dir = join(root, `${runPrefix(run)}/attempts/${n}/logs`)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /^\d{6}\.log$/.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
}

export function allFiles(root: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(root, p))
    }
  }
  walk(root)
  return out.sort()
}

export function sha256(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex')
}

export async function waitFor<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await f()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
