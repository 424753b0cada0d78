/**
 * Hostile component inputs: shell syntax in args, env and working-directory reaches the job as
 * literal text (inputs travel as variables, never as shell text), under gitlab-ci-local.
 */
import './job-user-on.js'
import { describe, it, expect } from '@jest/globals'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo, git } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const GCL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js')
const maybe = existsSync(join(ROOT, 'dist/cli.js')) ? it : it.skip

describe('hostile GitLab component inputs', () => {
  maybe('shell syntax in args and env stays text', async () => {
    const marks = mkdtempSync(join(tmpdir(), 'hostile-gl-'))
    const store = mkdtempSync(join(tmpdir(), 'hostile-gl-store-'))
    const repo = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: echo\n    provider: bash\n    commands:\n      - printf "[%s]" ${{ run.args }} "$NOTE"\n' })
    try {
      mkdirSync(join(repo.dir, 'templates'))
      cpSync(join(ROOT, 'templates/run.yml'), join(repo.dir, 'templates/run.yml'))
      const inputs = {
        workflow: 'echo',
        store,
        tool: `node ${ROOT}/dist/cli.js`,
        args: `'$(touch ${marks}/args)' ';touch ${marks}/semi' '\`touch ${marks}/tick\`'`,
        env: `NOTE=$(touch ${marks}/env) "quoted" \${HOME}`
      }
      const lines = Object.entries(inputs).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
      writeFileSync(join(repo.dir, '.gitlab-ci.yml'), `include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/run@$CI_COMMIT_SHA\n    inputs:\n${lines.join('\n')}\n`)
      git(repo.dir, 'add', '-A')
      git(repo.dir, 'commit', '-qm', 'ci')
      const env = { ...process.env }
      delete env.NODE_OPTIONS
      const r = await run(process.execPath, [GCL, '--force-shell-executor', '--no-color'], { cwd: repo.dir, env, timeoutMs: 240_000 })
      const text = r.stdout + r.stderr
      expect(text).toContain(`[$(touch ${marks}/args)][;touch ${marks}/semi][\`touch ${marks}/tick\`][$(touch ${marks}/env) "quoted"`)
      for (const f of ['args', 'semi', 'tick', 'env']) expect(existsSync(join(marks, f))).toBe(false)
      expect(r.code).toBe(0)
    } finally {
      repo.cleanup()
      rmSync(marks, { recursive: true, force: true })
      rmSync(store, { recursive: true, force: true })
    }
  }, 300_000)
})
