/** The pure renderer: quoting, validation, and that every variant is valid bash. */
import { describe, expect, test, afterAll } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderRunnerScript, renderJobScript, interpolateCommand } from '../../src/runner/render.js'
import { shellQuote } from '../../src/runner/quote.js'
import { RUNNER_BODY } from '../../src/runner/body.generated.js'
import { spawnSync } from 'node:child_process'
import { makePlan, removeTempDirs, tempDir } from './fixture.js'
import type { StoreLocation } from '../../src/model/index.js'

const folder: StoreLocation = { kind: 'folder', root: '/srv/store' }
const s3: StoreLocation = { kind: 's3', bucket: 'my-runs', prefix: 'ml/', region: 'eu-west-1', endpoint: 'https://s3.example.test' }

// no S3 server in this file, so a synchronous child is fine
async function bashN(script: string): Promise<void> {
  const f = join(tempDir('render-'), 'runner.sh')
  writeFileSync(f, script)
  const r = spawnSync('bash', ['-n', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
}

describe('shellQuote', () => {
  const values = ["it's", '$(touch /tmp/x)', '`id`', 'a;b', 'line1\nline2', '', ' lead', "'''", '\\', '"dq"', '${HOME}', '*', '!event']
  test('bash reads every value back literally', async () => {
    const script = values.map((v) => `printf '%s\\0' ${shellQuote(v)}`).join('\n')
    const r = spawnSync('bash', ['-s'], { input: script, encoding: 'utf8' })
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(values)
  })
  test('rejects NUL', () => {
    expect(() => shellQuote('a\u0000b')).toThrow(/NUL/)
  })
})

describe('interpolateCommand', () => {
  test('args and the name become references to variables, never their text', () => {
    expect(interpolateCommand('python t.py ${{ run.args }} --name ${{run.name}}', ['a b', "c'd"], 'wise-cat-1')).toBe(
      'python t.py "${DSTACK_ARGS[@]}" --name "${DSTACK_RUN_NAME}"'
    )
    expect(() => interpolateCommand('x', [], 'bad;name')).toThrow(/run name/)
  })
})

describe('renderRunnerScript', () => {
  test('is valid bash for folder and s3 stores, image, deps, mounts, spot and self-destruct', async () => {
    await bashN(renderRunnerScript(makePlan(folder)))
    await bashN(
      renderRunnerScript(
        makePlan(
          s3,
          {
            image: 'nvcr.io/nvidia/pytorch:24.01-py3',
            entrypoint: '/bin/bash -c',
            python: '3.11',
            deps: [{ label: 'tag `data`', artifactsPrefix: 'github.com/acme/data/runs/old-dog-3/artifacts/', files: [{ path: 'd/x.csv', sha256: 'f'.repeat(64) }] }],
            artifacts: [{ path: './ckpt/', mount: true }, { path: 'model.bin', mount: false }],
            setup: ['pip install -r requirements.txt'],
            commands: ['if true; then\n  echo multi\nfi', 'python train.py ${{ run.args }}'],
            secretEnvNames: ['HF_TOKEN'],
            env: { A: "x'y" },
            workingDir: 'src/./ml/'
          },
          { selfDestruct: true, spotWatch: true }
        )
      )
    )
  })

  test('starts with the shebang and set -uo pipefail; HOME, PATH and LANG are exported; the body follows the header', () => {
    const s = renderRunnerScript(makePlan(folder))
    expect(s.startsWith('#!/usr/bin/env bash\n')).toBe(true)
    expect(s).toContain('\nset -uo pipefail\n')
    expect(s).toContain('export HOME="${HOME:-/root}"')
    expect(s).toMatch(/export PATH=.*\/usr\/bin/)
    expect(s).toContain('export LANG=')
    expect(s.endsWith(RUNNER_BODY)).toBe(true)
  })

  test('s3 values, normalised paths and flags land in the header, quoted', () => {
    const s = renderRunnerScript(
      makePlan(s3, { workingDir: 'src/./ml/', artifacts: [{ path: './ckpt/', mount: true }], runPrefix: 'github.com/acme/models/runs/wise-cat-1/' }, { selfDestruct: true, spotWatch: true, logIntervalSec: 3 })
    )
    expect(s).toContain("S3_BUCKET='my-runs'\nS3_PREFIX='ml'\nS3_REGION='eu-west-1'\nDEFAULT_S3_ENDPOINT='https://s3.example.test'")
    expect(s).toContain("RUN_PREFIX='github.com/acme/models/runs/wise-cat-1'\n")
    expect(s).toContain("WORKING_DIR='src/ml'")
    expect(s).toContain("ARTIFACT_PATHS=('ckpt')\nARTIFACT_MOUNTS=('1')")
    expect(s).toContain('SELF_DESTRUCT=1\nSPOT_WATCH=1\nDEFAULT_LOG_INTERVAL=3')
  })

  test('secrets: names only, checked at start', () => {
    const s = renderRunnerScript(makePlan(folder, { secretEnvNames: ['HF_TOKEN', 'AWS_KEY'] }))
    expect(s).toContain("SECRET_NAMES=('AWS_KEY' 'HF_TOKEN')")
  })

  test('the job script exports env single-quoted, marks each step, and uses set -e', () => {
    const job = renderJobScript(makePlan(folder, { env: { B: 'v$(x)', A: "it's" }, setup: ['s1'], commands: ['c1', 'c2 ${{ run.args }}'], args: ['--x=1 2'] }))
    expect(job).toContain('\nset -e\n')
    expect(job).toContain("export A='it'\\''s'\nexport B='v$(x)'\n")
    expect(job).toContain("export DSTACK_RUN_NAME='wise-cat-1'")
    expect(job.indexOf("__dstack_step '`setup[1]` (s1)'")).toBeLessThan(job.indexOf("__dstack_step '`commands[1]` (c1)'"))
    expect(job).toContain("set -- '--x=1 2'\n# shellcheck disable=SC2034 # for the commands that reference it\nDSTACK_ARGS_TEXT='--x=1 2'\n")
    expect(job).toContain('c2 "${DSTACK_ARGS[@]}"\n')
  })

  test.each([
    ['run name', { runName: 'a;b' }, /run name/],
    ['workflow', { workflow: '$(x)' }, /workflow name/],
    ['repo id', { repoId: 'github.com/../x' }, /repository id/],
    ['env name', { env: { 'A-B': '1' } }, /env name/],
    ['reserved env', { env: { DSTACK_RUN_NAME: '1' } }, /reserved/],
    ['secret name', { secretEnvNames: ['X Y'] }, /secret env name/],
    ['artifact', { artifacts: [{ path: '../etc', mount: false }] }, /artifact path/],
    ['working dir', { workingDir: '/abs/../etc' }, /working_dir/],
    ['absolute artifact', { artifacts: [{ path: '/opt/../etc', mount: false }] }, /artifact path/],
    ['artifact under _root', { artifacts: [{ path: '_root/x', mount: false }] }, /_root/],
    ['root path', { rootPaths: ['/'] }, /absolute artifact path/],
    ['registry env name', { env: { DSTACK_REGISTRY_PASSWORD: '1' } }, /reserved/],
    ['code key', { codeKey: '../x' }, /code key/],
    ['run prefix (a file key)', { runPrefix: 'github.com/acme/models/runs/wise-cat-1/run.json' }, /runPrefix must be the run's folder key/],
    ['run prefix (another run)', { runPrefix: 'github.com/acme/models/runs/other-1' }, /runPrefix/],
    ['dep prefix', { deps: [{ label: 'x', artifactsPrefix: 'a/../../b', files: [] }] }, /dependency/],
    ['arg with NUL', { args: ['a\u0000'] }, /NUL/],
    ['max duration', { maxDurationSec: 0 }, /maxDurationSec/]
  ])('rejects an invalid %s', (_n, over, re) => {
    expect(() => renderRunnerScript(makePlan(folder, over as never))).toThrow(re)
  })

  test('is pure: the same plan renders the same text', () => {
    expect(renderRunnerScript(makePlan(s3))).toBe(renderRunnerScript(makePlan(s3)))
  })
})

afterAll(() => removeTempDirs())
