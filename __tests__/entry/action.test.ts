/**
 * The action as GitHub runs it: through @github/local-action against src/ (inputs from a dotenv,
 * outputs read back), and the committed dist/ bundles executed by this Node (scripts/test.sh runs
 * this file on Node 20 and on Node 24, the runtime action.yml declares). local-action exits 0
 * even when the action fails, so failure is asserted on `::error::` (test-tooling.md).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { localRunnerLiveness } from '../../src/backends/local/liveness.js'
import { run } from '../helpers/s3server.js'
import { startFakeGithub } from '../helpers/fake-github.js'

const ROOT = process.cwd()
const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "training with $DSTACK_RUN_NAME"
      - mkdir -p out && echo 42 > out/answer.txt
    artifacts:
      - path: out
  - name: broken
    provider: bash
    commands:
      - exit 3
`

let repo: { dir: string; cleanup: () => void }
let tmp: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  tmp = mkdtempSync(join(tmpdir(), 'action-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

/** PATH with this process's node first, so children run on the same Node version as the test */
function childEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, ...extra }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) if (!(k in extra)) delete env[k]
  return env
}

// a sleep no other process on the machine runs (pgrep below looks machine-wide)
const NAP = `sleep 300.${process.pid}`
const SLOW = `workflows:\n  - name: slow\n    provider: bash\n    commands:\n      - echo started\n      - ${NAP}\n`

/** dist/index.js running the `slow` workflow of `dir`, as a GitHub runner starts it */
function startMainStep(dir: string, store: string, extra: Record<string, string>) {
  const env = childEnv({ ...inputs('slow', store), GITHUB_WORKSPACE: dir, ...extra })
  const child = spawn(process.execPath, [join(ROOT, 'dist/index.js')], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
  const waitFor = async (text: string): Promise<boolean> => {
    for (let i = 0; i < 300 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 100))
    return stdout.includes(text)
  }
  return { child, exited, waitFor, stdout: () => stdout }
}

function inputs(workflow: string, store: string): Record<string, string> {
  return { INPUT_WORKFLOW: workflow, INPUT_STORE: store, INPUT_BACKEND: 'local', 'INPUT_WORKING-DIRECTORY': '.', GITHUB_WORKSPACE: repo.dir }
}

