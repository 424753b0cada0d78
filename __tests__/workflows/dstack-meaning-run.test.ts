/**
 * The behaviour cases of dstack's meaning, run for real: the CLI, the local backend executing the
 * runner script with bash, a folder store. What each job prints is what dstack's job would see.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
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
