/**
 * Artifact upload and download on loopback S3 (s3rver) against `aws s3 sync` of the same tree, in
 * the same run:
 *   upload    what the artifacts add to a run's end: `run`'s exit latency with the job leaving the
 *             tree as its artifact, minus the same run without artifacts (the runner's upload,
 *             its sha256 manifest, artifacts.json, the CLI reading it), vs `aws s3 sync DIR s3://…`
 *   download  `dstack-run artifacts download` (dist/cli.js: the SDK, each file's sha256 checked
 *             against the manifest) vs `aws s3 sync s3://…/artifacts/ DIR`
 * Both sides start a process each time (node, python). Alone: `node --import tsx bench/parts/artifacts.ts`.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { S3TestServer } from '../../__tests__/helpers/s3server.js'
import { measureRunLoop } from './run-loop.js'

const ROOT = new URL('../..', import.meta.url).pathname
const REPO_ID = 'github.com/acme/ml-demo'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** a command's wall time (ms); throws on a non-zero exit */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`))))
  })
}

export interface ArtifactFigures {
  files: number
  bytes: number
  /** medians (ms) */
  uploadOursMs: number
  uploadSyncMs: number
  downloadOursMs: number
  downloadSyncMs: number
}

export async function artifactTransfer(s3: S3TestServer, awsCli: string, runs = 3, files = 40, fileBytes = 256 * 1024): Promise<ArtifactFigures> {
  const env = { ...process.env, ...s3.env, DSTACK_AWS_CLI: awsCli }
  const storeArgs = ['--store', `s3://${s3.bucket}/art`, '--store-region', 'us-east-1', '--endpoint', s3.endpoint]
  const aws = (...a: string[]) => timed(awsCli, ['--endpoint-url', s3.endpoint, 's3', ...a, '--only-show-errors', '--no-progress'], env)
  const tmp = mkdtempSync(join(tmpdir(), 'bench-art-'))
  const up = { ours: [] as number[], sync: [] as number[] }
  const down = { ours: [] as number[], sync: [] as number[] }
  try {
    for (let i = 0; i < runs; i++) {
      // the baseline upload: the same shape of tree, synced by the aws CLI to a fresh prefix
      const tree = join(tmp, `tree-${i}`)
      mkdirSync(tree)
      for (let f = 1; f <= files; f++) writeFileSync(join(tree, `f${f}.bin`), randomBytes(fileBytes))
      up.sync.push(await aws('sync', tree, `s3://${s3.bucket}/sync-up/${i}/`))

      const without = await measureRunLoop(storeArgs, env)
      const withArtifacts = await measureRunLoop(storeArgs, env, {
        artifacts: { files, bytes: fileBytes },
        after: async (run, repoDir) => {
          const ours = join(tmp, `ours-${i}`)
          const sync = join(tmp, `sync-${i}`)
          down.ours.push(await timed(process.execPath, [join(ROOT, 'dist/cli.js'), 'artifacts', 'download', run, '-C', repoDir, ...storeArgs, '-o', ours], env))
          down.sync.push(await aws('sync', `s3://${s3.bucket}/art/${REPO_ID}/runs/${run}/artifacts/`, sync))
        }
      })
      up.ours.push(withArtifacts.exitMs - without.exitMs)
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return {
    files,
    bytes: files * fileBytes,
    uploadOursMs: median(up.ours),
    uploadSyncMs: median(up.sync),
    downloadOursMs: median(down.ours),
    downloadSyncMs: median(down.sync)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startS3Server, awsCliPath } = await import('../../__tests__/helpers/s3server.js')
  const s3 = await startS3Server('bench-art')
  try {
    console.log(JSON.stringify(await artifactTransfer(s3, process.env.BENCH_AWS_CLI ?? awsCliPath(), Number(process.env.BENCH_LOOP_RUNS ?? 3))))
  } finally {
    await s3.close()
  }
}
