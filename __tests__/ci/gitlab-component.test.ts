/**
 * The GitLab component (templates/run.yml) executed by gitlab-ci-local with the shell executor,
 * as a project includes it (`component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/run@$CI_COMMIT_SHA`, the
 * local form of `gitlab.com/dstack/run-action/run@1`): it installs the CLI of its own commit
 * ($[[ component.sha ]]) from `tool-repository` (here a file:// URL of the same repository, which
 * holds the committed dist/), its dotenv outputs reach a later job through `needs:`, a failing run
 * fails the job, and a failed install says what failed and how to set `tool`.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { cpSync, mkdirSync, mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo, git } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const GCL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js')
const haveDist = existsSync(join(ROOT, 'dist/cli.js'))

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "args:" \${{ run.args }}
      - echo "env:" "$LR" "$NOTE"
  - name: broken
    provider: bash
    commands:
      - exit 4
`

function pipeline(inputs: Record<string, string>): string {
  const lines = Object.entries(inputs).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
  return `stages: [test, report]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/run@$CI_COMMIT_SHA
    inputs:
      job-name: dstack-train
${lines.join('\n')}
consumer:
  stage: report
  needs: [dstack-train]
  script:
    - echo "consumer got run=$DSTACK_RUN_NAME status=$DSTACK_STATUS exit=$DSTACK_EXIT_CODE reason=$DSTACK_REASON attempts=$DSTACK_ATTEMPTS"
`
}

let store: string
const installs: string[] = []
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), 'gl-store-'))
})
afterAll(() => {
  rmSync(store, { recursive: true, force: true })
  for (const d of installs) rmSync(d, { recursive: true, force: true })
})

/** a project whose repository also holds this component (templates/, dist/): it includes itself at HEAD */
async function gitlabCiLocal(inputs: Record<string, string>, opts: { withDist?: boolean } = {}) {
  const repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  mkdirSync(join(repo.dir, 'templates'))
  cpSync(join(ROOT, 'templates/run.yml'), join(repo.dir, 'templates/run.yml'))
  if (opts.withDist !== false) {
    cpSync(join(ROOT, 'dist'), join(repo.dir, 'dist'), { recursive: true })
    cpSync(join(ROOT, 'package.json'), join(repo.dir, 'package.json'))
  }
  const ci = pipeline({ store, ...inputs }).replaceAll('@REPO@', repo.dir)
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(repo.dir, '.gitlab-ci.yml'), ci)
  git(repo.dir, 'add', '-A')
  git(repo.dir, 'commit', '-qm', 'ci')
  const sha = git(repo.dir, 'rev-parse', 'HEAD')
  installs.push(join(tmpdir(), `dstack-run-${sha}`))
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const r = await run(process.execPath, [GCL, '--force-shell-executor', '--no-color'], { cwd: repo.dir, env, timeoutMs: 240_000 })
  repo.cleanup()
  return { ...r, text: r.stdout + r.stderr, sha }
}

describe('templates/run.yml', () => {
  it('is valid YAML with unique keys, and has the inputs the action has for metrics and the check mode', () => {
    // the yaml library refuses duplicate keys (GitLab silently keeps the last one)
    const [spec, job] = parseAllDocuments(readFileSync(join(ROOT, 'templates/run.yml'), 'utf8')).map((d) => {
      if (d.errors.length) throw d.errors[0]
      return d.toJS() as Record<string, unknown>
    })
    const inputs = (spec as { spec: { inputs: Record<string, { options?: string[] }> } }).spec.inputs
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(['lower-is-better', 'higher-is-better']))
    expect(inputs.mode!.options).toEqual(['run', 'start', 'attach', 'reconcile', 'check', 'cleanup'])
    const j = Object.values(job!)[0] as { variables: Record<string, string>; script: string[] }
    // the detached modes (docs/long-runs.md): attach and reconcile are CLI verbs; start is `run --detach`
    expect(j.variables.DSTACK_IN_RUN).toBe('$[[ inputs.run ]]')
    expect(j.script.join('\n')).toMatch(/"\$\{DSTACK_CLI\[@\]\}" attach "\$\{target\[@\]\}" "\$\{opts\[@\]\}"/)
    expect(j.script.join('\n')).toContain('[ "$DSTACK_IN_MODE" = start ] && opts+=(--detach)')
    expect(j.variables.DSTACK_IN_LOWER_IS_BETTER).toBe('$[[ inputs.lower-is-better ]]')
    expect(j.script.join('\n')).toMatch(/"\$\{DSTACK_CLI\[@\]\}" check "\$\{opts\[@\]\}"/)
  })
})

const maybe = haveDist ? it : it.skip
describe('the GitLab component under gitlab-ci-local', () => {
  maybe('installs its own version, runs the workflow and hands every output to a later job', async () => {
    const r = await gitlabCiLocal({
      workflow: 'train',
      'tool-repository': 'file://@REPO@',
      args: "--epochs 3 'two words'",
      env: 'LR=0.1\nNOTE=a b',
      // options of the CLI: were one unknown, it would reach the workflow's arguments
      'lower-is-better': 'val_*',
      'higher-is-better': 'acc*',
      'store-region': 'us-east-1'
    })
    expect(r.text).toMatch(new RegExp(`dstack-run \\d+\\.\\d+\\.\\d+ \\(component run@${r.sha}, commit ${r.sha.slice(0, 12)}\\)`))
    expect(r.text).toMatch(/args: --epochs 3 two words\r?\n/)
    expect(r.text).toContain('env: 0.1 a b')
    // DSTACK_REASON has spaces: GitLab's dotenv keeps them (no quoting), so it reaches the consumer
    expect(r.text).toMatch(/consumer got run=[a-z]+-[a-z]+-\d+ status=succeeded exit=0 reason=all commands exited with 0 attempts=1/)
    expect(r.text).toMatch(/PASS\s+dstack-train/)
    expect(r.code).toBe(0)
  }, 300_000)

  maybe('fails the job when the run fails', async () => {
    const r = await gitlabCiLocal({ workflow: 'broken', tool: `node ${ROOT}/dist/cli.js` }, { withDist: false })
    expect(r.text).toMatch(/FAIL\s+\d*\s*dstack-train/)
    expect(r.code).not.toBe(0)
  }, 300_000)

  it('says what failed and how to set `tool` when it cannot install itself', async () => {
    const r = await gitlabCiLocal({ workflow: 'train', 'tool-repository': 'file:///nonexistent/run-action.git' }, { withDist: false })
    expect(r.text).toContain('dstack-run: could not install the CLI of this component')
    expect(r.text).toContain('from file:///nonexistent/run-action.git')
    expect(r.text).toMatch(/anonymously: .*nonexistent/)
    expect(r.text).toContain('set input tool to a command that runs dstack-run')
    expect(r.text).toMatch(/FAIL\s+\d*\s*dstack-train/)
    expect(r.code).not.toBe(0)
  }, 300_000)
})
