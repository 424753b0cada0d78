/**
 * The npm package is the CLI's bundle and nothing else: `npm pack` holds dist/cli.js, dist/cli/, the
 * bundled packages' licences and the schemas, it declares no runtime dependency (the bundle carries what it uses), and a global
 * install of the tarball — by npm itself, offline — is under 30 MB and runs `dstack-run` with no
 * node_modules of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../helpers/s3server.js'
import { makeRepo } from '../helpers/git-repo.js'

const ROOT = process.cwd()
const LIMIT = 30 * 1024 * 1024

function npmEnv(cache: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
  delete env.NODE_OPTIONS
  return env
}

function bytesOf(path: string): number {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((n, e) => n + bytesOf(join(path, e)), 0)
}

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'npm-package-'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('the npm package', () => {
  it('declares no runtime dependency: the bundle carries them', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.dependencies ?? {}).toEqual({})
    expect(pkg.bin).toEqual({ 'dstack-run': 'dist/cli.js' })
  })

  it('npm pack holds the CLI bundle, the schemas and the docs npm always adds, nothing else', async () => {
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: npmEnv(join(tmp, 'cache')) })
    expect(r.code).toBe(0)
    const [info] = JSON.parse(r.stdout) as { files: { path: string }[]; unpackedSize: number }[]
    const paths = info!.files.map((f) => f.path)
    expect(paths).toContain('dist/cli.js')
    expect(paths).toContain('dist/cli/index.js')
    expect(paths).toContain('schemas/workflows.schema.json')
    expect(paths).toContain('dist/licenses.txt') // the bundled packages' licences travel with them
    for (const p of paths) expect(p).toMatch(/^(dist\/cli\.js|dist\/cli\/[^/]+|dist\/licenses\.txt|schemas\/[^/]+\.json|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/)
    expect(info!.unpackedSize).toBeLessThan(LIMIT)
  })

  it('a global install of the packed tarball (offline) is under 30 MB and runs', async () => {
    const env = npmEnv(join(tmp, 'cache'))
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: ROOT, env })
    expect(pack.code).toBe(0)
    const tarball = join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename)
    const prefix = join(tmp, 'prefix')
    const install = await run('npm', ['install', '-g', '--offline', '--ignore-scripts', '--prefix', prefix, tarball], { cwd: tmp, env })
    expect(install.stderr).not.toMatch(/ERR!/)
    expect(install.code).toBe(0)
    const installed = join(prefix, 'lib/node_modules/run-action')
    expect(existsSync(join(installed, 'node_modules'))).toBe(false)
    expect(bytesOf(prefix)).toBeLessThan(LIMIT)

    const bin = join(prefix, 'bin/dstack-run')
    const version = await run(bin, ['--version'], { cwd: tmp, env })
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    const repo = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: train\n    provider: bash\n    commands:\n      - echo hi\n' })
    try {
      const v = await run(bin, ['validate', '-C', repo.dir, '--json'], { cwd: tmp, env })
      expect(v.code).toBe(0)
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, workflows: [expect.objectContaining({ name: 'train' })] })
    } finally {
      repo.cleanup()
    }
  })
})
