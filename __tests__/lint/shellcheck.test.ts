/**
 * ShellCheck (Debian's package; scripts/install-prereqs.sh installs it) over every shell text the
 * project ships or renders: the runner's modules one by one (src/runner/body/.shellcheckrc says what
 * a module alone cannot know), the rendered runner, job, bootstrap and stop scripts of sample runs,
 * scripts/*.sh and .ci/run, and the shell of the GitLab component and of the CI examples and
 * workflows. No warning or error may be left; notes may stay, and one silenced says why beside it.
 */
import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { renderJobScript, renderRunnerScript } from '../../src/runner/render.js'
import { RUNNER_MODULES } from '../../src/runner/body.generated.js'
import { renderBootstrap, renderStopScript } from '../../src/backends/aws/bootstrap.js'
import type { RunnerPlan } from '../../src/runner/plan.js'
import { makePlan, REPO } from '../runner/fixture.js'

const ROOT = process.cwd()

/** ShellCheck's warnings and errors, one `line:col: level: message [SCnnnn]` each (notes left out) */
function shellcheck(args: string[], input?: string): string[] {
  const r = spawnSync('shellcheck', ['--severity=warning', '--format=gcc', ...args], { cwd: ROOT, encoding: 'utf8', input })
  if (r.error) throw new Error(`shellcheck could not run (${r.error.message}): install it with scripts/install-prereqs.sh`)
  if (r.status !== 0 && r.stdout === '') throw new Error(`shellcheck failed: ${r.stderr}`)
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/^[^:]*:/, ''))
}
/** a rendered text: read from stdin as bash, without any .shellcheckrc */
const checkText = (text: string): string[] => shellcheck(['--norc', '--shell=bash', '-'], text)

describe('the runner', () => {
  test.each(RUNNER_MODULES.map((m) => [m]))('module %s, alone', (m) => {
    expect(shellcheck([`src/runner/body/${m}`])).toEqual([])
  })

  const sha = (c: string): string => c.repeat(64)
  const plans: [string, RunnerPlan][] = [
    [
      'S3, a private image, secrets, deps, checkpoints and an absolute artifact',
      makePlan(
        { kind: 's3', bucket: 'my-runs', prefix: 'ml/', region: 'eu-west-1', endpoint: 'https://s3.example.test' },
        {
          image: 'ghcr.io/acme/train:1',
          registryAuth: true,
          entrypoint: '/bin/bash -lc',
          setup: ['pip install -r requirements.txt'],
          commands: ['python train.py --epochs "$EPOCHS" ${{ run.args }}', 'echo "${{ run.name }} done" > /results/summary.txt'],
          args: ['--lr', "0.1 'quoted'"],
          env: { EPOCHS: '3' },
          secretEnvNames: ['HF_TOKEN', 'WANDB_API_KEY'],
          artifacts: [{ path: 'checkpoints', mount: true }, { path: 'model', mount: false }, { path: '/results', mount: false }],
          rootPaths: ['/results'],
          deps: [{ label: 'prepare', artifactsPrefix: `${REPO}/runs/calm-owl-2/artifacts`, manifestKey: `${REPO}/runs/calm-owl-2/artifacts.json`, manifestSha256: sha('b'), files: [{ path: 'data/train.csv', sha256: sha('c') }] }]
        },
        { selfDestruct: true, spotWatch: true, ownsMachine: true, workRoot: '/opt/dstack/work/abc' }
      )
    ],
    [
      'a folder store, node groups started workers first, python on the host',
      makePlan(
        { kind: 'folder', root: '/srv/store' },
        {
          python: '3.11',
          workingDir: 'src',
          nodes: { count: 3, startupOrder: 'workers-first', groups: [{ name: 'master', nodes: 1, commands: ['torchrun --nnodes "$DSTACK_NODES_NUM" train.py'] }, { name: 'workers', nodes: 2, commands: ['python worker.py --rank "$DSTACK_NODE_RANK"'] }] },
          artifacts: [{ path: 'out', mount: false }]
        }
      )
    ]
  ]

  test.each(plans)('rendered for a run with %s', (_name, plan) => {
    expect(checkText(renderRunnerScript(plan))).toEqual([])
  })

  test.each(plans)('the job script of a run with %s', (_name, plan) => {
    expect(checkText(renderJobScript(plan))).toEqual([])
  })
})

