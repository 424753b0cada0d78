/**
 * The action's report of a run, as GitHub runs it (@github/local-action against src/): a job that
 * writes $DSTACK_METRICS and $DSTACK_REPORT and then fails. The step summary holds the job log
 * link, the failing command with the last log lines (a secret redacted), the metrics and the job's
 * report; the `metrics` output holds the final values; the error annotation points at the failing
 * command's own line of the workflow file.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'
import { checkMarkdown } from '../helpers/markdown-check.js'

const ROOT = process.cwd()
const WORKFLOWS = `workflows:
  - name: evaluate
    provider: bash
    env:
      - API_TOKEN=\${{ secrets.API_TOKEN }}
    commands:
      - bash write.sh
      - echo "using token $API_TOKEN"
      - exit 5
`
const WRITE = `echo '{"step": 1, "loss": 0.5}' >> "$DSTACK_METRICS"; echo '{"accuracy": 0.75}' >> "$DSTACK_METRICS"
printf '## Eval\\n\\n<b>bold?</b> [x](javascript:alert(1))\\n' > "$DSTACK_REPORT"
`

let repo: { dir: string; cleanup: () => void }
let tmp: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'write.sh': WRITE })
  tmp = mkdtempSync(join(tmpdir(), 'action-report-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

function childEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete env[k]
  return env
}

describe('the action reports a failed run with metrics and a report', () => {
  it('summary, metrics output and the annotation on the failing command', async () => {
    const summary = join(tmp, 'summary.md')
    writeFileSync(summary, '')
    const vars = {
      INPUT_WORKFLOW: 'evaluate', INPUT_STORE: join(tmp, 'store'), INPUT_BACKEND: 'local', 'INPUT_WORKING-DIRECTORY': '.', INPUT_BASELINE: 'none',
      GITHUB_WORKSPACE: repo.dir, GITHUB_STEP_SUMMARY: summary, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/ml-demo', GITHUB_RUN_ID: '99',
      API_TOKEN: 'tok-very-secret-123', DSTACK_WORK_ROOT: join(tmp, 'work')
    }
    const dotenv = join(tmp, 'la.env')
    writeFileSync(dotenv, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
    const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env: childEnv(), cwd: ROOT, timeoutMs: 120_000 })
    const text = r.stdout + r.stderr
    expect(text).toMatch(/::set-output name=metrics::\{"loss":0.5,"accuracy":0.75\}/)
    expect(text).toMatch(/::error title=dstack workflow evaluate(%3A|:) commands\[3\] failed,file=.dstack\/workflows.yaml,line=9(,endLine=9)?::run [a-z]+-[a-z]+-\d+ failed/)
    const md = readFileSync(summary, 'utf8')
    expect(md).toContain('| Job log | [open the CI job](https://github.com/acme/ml-demo/actions/runs/99) |')
    expect(md).toContain('**Failed command:** `commands[3]` `exit 5` at [.dstack/workflows.yaml:9](https://github.com/acme/ml-demo/blob/')
    expect(md).toContain('using token ***')
    expect(md).not.toContain('tok-very-secret-123')
    expect(md).toMatch(/\| `accuracy` \| 0\.75 \|/)
    expect(md).toContain('#### Report from the job')
    expect(md).toContain('The artifacts are in the folder store')
    expect((await checkMarkdown(md, ['github.com'])).problems).toEqual([])
  }, 180_000)
})
