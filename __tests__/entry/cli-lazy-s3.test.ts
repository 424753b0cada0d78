/**
 * The S3 SDK (client-s3, lib-storage, the presigner: ~22 MB of memory) loads only when an S3 store
 * sends its first request: `validate` and folder-store commands never load it (bench row `memory`).
 *
 * The CLI's real entry (src/entry/cli-index.ts, through tsx) runs in its own node process, and a
 * hook prints at exit the packages in node's module cache: a fresh process sees the whole module
 * graph as a user's does, which an import inside Jest's own module registry would not. The last
 * case is the control: an S3 store that sends a request (answered 403 by a loopback server) shows
 * the SDK in the same list, so the check cannot pass because the hook stopped seeing the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = new URL('../..', import.meta.url).pathname
const S3_SDK = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner']

// at exit: the packages (`@scope/name` or `name`) of every module in node's module cache
const LOADED_HOOK = `data:text/javascript,${encodeURIComponent(`
import { createRequire } from 'node:module'
const cache = createRequire(${JSON.stringify(join(ROOT, 'package.json'))}).cache
process.on('exit', () => {
  const names = new Set(Object.keys(cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))
  process.stderr.write('\\nLOADED ' + JSON.stringify([...names]) + '\\n')
})`)}`

async function cliPackages(args: string[]): Promise<{ code: number | null; packages: string[]; stderr: string }> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
  }
  delete env.NODE_OPTIONS
  delete env.DSTACK_STORE
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), '--import', LOADED_HOOK, join(ROOT, 'src/entry/cli-index.ts'), ...args], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)))
  const m = /\nLOADED (\[.*\])\n/.exec(stderr)
  if (!m) throw new Error(`the CLI printed no module list (exit ${code}): ${stderr}`)
  return { code, packages: JSON.parse(m[1]!) as string[], stderr }
}

let server: Server
let endpoint = ''
let requests = 0
let storeDir = ''

beforeAll(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'lazy-s3-'))
  server = createServer((_req, res) => {
    requests++
    res.writeHead(403, { 'content-type': 'application/xml' })
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(storeDir, { recursive: true, force: true })
})

describe('the CLI loads the S3 SDK only when an S3 store sends a request', () => {
  it('`validate` does not load it', async () => {
    const r = await cliPackages(['validate', '-C', ROOT])
    expect(r.code).toBe(0)
    expect(r.packages).toContain('commander') // the hook sees the CLI's packages
    expect(r.packages.filter((p) => S3_SDK.includes(p) || p.startsWith('@smithy/'))).toEqual([])
  })

  it('a folder-store command (`ps --store <folder>`) does not load it', async () => {
    const r = await cliPackages(['ps', '-C', ROOT, '--store', storeDir])
    expect(r.code).toBe(0)
    expect(r.packages.filter((p) => S3_SDK.includes(p) || p.startsWith('@smithy/'))).toEqual([])
  })

  it('control: an S3 store loads it on its first request, and the request is sent', async () => {
    const before = requests
    const r = await cliPackages(['ps', '-C', ROOT, '--store', 's3://lazy-bucket/runs', '--endpoint', endpoint, '--store-region', 'us-east-1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('AccessDenied')
    expect(requests).toBeGreaterThan(before)
    expect(r.packages).toEqual(expect.arrayContaining(S3_SDK))
  })
})
