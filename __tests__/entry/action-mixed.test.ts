/**
 * The action reads workflows with the same code as `dstack-run run` (prepareRun → selectWorkflow):
 * under @github/local-action, in the mixed repository of cli-validate.test.ts, the good task runs,
 * its read-and-ignored keys are warning annotations on their line, one warning says other workflows
 * have problems, and the broken task fails with an error annotation at its position.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeRepo } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const FIXTURE = fileURLToPath(new URL('../workflows/fixtures/mixed-repo', import.meta.url))

function fixtureFiles(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(FIXTURE, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[relative(FIXTURE, join(e.parentPath, e.name)).replace(/\.fixture$/, '')] = readFileSync(join(e.parentPath, e.name), 'utf8')
  }
  return out
}

function childEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete env[k]
  return env
}

let repo: { dir: string; cleanup: () => void }
let tmp: string
beforeAll(() => {
  repo = makeRepo(fixtureFiles())
  tmp = mkdtempSync(join(tmpdir(), 'action-mixed-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

async function action(workflow: string): Promise<string> {
  const summary = join(tmp, `summary-${workflow}.md`)
  writeFileSync(summary, '')
  const vars = { INPUT_WORKFLOW: workflow, INPUT_STORE: join(tmp, 'store'), INPUT_BACKEND: 'local', 'INPUT_WORKING-DIRECTORY': '.', GITHUB_WORKSPACE: repo.dir, GITHUB_STEP_SUMMARY: summary }
  const dotenv = join(tmp, `${workflow}.env`)
  writeFileSync(dotenv, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env: childEnv(), cwd: ROOT, timeoutMs: 180_000 })
  return r.stdout + r.stderr
}

describe('the action in a repository that mixes runnable, skipped and broken workflows', () => {
  it('runs the good task, with warning annotations', async () => {
    const text = await action('train')
    expect(text).not.toContain('::error')
    expect(text).toContain('trained on ')
    expect(text).toMatch(/::warning title=dstack workflow(%3A|:) files,file=train\.dstack\.yml,line=13,(endLine=13,)?col=1(,endColumn=1)?::train\.dstack\.yml:13:1: files: `files` is ignored/)
    expect(text).toContain('::warning::other workflows have 1 problem (in 1 file); `train` is not affected; list them with `dstack-run validate`')
  })

  it('fails the broken task with an error annotation at its position', async () => {
    const text = await action('broken')
    expect(text).toMatch(/::error title=dstack workflow(%3A|:) resources\.gpu,file=broken\.dstack\.yml,line=6,(endLine=6,)?col=8(,endColumn=8)?::broken\.dstack\.yml:6:8: resources\.gpu: gpu spec `A100:2:4` has more than one count/)
    expect(text).toContain('1 problem(s) in the workflow files')
  })
})