describe('the action under @github/local-action', () => {
  it('runs a workflow and sets its outputs and summary', async () => {
    const store = join(tmp, 'store-la')
    const summary = join(tmp, 'summary-la.md')
    writeFileSync(summary, '')
    const dotenv = join(tmp, 'la.env')
    const vars = { ...inputs('train', store), GITHUB_STEP_SUMMARY: summary, ACTIONS_STEP_DEBUG: 'false' }
    writeFileSync(dotenv, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
    const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env: childEnv({}), cwd: ROOT, timeoutMs: 120_000 })
    const text = r.stdout + r.stderr
    expect(text).not.toContain('::error::')
    expect(text).toMatch(/::set-output name=status::succeeded/)
    expect(text).toMatch(/::set-output name=run-name::[a-z]+-[a-z]+-\d+$/m)
    expect(text).toMatch(/::set-output name=artifacts::\[\{"path":"out\/answer.txt","size":3/)
    expect(text).toContain('training with')
    expect(readFileSync(summary, 'utf8')).toMatch(/`train` — run `[a-z]+-[a-z]+-\d+` succeeded/)
  }, 180_000)

  it('fails the step with the reason when the run fails', async () => {
    const dotenv = join(tmp, 'la-fail.env')
    writeFileSync(dotenv, Object.entries(inputs('broken', join(tmp, 'store-la'))).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
    const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env: childEnv({}), cwd: ROOT, timeoutMs: 120_000 })
    const text = r.stdout + r.stderr
    expect(text).toMatch(/::error::run [a-z]+-[a-z]+-\d+ failed/)
    expect(text).toMatch(/::set-output name=status::failed/)
    expect(text).toMatch(/::set-output name=exit-code::3$/m)
  }, 180_000)

  it('without AWS credentials, an S3 store fails the step in one line naming the store and the fix, without a stack', async () => {
    const dotenv = join(tmp, 'la-nocreds.env')
    writeFileSync(dotenv, Object.entries(inputs('train', 's3://no-creds-bucket/team')).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
    // no credentials anywhere the SDK looks
    const env = childEnv({ AWS_CONFIG_FILE: join(tmp, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' })
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'NODE_NO_WARNINGS']) delete env[k]
    const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env, cwd: ROOT, timeoutMs: 120_000 })
    const text = r.stdout + r.stderr
    const errors = text.split('\n').filter((l) => l.includes('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('::error::no AWS credentials found, and the S3 store s3://no-creds-bucket/team needs them (configure AWS credentials for the job: the `role-to-assume` input')
    // the stack only in the step's debug log (::debug::, shown with step debug logging)
    const shown = text.split('\n').filter((l) => !l.startsWith('::debug::')).join('\n')
    expect(text).toMatch(/^::debug::CredentialsProviderError/m)
    expect(shown).not.toMatch(/CredentialsProviderError|%0A\s+at |^\s+at .*credential-provider/m)
  }, 180_000)
})

describe(`the built dist/ bundles on ${process.version}`, () => {
  const haveDist = existsSync(join(ROOT, 'dist/index.js'))
  const maybe = haveDist ? it : it.skip

  maybe('dist/index.js runs a workflow and writes its outputs to GITHUB_OUTPUT', async () => {
    const out = join(tmp, 'gh-output')
    const state = join(tmp, 'gh-state')
    writeFileSync(out, '')
    writeFileSync(state, '')
    const r = await run(process.execPath, [join(ROOT, 'dist/index.js')], {
      env: childEnv({ ...inputs('train', join(tmp, 'store-dist')), GITHUB_OUTPUT: out, GITHUB_STATE: state }),
      cwd: repo.dir,
      timeoutMs: 120_000
    })
    expect(r.stdout).not.toContain('::error::')
    const outputs = readFileSync(out, 'utf8')
    expect(outputs).toMatch(/status<<ghadelimiter_[^\n]+\nsucceeded\n/)
    expect(outputs).toMatch(/exit-code<<ghadelimiter_[^\n]+\n0\n/)
    expect(r.code).toBe(0)
  }, 180_000)

  maybe('dist/index.js on a pull request keeps one PR comment, every request checked against GitHub\'s OpenAPI description', async () => {
    const gh = await startFakeGithub({ owner: 'acme', repo: 'ml-demo' })
    try {
      const out = join(tmp, 'gh-output-pr')
      const event = join(tmp, 'pull_request.json')
      writeFileSync(out, '')
      writeFileSync(event, JSON.stringify({ pull_request: { number: 31, head: { sha: 'a'.repeat(40), ref: 'feature' }, base: { sha: 'b'.repeat(40), ref: 'main' } } }))
      const env = childEnv({
        ...inputs('train', join(tmp, 'store-dist')),
        'INPUT_GITHUB-TOKEN': 'ghs_fake',
        INPUT_COMMENT: 'auto',
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: event,
        GITHUB_REPOSITORY: 'acme/ml-demo',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_API_URL: gh.url,
        GITHUB_RUN_ID: '555',
        GITHUB_OUTPUT: out
      })
      for (let i = 0; i < 2; i++) {
        const r = await run(process.execPath, [join(ROOT, 'dist/index.js')], { env, cwd: repo.dir, timeoutMs: 120_000 })
        expect(r.stdout).not.toContain('::error::')
        expect(r.stdout).not.toMatch(/::warning::.*comment/)
      }
      expect(gh.violations).toEqual([])
      const comments = gh.comments.get(31)!
      expect(comments).toHaveLength(1)
      expect(comments[0]!.body).toMatch(/`train` — run `[a-z]+-[a-z]+-\d+` succeeded/)
      expect(comments[0]!.body).toContain('| Job log | [open the CI job](https://github.com/acme/ml-demo/actions/runs/555) |')
      expect(gh.requests.filter((q) => q === 'POST /repos/acme/ml-demo/issues/31/comments')).toHaveLength(1)
      expect(readFileSync(out, 'utf8')).toMatch(/comment-url<<ghadelimiter_[^\n]+\nhttps:\/\/github\.com\/acme\/ml-demo\/pull\/31#issuecomment-\d+\n/)
    } finally {
      await gh.close()
    }
  }, 240_000)

  maybe('dist/index.js annotates workflow problems on their file and line and exits 1', async () => {
    const bad = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: x\n    provider: bash\n    comands: [echo]\n' })
    try {
      const out = join(tmp, 'gh-output-bad')
      writeFileSync(out, '')
      const r = await run(process.execPath, [join(ROOT, 'dist/index.js')], {
        env: childEnv({ ...inputs('x', join(tmp, 'store-dist')), GITHUB_WORKSPACE: bad.dir, GITHUB_OUTPUT: out }),
        cwd: bad.dir,
        timeoutMs: 60_000
      })
      expect(r.stdout).toMatch(/::error title=[^,]*,file=\.dstack\/workflows\.yaml,line=4,col=5::/)
      expect(r.code).toBe(1)
    } finally {
      bad.cleanup()
    }
  }, 120_000)

  maybe('cancelling the step (SIGINT, as GitHub does) stops the job, keeps its log and fails the step as cancelled', async () => {
    const slow = makeRepo({ '.dstack/workflows.yaml': SLOW })
    const out = join(tmp, 'gh-output-cancel')
    writeFileSync(out, '')
    try {
      const main = startMainStep(slow.dir, join(tmp, 'store-cancel'), { GITHUB_OUTPUT: out })
      expect(await main.waitFor('started')).toBe(true)
      main.child.kill('SIGINT')
      const code = await main.exited
      expect(code).not.toBe(0)
      const outputs = readFileSync(out, 'utf8')
      expect(outputs).toMatch(/status<<ghadelimiter_[^\n]+\ncancelled\n/)
      expect(main.stdout()).toMatch(/::error::run [a-z]+-[a-z]+-\d+ cancelled/)
      const left = await run('pgrep', ['-f', `^${NAP.replace('.', '\\.')}$`])
      expect(left.stdout).toBe('')
      // the log up to the cancel is in the store: `logs` reads it back
      const runName = /run-name<<ghadelimiter_[^\n]+\n([^\n]+)\n/.exec(outputs)![1]!
      const logs = await run(process.execPath, [join(ROOT, 'dist/cli.js'), 'logs', runName, '--store', join(tmp, 'store-cancel')], { env: childEnv({}), cwd: slow.dir })
      expect(logs.stdout).toContain('started')
    } finally {
      slow.cleanup()
    }
  }, 120_000)

  maybe('main step killed mid-run: dist/post/index.js releases the machine it saved', async () => {
    const slow = makeRepo({ '.dstack/workflows.yaml': SLOW })
    const state = join(tmp, 'gh-state-killed')
    writeFileSync(state, '')
    try {
      const main = startMainStep(slow.dir, join(tmp, 'store-killed'), { GITHUB_STATE: state })
      // the runner is up when the job prints; the machine was saved for the post step before that
      expect(await main.waitFor('started')).toBe(true)
      const saved = /dstack-machines<<(ghadelimiter_[^\n]+)\n([^\n]*)\n\1/.exec(readFileSync(state, 'utf8'))
      expect(saved).not.toBeNull()
      const machines = JSON.parse(saved![2]!) as { id: string }[]
      const pid = Number(machines[0]!.id.replace('local:', ''))
      expect(() => process.kill(pid, 0)).not.toThrow()
      main.child.kill('SIGKILL') // the main step dies before it can clean up
      await main.exited
      expect(() => process.kill(pid, 0)).not.toThrow() // still running: only the post step can end it now

      const post = await run(process.execPath, [join(ROOT, 'dist/post/index.js')], {
        env: childEnv({ 'STATE_dstack-machines': saved![2]! }),
        cwd: tmp,
        timeoutMs: 90_000
      })
      expect(post.stdout).toContain(`released ${machines[0]!.id}`)
      expect(post.code).toBe(0)
      // gone: no such process, or one that exited and waits to be reaped by init (a zombie)
      expect(localRunnerLiveness({ id: `local:${pid}`, backend: 'local' })).toBe('gone')
      // and the job's own processes with it (`sleep 300` runs in the job's process group)
      const left = await run('pgrep', ['-f', `^${NAP.replace('.', '\\.')}$`])
      expect(left.stdout).toBe('')
    } finally {
      slow.cleanup()
    }
  }, 120_000)

  maybe('dist/post/index.js with nothing saved does nothing and succeeds', async () => {
    const r = await run(process.execPath, [join(ROOT, 'dist/post/index.js')], { env: childEnv({}), cwd: tmp, timeoutMs: 60_000 })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('no machine left to release')
  })

  maybe('dist/cli.js validate lists this repository\'s example workflows', async () => {
    const r = await run(process.execPath, [join(ROOT, 'dist/cli.js'), 'validate', '-C', ROOT], { env: childEnv({}), cwd: ROOT, timeoutMs: 60_000 })
    expect(r.stdout).toMatch(/^train\s/m)
    expect(r.code).toBe(0)
  })

  maybe('dist/cli.js piped into a reader that stops early (| head) ends quietly with code 0', async () => {
    const loud = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: loud\n    provider: bash\n    commands:\n      - seq 1 40000\n' })
    const store = join(tmp, 'store-pipe')
    try {
      const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist/cli.js'))}`
      const started = await run('bash', ['-c', `${cli} run loud --store ${JSON.stringify(store)} >/dev/null 2>&1; ${cli} ps --store ${JSON.stringify(store)} --json`], { env: childEnv({}), cwd: loud.dir, timeoutMs: 60_000 })
      const runName = JSON.parse(started.stdout)[0].run as string
      const r = await run('bash', ['-c', `set -o pipefail; ${cli} logs ${runName} --store ${JSON.stringify(store)} | head -n 1`], { env: childEnv({}), cwd: loud.dir, timeoutMs: 60_000 })
      expect(r.stdout).toMatch(/^\S.*\n$/)
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled/)
      expect(r.code).toBe(0)
    } finally {
      loud.cleanup()
    }
  }, 60_000)
})
