/**
 * Absolute paths and private registries in the runner script, executed for real by bash through the
 * local backend, with a stand-in `docker` on PATH (this host has no Docker engine): absolute
 * `working_dir`, absolute artifact paths kept as `_root/P` and restored at P by a dependant,
 * refusal on a machine the run does not own, and `registry_auth` that never lets the password reach
 * an argument list, a disk, the script text or the job.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { folderStore, logChunks, makePlan, readKey, removeTempDirs, runPrefix, runToEnd, statusOf, tempDir } from './fixture.js'
import { createHash } from 'node:crypto'

const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex')

afterAll(() => removeTempDirs())

function fakeBin(tools: Record<string, string>): string {
  const dir = tempDir('fakebin-')
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`)
    chmodSync(join(dir, name), 0o755)
  }
  return dir
}

/**
 * A stand-in Docker CLI: `info` succeeds; `login` records its arguments, stdin and config folder;
 * `run` records its arguments and environment, then acts as the container would: it writes a file
 * into every folder mounted at an absolute path other than the code and runner mounts.
 */
function fakeDocker(rec: string): string {
  return fakeBin({
    docker: `
cfg=
if [ "$1" = --config ]; then cfg="$2"; shift 2; fi
case "$1" in
  info) exit 0 ;;
  login) printf '%s\\n' "$@" > ${rec}/login-args; cat > ${rec}/login-stdin; printf '%s' "$cfg" > ${rec}/login-config; ls -A "$cfg" > ${rec}/config-files 2>/dev/null; exit 0 ;;
  pull) printf '%s\\n' "$@" > ${rec}/pull-args; exit 0 ;;
  logout) exit 0 ;;
  run)
    printf '%s\\n' "$@" > ${rec}/run-args
    env > ${rec}/run-env
    prev=
    for a in "$@"; do
      if [ "$prev" = -v ]; then
        host="\${a%%:*}"; inside="\${a#*:}"
        case "$inside" in /workflow*|/dstack-runner|/app*) ;; *) printf 'made in the container\\n' > "$host/from-job.txt" ;; esac
      fi
      prev="$a"
    done
    echo "container ran"
    exit 0 ;;
esac
exit 0`
  })
}

describe('registry_auth', () => {
  test('logs in with the password on stdin and a config folder in memory, pulls, then deletes the folder; the job never sees the credentials', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeDocker(rec)
    const { root, loc } = await folderStore()
    const password = 'registry-password-98765'
    const end = await runToEnd(makePlan(loc, { image: 'ghcr.io/acme/private:1', registryAuth: true, commands: ['echo hi'] }), {
      secretEnv: { DSTACK_REGISTRY_USERNAME: 'robot', DSTACK_REGISTRY_PASSWORD: password },
      backend: { env: { PATH: `${bin}:${process.env.PATH}` } }
    })
    expect(end.exitCode).toBe(0)
    expect(statusOf(root)).toMatchObject({ status: 'succeeded' })
    expect(readFileSync(join(rec, 'login-args'), 'utf8').split('\n')).toEqual(['login', '--username', 'robot', '--password-stdin', 'ghcr.io', ''])
    expect(readFileSync(join(rec, 'login-stdin'), 'utf8')).toBe(password)
    const cfg = readFileSync(join(rec, 'login-config'), 'utf8')
    expect(cfg).toMatch(/^\/dev\/shm\/dstack-registry\./)
    expect(existsSync(cfg)).toBe(false)
    expect(readFileSync(join(rec, 'pull-args'), 'utf8').split('\n')[1]).toBe('ghcr.io/acme/private:1')
    // not in the job's environment, not in docker run's arguments, not in the script, the logs or the store
    expect(readFileSync(join(rec, 'run-env'), 'utf8')).not.toContain(password)
    expect(readFileSync(join(rec, 'run-env'), 'utf8')).not.toContain('DSTACK_REGISTRY')
    expect(readFileSync(join(rec, 'run-args'), 'utf8')).not.toContain(password)
    expect(end.script).not.toContain(password)
    expect(logChunks(root).join('')).toContain('logging in to ghcr.io to pull ghcr.io/acme/private:1')
    const stored = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    // the code, status.json and the log (one chunk now that a job's end is shipped at once)
    expect(stored.map((e) => e.name)).toEqual(expect.arrayContaining(['status.json', '000000.log', expect.stringMatching(/\.tar\.gz$/)]))
    for (const e of stored) expect(readFileSync(join(e.parentPath, e.name), 'utf8')).not.toContain(password)
  })

  test('Docker Hub images log in without a server; missing credentials fail before the image is used', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeDocker(rec)
    const { loc } = await folderStore()
    const ok = await runToEnd(makePlan(loc, { image: 'acme/private:1', registryAuth: true }), {
      secretEnv: { DSTACK_REGISTRY_USERNAME: 'robot', DSTACK_REGISTRY_PASSWORD: 'pw-1234' },
      backend: { env: { PATH: `${bin}:${process.env.PATH}` } }
    })
    expect(ok.exitCode).toBe(0)
    expect(readFileSync(join(rec, 'login-args'), 'utf8').split('\n')).toEqual(['login', '--username', 'robot', '--password-stdin', ''])
    const { root: root2, loc: loc2 } = await folderStore()
    const missing = await runToEnd(makePlan(loc2, { image: 'acme/private:1', registryAuth: true }), { backend: { env: { PATH: `${bin}:${process.env.PATH}` } } })
    expect(missing.exitCode).toBe(1)
    expect(statusOf(root2)).toMatchObject({ status: 'failed', reason: expect.stringContaining('DSTACK_REGISTRY_USERNAME and DSTACK_REGISTRY_PASSWORD are not set') })
  })
})

