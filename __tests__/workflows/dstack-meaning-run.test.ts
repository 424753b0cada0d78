/**
 * The behaviour cases of dstack's meaning, run for real: the CLI, the local backend executing the
 * runner script with bash, a folder store. What each job prints is what dstack's job would see.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, cli, repoWith, runDir, runNameOf, tempDir } from '../hostile/cli-harness.js'

afterAll(cleanup)

function logOf(store: string, run: string): string {
  const dir = join(runDir(store, run), 'attempts', '1', 'logs')
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
}

const environ = { PATH: process.env.PATH, HOME: process.env.HOME, HF_TOKEN: 'from-ci' }

describe('0.x workflows run with 0.x meaning', () => {
  it('`ports: 2` exports $PORT_0 and $PORT_1, a bare env name is exported empty, ${{ run.name }} in an artifact path is the run', async () => {
    const repo = repoWith({
      '.dstack/workflows.yaml': [
        'workflows:',
        '  - name: app',
        '    provider: bash',
        '    ports: 2',
        '    env:',
        '      - HF_TOKEN',
        '    commands:',
        '      - echo "ports=$PORT_0,$PORT_1"',
        '      - echo "token=[${HF_TOKEN-unset}]"',
        '      - mkdir -p "output/$DSTACK_RUN_NAME" && echo "$PORT_0" > "output/$DSTACK_RUN_NAME/port.txt"',
        "      - echo 'dollar=$$5'",
        '    artifacts:',
        '      - path: output/${{ run.name }}',
        ''
      ].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'app', '--store', store], environ)
    expect(r.code).toBe(0)
    const run = runNameOf(r)
    const log = logOf(store, run)
    const m = /ports=(\d+),(\d+)\n/.exec(log)
    expect(m).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(0)
    expect(m![1]).not.toBe(m![2])
    // 0.x `Provider._env`: a bare name is `export NAME=`, whatever the CI environment holds
    expect(log).toContain('token=[]\n')
    // 0.x's interpolator: `$$` is an escaped `$`
    expect(log).toContain('dollar=$5\n')
    const stored = join(runDir(store, run), 'artifacts', 'output', run, 'port.txt')
    expect(existsSync(stored)).toBe(true)
    expect(readFileSync(stored, 'utf8').trim()).toBe(m![1])
    const record = JSON.parse(readFileSync(join(runDir(store, run), 'run.json'), 'utf8')) as { spec: { artifacts: { path: string }[] } }
    expect(record.spec.artifacts).toEqual([{ path: `output/${run}`, mount: false }])
  })
})

describe('current tasks run with dstack\'s meaning', () => {
  it('`$$` is `$` in commands and env values; a bare env name comes from the environment', async () => {
    const repo = repoWith({
      'train.dstack.yml': [
        'type: task',
        'name: dollars',
        'env:',
        '  - PRICE=$$5',
        '  - HF_TOKEN',
        'commands:',
        "  - echo 'cmd=$$HOME'",
        '  - echo "env=$PRICE token=$HF_TOKEN"',
        ''
      ].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'dollars', '--store', store], environ)
    expect(r.code).toBe(0)
    const log = logOf(store, runNameOf(r))
    expect(log).toContain('cmd=$HOME\n')
    expect(log).toContain('env=$5 token=***\n')
  })
})

describe('commands joined as dstack joins them (` && `, no `set -e` inside an entry)', () => {
  it('every line of a multi-line entry runs, the entry\'s status is its last line\'s, and a failing entry stops the job', async () => {
    const repo = repoWith({
      'train.dstack.yml': [
        'type: task',
        'name: joined',
        'commands:',
        '  - |',
        '    false',
        '    echo "after a failing line"',
        '  - echo second',
        '  - |',
        '    echo third',
        '    exit 7',
        '  - echo never',
        ''
      ].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'joined', '--store', store], environ)
    expect(r.code).toBe(7)
    const run = /run (\S+) failed/.exec(r.err)![1]!
    const log = logOf(store, run)
    expect(log).toContain('after a failing line\nsecond\nthird\n')
    expect(log).not.toContain('never')
  })
})

describe('the job\'s environment as dstack sets it', () => {
  it('DSTACK_WORKING_DIR is where the job starts, DSTACK_REPO_DIR the repository, DSTACK_RUN_ID a stable UUID', async () => {
    const repo = repoWith({
      'src/main.py': 'print(1)\n',
      'train.dstack.yml': [
        'type: task',
        'name: where',
        'working_dir: src',
        'commands:',
        '  - echo "wd=$DSTACK_WORKING_DIR repo=$DSTACK_REPO_DIR id=$DSTACK_RUN_ID"',
        '  - test "$DSTACK_WORKING_DIR" = "$PWD" && test -f "$DSTACK_REPO_DIR/src/main.py" && test -f "$DSTACK_REPO_DIR/train.dstack.yml"',
        ''
      ].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'where', '--store', store], environ)
    expect(r.code).toBe(0)
    const log = logOf(store, runNameOf(r))
    const m = /wd=(\S+) repo=(\S+) id=(\S+)\n/.exec(log)
    expect(m).not.toBeNull()
    expect(m![1]).toBe(`${m![2]}/src`)
    expect(m![3]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('DSTACK_RUN_NAME is the configured `name` (dstack\'s run name), DSTACK_JOB_ID a UUID of the job; `shell: sh` runs the commands with /bin/sh', async () => {
    const repo = repoWith({
      'train.dstack.yml': [
        'type: task',
        'name: named-run',
        'shell: sh',
        'commands:',
        '  - echo "name=$DSTACK_RUN_NAME job=$DSTACK_JOB_ID run=$DSTACK_RUN_ID"',
        '  - echo "bash=[${BASH_VERSION:-}]"',
        ''
      ].join('\n'),
      'plain.dstack.yml': ['type: task', 'commands:', '  - echo "name=$DSTACK_RUN_NAME bash=[${BASH_VERSION:+yes}]"', ''].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'named-run', '--store', store], environ)
    expect(r.code).toBe(0)
    const log = logOf(store, runNameOf(r))
    const m = /name=(\S+) job=(\S+) run=(\S+)\n/.exec(log)
    expect(m).not.toBeNull()
    expect(m![1]).toBe('named-run')
    expect(m![2]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{8}0000$/)
    expect(m![2]).not.toBe(m![3])
    // dstack's `_shell()`: `sh` is /bin/sh, which is not bash
    expect(log).toContain('bash=[]\n')
    // no `name`: dstack's run name is a generated one (here the run's), and the commands run with bash
    const r2 = await cli(repo, ['run', 'plain', '--store', store], environ)
    expect(r2.code).toBe(0)
    expect(logOf(store, runNameOf(r2))).toContain(`name=${runNameOf(r2)} bash=[yes]\n`)
  })
})

describe('an image task with a stand-in `docker` that records its argv', () => {
  let rec: string
  let bin: string
  beforeAll(() => {
    rec = tempDir('docker-rec-')
    bin = tempDir('fakebin-')
    writeFileSync(join(bin, 'docker'), `#!/usr/bin/env bash
case "$1" in
  info|pull|logout|login) exit 0 ;;
  image) exit 1 ;;
  run) shift; printf '%s\\n' "$@" > ${rec}/run-args; exit 0 ;;
esac`)
    chmodSync(join(bin, 'docker'), 0o755)
  })
  const withDocker = () => ({ ...environ, PATH: `${bin}:${process.env.PATH}` })
  const argv = () => readFileSync(join(rec, 'run-args'), 'utf8').split('\n').slice(0, -1)

  it('entrypoint is shlex.split(entrypoint) + commands, each command one argument; shm_size is --shm-size; env is the container\'s', async () => {
    const repo = repoWith({
      'serve.dstack.yml': [
        'type: task',
        'name: serve',
        'image: ghcr.io/acme/server:1',
        'entrypoint: python -c "import sys; print(sys.argv)"',
        'env:',
        "  - GREETING=hello world",
        'commands:',
        '  - --flag',
        "  - two words ${{ run.args }}",
        'resources:',
        '  shm_size: 16GB',
        ''
      ].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'serve', '--store', store, '--', 'a b', 'c'], withDocker())
    expect(r.code).toBe(0)
    const args = argv()
    // dstack: Memory.parse("16GB") = 16 GiB → 16384 MiB
    expect(args[args.indexOf('--shm-size') + 1]).toBe('16384m')
    expect(args[args.indexOf('GREETING=hello world') - 1]).toBe('-e')
    const at = args.indexOf('--entrypoint')
    expect(args.slice(at)).toEqual(['--entrypoint', 'python', 'ghcr.io/acme/server:1', '-c', 'import sys; print(sys.argv)', '--flag', "two words 'a b' c"])
  })

  it.each([
    ['no `shell`: a custom image runs the commands with /bin/sh', [], '/bin/sh'],
    ['`shell: bash` is /bin/bash', ['shell: bash'], '/bin/bash'],
    ['`shell: /usr/bin/zsh` is that path', ['shell: /usr/bin/zsh'], '/usr/bin/zsh']
  ])('%s (dstack\'s `_shell()`)', async (_what, lines, shell) => {
    const repo = repoWith({
      'job.dstack.yml': ['type: task', 'name: in-image', 'image: alpine:3', ...lines, 'commands:', '  - echo hi', ''].join('\n')
    })
    const store = tempDir('meaning-store-')
    const r = await cli(repo, ['run', 'in-image', '--store', store], withDocker())
    expect(r.code).toBe(0)
    const args = argv()
    const at = args.indexOf('--entrypoint')
    expect(args.slice(at)).toEqual(['--entrypoint', shell, 'alpine:3', '/dstack-runner/job.sh'])
  })
})
