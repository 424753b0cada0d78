/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 with a random port, for tests that use the
 * real AWS SDK or the real `aws` CLI. The test that starts it stops it (`close()`).
 * s3rver facts (reference/test-tooling.md): the access key id must be `S3RVER`; listing pagination
 * needs `--openssl-legacy-provider` (set by `npm test`); stream bodies need WHEN_REQUIRED checksums.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import S3rver from 's3rver'
import { S3Client } from '@aws-sdk/client-s3'

/** the environment the aws CLI and the SDK need for s3rver on loopback (add the endpoint) */
export const S3RVER_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  AWS_PAGER: ''
}

export interface S3TestServer {
  endpoint: string
  bucket: string
  /** a client configured for this server */
  client: S3Client
  /**
   * credentials and region for the `aws` CLI and the SDK's default chain. The endpoint is NOT in it:
   * Debian's awscli 2.9 ignores AWS_ENDPOINT_URL_S3, so pass `--endpoint-url` explicitly.
   */
  env: Record<string, string>
  /** calls `listener` with the key of each object written or deleted (s3rver's S3 events), until the returned function is called */
  onObjectChange(listener: (key: string) => void): () => void
  close(): Promise<void>
}

export async function startS3Server(bucket = 'test-bucket'): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }]
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const env = { ...S3RVER_ENV }
  return {
    endpoint,
    bucket,
    client,
    env,
    onObjectChange(listener) {
      const onEvent = (event: { Records?: { s3?: { object?: { key?: string } } }[] }) => {
        for (const r of event.Records ?? []) if (r.s3?.object?.key !== undefined) listener(r.s3.object.key)
      }
      // S3rver is a Koa application, an EventEmitter (its typings leave that out)
      const events = server as unknown as EventEmitter
      events.on('event', onEvent)
      return () => void events.off('event', onEvent)
    },
    async close() {
      client.destroy()
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The Debian awscli v2 binary. On this machine a pyenv aws-cli v1 shim comes first on PATH
 * (test-tooling.md gotcha 6), so tests call the apt binary by path.
 */
export function awsCliPath(): string {
  for (const p of ['/usr/bin/aws', '/usr/local/bin/aws']) if (existsSync(p)) return p
  try {
    return execFileSync('bash', ['-c', "dpkg -L awscli | grep '/bin/aws$' | head -1"], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('the Debian awscli is not installed: run scripts/install-prereqs.sh')
  }
}

/**
 * Run a command asynchronously. Never use execFileSync/spawnSync while the S3 server runs in this
 * process: a blocked event loop cannot answer the child's requests (the CLI then times out).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}