describe('absolute paths in a container', () => {
  test('absolute working_dir: the checkout is mounted there and the job starts there; absolute artifacts are mounted work-area folders kept as _root/P', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeDocker(rec)
    const { root, loc } = await folderStore({ 'train.py': 'x' })
    const end = await runToEnd(makePlan(loc, {
      image: 'python:3.12',
      workingDir: '/app/src',
      artifacts: [{ path: '/opt/conda/envs/myenv', mount: false }],
      rootPaths: ['/opt/conda/envs/myenv']
    }), { backend: { env: { PATH: `${bin}:${process.env.PATH}` } } })
    expect(end.exitCode).toBe(0)
    const args = readFileSync(join(rec, 'run-args'), 'utf8').split('\n')
    expect(args[args.indexOf('-w') + 1]).toBe('/app/src')
    expect(args).toContainEqual(expect.stringMatching(/\/wise-cat-1\/1\/code:\/app\/src$/))
    expect(args).toContainEqual(expect.stringMatching(/\/wise-cat-1\/1\/root\/opt\/conda\/envs\/myenv:\/opt\/conda\/envs\/myenv$/))
    expect(readKey(root, `${runPrefix()}/artifacts/_root/opt/conda/envs/myenv/from-job.txt`)).toBe('made in the container\n')
    const manifest = JSON.parse(readKey(root, `${runPrefix()}/artifacts.json`)!) as { path: string }[]
    expect(manifest.map((m) => m.path)).toEqual(['_root/opt/conda/envs/myenv/from-job.txt'])
  })

  test('a dependant restores _root/P into the folder mounted at P, and the rest into the working folder', async () => {
    const rec = tempDir('docker-rec-')
    const bin = fakeBin({
      docker: `[ "$1" = info ] && exit 0
prev=; for a in "$@"; do if [ "$prev" = -v ]; then case "\${a#*:}" in
  /root/.cache/huggingface) cat "\${a%%:*}/model.bin" > ${rec}/seen-in-cache ;;
  /workflow) ls -A "\${a%%:*}" > ${rec}/checkout; ls "\${a%%:*}/data" > ${rec}/checkout-data ;;
esac; fi; prev="$a"; done
exit 0`
    })
    const { root, loc } = await folderStore()
    const depPrefix = 'github.com/acme/models/runs/old-run-1/artifacts'
    mkdirSync(join(root, depPrefix, '_root/root/.cache/huggingface'), { recursive: true })
    writeFileSync(join(root, depPrefix, '_root/root/.cache/huggingface/model.bin'), 'weights')
    mkdirSync(join(root, depPrefix, 'data'), { recursive: true })
    writeFileSync(join(root, depPrefix, 'data/train.csv'), 'a,b\n')
    const end = await runToEnd(makePlan(loc, { image: 'python:3.12', deps: [{ label: 'tag `cache`', artifactsPrefix: depPrefix, files: [{ path: '_root/root/.cache/huggingface/model.bin', sha256: sha256Hex('weights') }, { path: 'data/train.csv', sha256: sha256Hex('a,b\n') }] }], rootPaths: ['/root/.cache/huggingface'] }), {
      backend: { env: { PATH: `${bin}:${process.env.PATH}`, DSTACK_KEEP_WORK: '1' } }
    })
    expect(end.exitCode).toBe(0)
    expect(readFileSync(join(rec, 'seen-in-cache'), 'utf8')).toBe('weights')
    expect(readFileSync(join(rec, 'checkout-data'), 'utf8')).toBe('train.csv\n')
    expect(readFileSync(join(rec, 'checkout'), 'utf8').split('\n')).not.toContain('_root')
  })
})

