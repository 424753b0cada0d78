/**
 * registry_auth and absolute paths through the real CLI entry on the local backend: the registry
 * secret flows from the environment like secret env (never stored), and a run on a machine it does
 * not own (local backend, no image) refuses absolute paths before anything starts, naming the fix.
 * A stand-in `docker` on PATH plays the engine this host does not have.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'

async function cli(args: string[], environ: Record<string, string | undefined>): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ,
    cwd: process.cwd(),
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

const TASKS = {
  'private.dstack.yml': 'type: task\nimage: ghcr.io/acme/trainer:2\nregistry_auth:\n  username: acme-bot\n  password: ${{ secrets.GHCR_TOKEN }}\ncommands:\n  - echo in the private image\n',
  'abs-wd.dstack.yml': 'type: task\nworking_dir: /workspace/app\ncommands: [pwd]\n',
  'abs-artifact.dstack.yml': 'type: task\ncommands: [echo]\nartifacts:\n  - /opt/conda/envs/myenv\n',
  'abs-in-image.dstack.yml': 'type: task\nimage: python:3.12\nworking_dir: /workspace/app\ncommands: [pwd]\nartifacts: [/opt/conda/envs/myenv]\n',
  '.dstack/workflows.yaml': 'workflows:\n  - name: conda\n    provider: bash\n    commands: [echo]\n    artifacts:\n      - path: /opt/conda/envs/myenv\n'
}

describe('registry_auth and absolute paths from the CLI', () => {
  let repo: { dir: string; cleanup: () => void }
  let store: string
  let rec: string
  let bin: string
  const saved = process.env.PATH
  beforeAll(() => {
    repo = makeRepo(TASKS)
    store = mkdtempSync(join(tmpdir(), 'store-'))
    rec = mkdtempSync(join(tmpdir(), 'docker-rec-'))
    bin = mkdtempSync(join(tmpdir(), 'fakebin-'))
    writeFileSync(join(bin, 'docker'), `#!/usr/bin/env bash
[ "$1" = --config ] && shift 2
case "$1" in
  info|pull|logout) exit 0 ;;
  login) cat > ${rec}/login-stdin; exit 0 ;;
  run) printf '%s\\n' "$@" > ${rec}/run-args; echo "in the private image"; exit 0 ;;
esac`)
    chmodSync(join(bin, 'docker'), 0o755)
    process.env.PATH = `${bin}:${saved}`
  })
  afterAll(() => {
    process.env.PATH = saved
    repo.cleanup()
    for (const d of [store, rec, bin]) rmSync(d, { recursive: true, force: true })
  })

  it('registry_auth: the password comes from the environment, reaches docker login on stdin, and is stored nowhere', async () => {
    const token = 'ghcr-token-5551234'
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'private'], { ...process.env, GHCR_TOKEN: token })
    expect(r.code).toBe(0)
    expect(r.out).toContain('in the private image')
    expect(readFileSync(join(rec, 'login-stdin'), 'utf8')).toBe(token)
    expect(readFileSync(join(rec, 'run-args'), 'utf8')).not.toContain(token)
    const files = readdirSync(store, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.tar.gz'))
    expect(files.some((e) => e.name === 'run.json')).toBe(true)
    for (const e of files) expect(readFileSync(join(e.parentPath, e.name), 'utf8')).not.toContain(token)
    expect(r.out + r.err).not.toContain(token)
  })

  it('registry_auth: a missing secret fails the run before anything starts, naming it', async () => {
    const env = { ...process.env }
    delete env.GHCR_TOKEN
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'private'], env)
    expect(r.code).toBe(1)
    expect(r.err).toContain('needs `GHCR_TOKEN` from the environment, which is not set')
  })

  it.each([
    ['abs-wd', '`working_dir: /workspace/app` is an absolute path'],
    ['abs-artifact', 'artifact path `/opt/conda/envs/myenv` is absolute'],
    ['conda', 'artifact path `/opt/conda/envs/myenv` is absolute']
  ])('local backend without image: `%s` is refused before anything starts, naming the fix', async (name, what) => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, name], process.env)
    expect(r.code).toBe(1)
    expect(r.err).toContain(what)
    expect(r.err).toContain('the run does not own this machine')
    expect(r.err).toMatch(/hint: give the workflow an `image`.*or run it with `--backend aws`/)
    const ps = JSON.parse((await cli(['ps', '-C', repo.dir, '--store', store, '--json'], process.env)).out) as { workflow: string }[]
    expect(ps.some((x) => x.workflow === name)).toBe(false)
  })

  it('with an image the same paths are fine: the checkout is mounted at the absolute working_dir', async () => {
    const r = await cli(['run', '-C', repo.dir, '--store', store, 'abs-in-image'], process.env)
    expect(r.code).toBe(0)
    const args = readFileSync(join(rec, 'run-args'), 'utf8').split('\n')
    expect(args[args.indexOf('-w') + 1]).toBe('/workspace/app')
    expect(args).toContainEqual(expect.stringMatching(/\/root\/opt\/conda\/envs\/myenv:\/opt\/conda\/envs\/myenv$/))
  })
})
