/**
 * The GitLab component (templates/run.yml) executed by gitlab-ci-local with the shell executor,
 * as a project would include it: its job runs the committed CLI (dist/cli.js), its dotenv outputs
 * reach a later job through `needs:`, and a failing run fails the job.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo, git } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const GCL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js')
const haveDist = existsSync(join(ROOT, 'dist/cli.js'))

function pipeline(workflow: string, store: string): string {
  return `stages: [test, report]
include:
  - local: templates/run.yml
    inputs:
      job-name: dstack-train
      workflow: ${workflow}
      args: "--epochs 3 'two words'"
      store: ${store}
      tool: node ${ROOT}/dist/cli.js
consumer:
  stage: report
  needs: [dstack-train]
  script:
    - echo "consumer got run=$DSTACK_RUN_NAME status=$DSTACK_STATUS exit=$DSTACK_EXIT_CODE"
`
}

let store: string
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), 'gl-store-'))
})
afterAll(() => rmSync(store, { recursive: true, force: true }))

async function gitlabCiLocal(workflow: string) {
  const repo = makeRepo({
    '.dstack/workflows.yaml': `workflows:
  - name: train
    provider: bash
    commands:
      - echo "args:" \${{ run.args }}
  - name: broken
    provider: bash
    commands:
      - exit 4
`,
    '.gitlab-ci.yml': pipeline(workflow, store)
  })
  mkdirSync(join(repo.dir, 'templates'))
  copyFileSync(join(ROOT, 'templates/run.yml'), join(repo.dir, 'templates/run.yml'))
  git(repo.dir, 'add', '-A')
  git(repo.dir, 'commit', '-qm', 'ci')
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const r = await run(process.execPath, [GCL, '--force-shell-executor', '--no-color'], { cwd: repo.dir, env, timeoutMs: 180_000 })
  repo.cleanup()
  return r
}

const maybe = haveDist ? it : it.skip
describe('the GitLab component under gitlab-ci-local', () => {
  maybe('runs the workflow and hands its outputs to a later job', async () => {
    const r = await gitlabCiLocal('train')
    const text = r.stdout + r.stderr
    expect(text).toContain("args: --epochs 3 two words")
    expect(text).toMatch(/consumer got run=[a-z]+-[a-z]+-\d+ status=succeeded exit=0/)
    expect(text).toMatch(/PASS\s+dstack-train/)
    expect(r.code).toBe(0)
  }, 240_000)

  maybe('fails the job when the run fails', async () => {
    const r = await gitlabCiLocal('broken')
    const text = r.stdout + r.stderr
    expect(text).toMatch(/FAIL\s+\d*\s*dstack-train/)
    expect(r.code).not.toBe(0)
  }, 240_000)
})
