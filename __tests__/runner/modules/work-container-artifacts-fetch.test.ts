/**
 * work.sh, container.sh, artifacts.sh and fetch.sh, each sourced alone with settings.sh and
 * stand-ins for the other modules (the store is a folder under the test's own; docker a stand-in).
 * The manifest is checked with JSON.parse and node's own sha256.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { runModules } from './harness.js'
import { makePlan, removeTempDirs, runPrefix } from '../fixture.js'

afterAll(() => removeTempDirs())
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')
/** the stand-in for fail_early: says why and stops, as finish would */
const failEarly = 'fail_early() { printf "fail_early: %s\\n" "$1"; exit 9; }\n'

describe('work.sh', () => {
  test('the work folder is private (0700); a work root that is a symbolic link is refused', () => {
    const ok = runModules(['settings.sh', 'work.sh'], 'make_work_dir "$WORK_BASE" && stat -c %a "$WORK" "$CODE_DIR" "$RUNNER_DIR"', { vars: { NODE_RANK: '0' }, standIns: 'export DSTACK_WORK_ROOT="$T/work"' })
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toBe('700\n700\n700\n')
    const link = runModules(['settings.sh', 'work.sh'], 'make_work_dir "$WORK_BASE" || echo refused', { vars: { NODE_RANK: '0' }, standIns: 'mkdir -p "$T/real" && ln -s "$T/real" "$T/link"\nexport DSTACK_WORK_ROOT="$T/link"' })
    expect(link.stdout).toBe('refused\n')
    expect(link.stderr).toContain('is a symbolic link or belongs to another user')
  })

  test('absolute paths are refused on a machine the run does not own', () => {
    const r = runModules(['settings.sh', 'work.sh'], 'place_checkout || printf "%s" "$PLACE_ERROR"', { vars: { NODE_RANK: '0', WORKING_DIR: '/srv/app', OWNS_MACHINE: '0', IMAGE: '' } })
    expect(r.stdout).toMatch(/^absolute paths \(working_dir \/srv\/app; no absolute artifacts\) would be written outside this run's folder/)
  })

  test('the work folder is removed after a success and kept after a failure', () => {
    const script = (status: string) => `make_work_dir "$WORK_BASE" && LOG_FILE="$RUNNER_DIR/log" && work_folder_note ${status} && remove_work_folder ${status}; [ -d "$WORK" ] && echo kept || echo removed; cat "$RUNNER_DIR/log" 2>/dev/null`
    const opts = { vars: { NODE_RANK: '0', SELF_DESTRUCT: '0' }, standIns: 'export DSTACK_WORK_ROOT="$T/work"' }
    expect(runModules(['settings.sh', 'work.sh'], script('succeeded'), opts).stdout).toBe('removed\n')
    expect(runModules(['settings.sh', 'work.sh'], script('failed'), opts).stdout).toMatch(/^kept\n\[dstack\] work folder kept to look into, as the run failed: /)
  })
})

describe('container.sh', () => {
  const plan = (dir: string) => makePlan({ kind: 'folder', root: `${dir}/store` }, { image: 'ghcr.io/acme/train:1', secretEnvNames: ['HF_TOKEN'], rootPaths: ['/results'], artifacts: [{ path: '/results', mount: false }] })
  const vars = { CODE_DIR: '/w/code', RUNNER_DIR: '/w/runner', JOB_RUNNER_DIR: '/w/job', ROOT_DIR: '/w/root', JOB_OUT_DIR: '/w/out', LOG_FILE: '/dev/null', NODES_NUM: '2' }
  const nodeEnv = 'NODE_ENV_NAMES=()\nexport_node_env() { NODE_ENV_NAMES=(DSTACK_NODE_RANK DSTACK_NODES_NUM); }\n'

  test('job_command runs the image with the code, the secrets by name, the node variables and the host\'s network', () => {
    const r = runModules(['settings.sh', 'container.sh'], 'job_command; printf "%s\\n" "${JOB_CMD[@]}"', { plan, vars, standIns: failEarly + nodeEnv + 'docker() { return 0; }\nnvidia-smi() { return 0; }' })
    const args = r.stdout.split('\n')
    expect(args.slice(0, 3)).toEqual(['docker', 'run', '--rm'])
    const pairs = args.slice(0, -1).map((a, i) => `${a} ${args[i + 1]}`)
    for (const p of ['-v /w/code:/workflow', '-v /w/root/results:/results', '-e HF_TOKEN', '-e DSTACK_NODE_RANK', '--network host', '--gpus all', '-w /workflow']) expect(pairs).toContain(p)
    expect(args).not.toContain(expect.stringContaining('HF_TOKEN='))
  })

  test('no Docker engine: the run fails early and says what to do', () => {
    const r = runModules(['settings.sh', 'container.sh'], 'job_command', { plan, vars, standIns: failEarly + nodeEnv + 'docker() { echo "Cannot connect to the Docker daemon" >&2; return 1; }' })
    expect(r.code).toBe(9)
    expect(r.stdout).toContain('(`docker info` failed: Cannot connect to the Docker daemon; start the Docker engine')
  })

  test('the registry of an image reference; the credentials leave the environment', () => {
    const r = runModules(['settings.sh', 'container.sh'], 'for i in ghcr.io/a/b:1 localhost:5000/x ubuntu:22.04 acme/train; do printf "[%s]" "$(registry_of "$i")"; done; printf "\\n%s|%s" "$REG_USER" "${DSTACK_REGISTRY_PASSWORD:-gone}"', {
      plan,
      vars,
      env: { DSTACK_REGISTRY_USERNAME: 'bot', DSTACK_REGISTRY_PASSWORD: 'pw' }
    })
    expect(r.stdout).toBe('[ghcr.io][localhost:5000][][]\nbot|gone')
  })

  test('the job\'s environment: everything but the pass-through list, the secrets and LC_* is unset', () => {
    const r = runModules(['settings.sh', 'container.sh'], 'NODE_ENV_NAMES=(); job_env_unset; printf "%s " "${JOB_ENV_UNSET[@]}"', { plan, vars, env: { INPUT_TOKEN: 'x', HF_TOKEN: 's', LC_ALL: 'C' } })
    const unset = r.stdout.trim().split(' ')
    expect(unset).toContain('INPUT_TOKEN')
    expect(unset).not.toContain('HF_TOKEN')
    expect(unset).not.toContain('LC_ALL')
    expect(unset).not.toContain('PATH')
  })
})

describe('artifacts.sh', () => {
  const plan = (dir: string) => makePlan({ kind: 'folder', root: `${dir}/store` }, { artifacts: [{ path: 'model', mount: false }, { path: 'missing', mount: false }, { path: 'escape', mount: false }] })
  const store = 'store_put() { mkdir -p "$(dirname "$T/store/$2")" && cp "$1" "$T/store/$2"; }\nstore_put_small() { store_put "$@"; }\nstore_put_tree() { local f; while IFS= read -r -d "" f; do store_put "$f" "$2/${f#"$1"/}" || return 1; done < <(artifact_files "$1"); }\n'
  const vars = { CODE_DIR: '', RUNNER_DIR: '', ROOT_DIR: '/nonexistent', JOB_OUT_DIR: '/nonexistent', ARTIFACTS_PREFIX: 'run/artifacts', LOG_FILE: '/dev/null' }
  const setup = 'CODE_DIR="$T/code"; RUNNER_DIR="$T/runner"; mkdir -p "$CODE_DIR/model/sub" "$RUNNER_DIR" "$T/outside"\nprintf w >"$CODE_DIR/model/weights"; printf "é" >"$CODE_DIR/model/sub/a b"; ln -s /etc "$CODE_DIR/model/etc"; ln -s "$T/outside" "$CODE_DIR/escape"\n'

  test('upload_artifacts stores the regular files and a manifest of their sizes and sha256; links and missing paths are noted', () => {
    const r = runModules(['settings.sh', 'artifacts.sh'], setup + 'upload_artifacts; echo "rc $?"; printf "%s\\n" "${NOTES[@]}"', { plan, vars, standIns: store })
    expect(r.stdout.split('\n')).toEqual([
      'rc 0',
      'artifact `model`: 1 symbolic link(s) not stored (symlinks are never followed): model/etc',
      'artifact `escape` was not stored: it is a symbolic link (to ' + `${r.dir}/outside); symlinks are not stored`,
      'artifact path(s) not found after the job: missing (nothing uploaded for them)',
      ''
    ])
    const manifest = JSON.parse(readFileSync(`${r.dir}/store/${runPrefix()}/artifacts.json`, 'utf8'))
    expect(manifest).toEqual([
      { path: 'model/sub/a b', size: 2, sha256: sha256('é') },
      { path: 'model/weights', size: 1, sha256: sha256('w') }
    ])
    expect(readFileSync(`${r.dir}/store/run/artifacts/model/sub/a b`, 'utf8')).toBe('é')
    expect(existsSync(`${r.dir}/store/run/artifacts/model/etc`)).toBe(false)
  })

  test('a path under a linked folder resolves outside the base and is refused', () => {
    const r = runModules(['settings.sh', 'artifacts.sh'], setup + 'mkdir -p "$T/outside/d"; artifact_refusal "$CODE_DIR/escape/d"', { plan, vars, standIns: store })
    expect(r.stdout).toBe(`it resolves to ${r.dir}/outside/d, outside the working folder, through a symbolic link`)
  })
})

describe('fetch.sh', () => {
  const vars = { RUNNER_DIR: '', CODE_DIR: '', LOG_FILE: '/dev/null', ROOT_DIR: '/nonexistent', JOB_DIR: '' }
  const store = 'store_get_fast() { cp "$T/store/$1" "$2"; }\nstore_get() { cp "$T/store/$1" "$2"; }\n'
  const snapshot = 'RUNNER_DIR="$T/runner"; CODE_DIR="$T/code"; mkdir -p "$RUNNER_DIR" "$CODE_DIR" "$T/src" "$T/store/code"\nprintf hi >"$T/src/app.py"; tar -czf "$T/store/$CODE_KEY" -C "$T/src" .\n'

  test('the code snapshot is unpacked only when its sha256 is the one the CI sent', () => {
    const ok = runModules(['settings.sh', 'fetch.sh'], snapshot + 'CODE_SHA256=$(sha256sum <"$T/store/$CODE_KEY" | cut -d" " -f1); fetch_code; cat "$CODE_DIR/app.py"', { vars, standIns: failEarly + store })
    expect(ok.stdout).toBe('hi')
    const changed = runModules(['settings.sh', 'fetch.sh'], snapshot + 'fetch_code; echo unpacked', { vars, standIns: failEarly + store })
    expect(changed.code).toBe(9)
    expect(changed.stdout).toMatch(/^fail_early: the code snapshot code\/a{64}\.tar\.gz in the store has sha256 [0-9a-f]{64}, not a{64} as sent by the CI: it was changed after upload/)
  })

  test('place_file never passes through a symbolic link in the working folder', () => {
    const r = runModules(['settings.sh', 'fetch.sh'], 'mkdir -p "$T/job" "$T/elsewhere"; ln -s "$T/elsewhere" "$T/job/data"; printf x >"$T/f"; place_file "$T/f" "$T/job" data/x.csv || echo " refused"; ls "$T/elsewhere" | wc -l', { vars, standIns: failEarly + store })
    expect(r.stdout).toBe('data is a symbolic link refused\n0\n')
    expect(statSync(`${r.dir}/f`).isFile()).toBe(true)
  })
})