describe('absolute paths on the machine itself', () => {
  test('on a machine the run does not own (local backend) an absolute artifact path is refused, and nothing outside is read or written', async () => {
    const { root, loc } = await folderStore()
    const outside = join(tempDir('outside-'), 'env')
    const end = await runToEnd(makePlan(loc, { artifacts: [{ path: outside, mount: false }], rootPaths: [outside], commands: [`mkdir -p ${outside} && echo x > ${outside}/f`] }))
    expect(end.exitCode).toBe(1)
    expect(statusOf(root)).toMatchObject({ status: 'failed', reason: expect.stringContaining('would be written outside this run\'s folder on a machine the run does not own') })
    expect(existsSync(outside)).toBe(false)
    expect(readKey(root, `${runPrefix()}/artifacts.json`)).toBe('[\n]\n')
  })

  test('on a machine the run owns, the absolute working_dir holds the checkout and absolute artifacts are read and restored at their path', async () => {
    const base = tempDir('owned-')
    const wd = join(base, 'workflow')
    const env = join(base, 'envs/myenv')
    const { root, loc } = await folderStore({ 'hello.txt': 'from the checkout\n' })
    const first = await runToEnd(makePlan(loc, {
      workingDir: wd,
      artifacts: [{ path: env, mount: false }, { path: 'out', mount: false }],
      rootPaths: [env],
      commands: ['pwd > out.txt', 'mkdir -p out && cp hello.txt out/', `echo lib > ${env}/lib.txt`]
    }, { ownsMachine: true }))
    expect(first.exitCode).toBe(0)
    expect(readFileSync(join(wd, 'out.txt'), 'utf8').trim()).toBe(wd)
    expect(readKey(root, `${runPrefix()}/artifacts/out/hello.txt`)).toBe('from the checkout\n')
    expect(readKey(root, `${runPrefix()}/artifacts/_root${env}/lib.txt`)).toBe('lib\n')

    // a dependant on another owned machine: the absolute artifact comes back at its path
    const env2 = join(tempDir('owned2-'), 'x')
    const depPrefix = 'github.com/acme/models/runs/old-run-2/artifacts'
    mkdirSync(join(root, depPrefix, `_root${env2}`), { recursive: true })
    writeFileSync(join(root, depPrefix, `_root${env2}/lib.txt`), 'restored\n')
    const second = await runToEnd(makePlan(loc, { runName: 'wise-cat-2', runPrefix: runPrefix('wise-cat-2'), deps: [{ label: 'tag `env`', artifactsPrefix: depPrefix, files: [{ path: `_root${env2}/lib.txt`, sha256: sha256Hex('restored\n') }] }], rootPaths: [env2], commands: [`cat ${env2}/lib.txt`] }, { ownsMachine: true }))
    expect(second.exitCode).toBe(0)
    expect(logChunks(root, 'wise-cat-2').join('')).toContain('restored\n')
  })
})