describe('the EC2 bootstrap', () => {
  const base = { bucket: 'my-runs', scriptKey: `ml/${REPO}/runs/wise-cat-1/attempts/1/runner.sh`, scriptSha256: 'd'.repeat(64), s3Region: 'eu-west-1', region: 'eu-west-1' }
  test.each([
    ['one node', base],
    ['one node with secrets and an endpoint', { ...base, s3Endpoint: 'https://s3.example.test', secretParameter: '/dstack/abc/wise-cat-1/1/env' }],
    ['a cluster with secrets', { ...base, secretParameter: '/dstack/abc/wise-cat-1/1/env', cluster: { instanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'], privateIps: ['10.0.0.1', '10.0.0.2'], gpusPerNode: [8, 8] } }]
  ])('%s', (_name, input) => {
    expect(checkText(renderBootstrap(input).join('\n') + '\n')).toEqual([])
  })

  test('the stop script', () => {
    expect(checkText(renderStopScript().join('\n') + '\n')).toEqual([])
  })
})

describe('the scripts', () => {
  const files = [...readdirSync(`${ROOT}/scripts`).filter((f) => f.endsWith('.sh')).map((f) => `scripts/${f}`), '.ci/run']
  test.each(files.map((f) => [f]))('%s', (f) => {
    expect(shellcheck([f])).toEqual([])
  })
})

/**
 * The shell of a CI file, one text per shell the CI starts: a GitLab job's before_script and script
 * (one shell), its after_script (another); each `run:` step of a GitHub workflow. GitLab puts an
 * input's value (`$[[ inputs.x ]]`) and GitHub an expression's (`${{ … }}`) into the text before the
 * shell runs: a variable stands for each here.
 */
function ciShell(file: string): [string, string][] {
  const out: [string, string][] = []
  const text = (lines: unknown[]): string =>
    lines
      .flat(9)
      .map(String)
      .join('\n')
      .replace(/\$\[\[\s*([a-z.-]+)\s*\]\]/g, (_m, n: string) => `\${CI_INPUT_${n.replace(/[.-]/g, '_').toUpperCase()}}`)
      .replace(/\$\{\{[^}]*\}\}/g, '${CI_EXPRESSION}') + '\n'
  for (const doc of parseAllDocuments(readFileSync(`${ROOT}/${file}`, 'utf8'))) {
    const d = doc.toJS() as Record<string, Record<string, unknown>> | null
    if (!d || typeof d !== 'object') continue
    for (const [name, job] of Object.entries(d)) {
      if (!job || typeof job !== 'object') continue
      const script = [job.before_script ?? [], job.script ?? []].flat()
      if (Array.isArray(job.script)) out.push([`${name} script`, text(script)])
      if (Array.isArray(job.after_script)) out.push([`${name} after_script`, text(job.after_script)])
      if (name === 'jobs')
        for (const [jobName, j] of Object.entries(job as Record<string, { steps?: { name?: string; run?: string }[] }>))
          (j.steps ?? []).forEach((s, i) => s.run && out.push([`${jobName} step ${s.name ?? i + 1}`, text([s.run])]))
    }
  }
  return out
}

describe('the shell in CI files', () => {
  const files = ['templates/run.yml', '.gitlab-ci.yml', ...readdirSync(`${ROOT}/.github/workflows`).map((f) => `.github/workflows/${f}`), ...readdirSync(`${ROOT}/examples/github`).map((f) => `examples/github/${f}`), ...readdirSync(`${ROOT}/examples/gitlab`).map((f) => `examples/gitlab/${f}`)]
  const cases = files.flatMap((f) => ciShell(f).map(([where, text]) => [`${f}: ${where}`, text] as [string, string]))

  test('are found: the component has a script and an after_script', () => {
    expect(cases.map(([w]) => w)).toEqual(expect.arrayContaining([expect.stringMatching(/^templates\/run\.yml: .* script$/), expect.stringMatching(/^templates\/run\.yml: .* after_script$/)]))
  })

  test.each(cases)('%s', (_where, text) => {
    expect(checkText(text)).toEqual([])
  })
})
