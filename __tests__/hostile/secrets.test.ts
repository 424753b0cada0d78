/**
 * Hostile: secrets never leave the job, and the job never gets what the CI did not mean to give it.
 * End to end on the local backend through the CLI (and the orchestrator for the CI masks), with
 * the real folder store: the job prints its secrets in every way; the store, the CLI's output and
 * the job log on disk must not hold them.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { existsSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, cleanup, everyStoredByte, repoWith, runDir, runNameOf, tempDir, REPO_ID, type Captured } from './cli-harness.js'
import { defaultWorkRoot } from '../../src/orchestrate/runner-plan.js'
import { runWorkflow } from '../../src/orchestrate/index.js'
import { RunStore, openStore } from '../../src/store/index.js'
import { LocalBackend } from '../../src/backends/local/index.js'

const WORKFLOWS = `workflows:
  - name: leak
    provider: bash
    env:
      - TOK=\${{ secrets.TOK }}
      - AUTH=Bearer \${{ secrets.TOK }}
      - MULTI=\${{ secrets.MULTI }}
      - SHORT=\${{ secrets.SHORT }}
    commands:
      - echo "tok=$TOK"
      - echo "auth=$AUTH"
      - echo "inside=x\${TOK}y"
      - printf '%s\\n' "$MULTI"
      - echo "short=$SHORT"
      - printf '%s' "$TOK" >&2; echo
  - name: leak-names
    provider: bash
    env:
      - TOK=\${{ secrets.TOK }}
    commands:
      - mkdir -p out && ln -s /nowhere "out/$TOK" && ln -s "$TOK" link
      - printf 'step %s\\n' "$TOK" > "$DSTACK_RUNNER_DIR/step"; exit 3
    artifacts:
      - path: out
      - path: link
  - name: envdump
    provider: bash
    commands:
      - env | LC_ALL=C sort
      - echo 'comment-url=https://evil.example' >> "\${GITHUB_OUTPUT:-/dev/null}"
      - echo 'EVIL=1' >> "\${GITHUB_ENV:-/dev/null}"
      - echo 'state=1' >> "\${GITHUB_STATE:-/dev/null}"
`

const TOK = 'tok-SECRET-4711-abcdef'
const MULTI = '-----BEGIN KEY-----\nline-two-SECRET-0815\n-----END KEY-----'
const SHORT = 'q7z'
const environ = { ...process.env, TOK, MULTI, SHORT }

let repo: string
let store: string
let run: Captured
let log: string

function logOf(name: string): string {
  const dir = join(runDir(store, name), 'attempts', '1', 'logs')
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
}

beforeAll(async () => {
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS })
  store = tempDir('hostile-store-')
  // the work folder is kept (it is removed after a success otherwise) so its mode and job log can be read
  run = await cli(repo, ['run', 'leak', '--store', store], { ...environ, DSTACK_KEEP_WORK: '1' })
  log = logOf(runNameOf(run))
})
afterAll(cleanup)

describe('redacted before the log leaves the job', () => {
  test('the run succeeds and the log shows *** where each secret was', () => {
    expect(run.code).toBe(0)
    expect(log).toContain('tok=***\n')
    expect(log).toContain('auth=***\n')
    expect(log).toContain('inside=x***y\n')
    expect(log).toContain('***\n***\n***\n')
    expect(log).toContain('short=***\n')
  })
  test('no byte in the store holds a secret value, a line of one, or a value inside a larger string', () => {
    const all = everyStoredByte(store)
    for (const v of [TOK, 'line-two-SECRET-0815', `Bearer ${TOK}`, SHORT]) expect(all).not.toContain(v)
  })
  test('job-controlled text in the reason (link names, link targets, the step marker) is redacted too', async () => {
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'leak-names', '--store', fresh], environ)
    expect(r.code).toBe(3)
    expect(r.err).toContain('step *** exited with 3')
    expect(r.err).toContain('it is a symbolic link (to ***)')
    expect(r.err).toContain('out/***')
    expect(everyStoredByte(fresh)).not.toContain(TOK)
    expect(r.err + r.out).not.toContain(TOK)
  })
  test("the CLI's own output does not hold them", () => {
    for (const v of [TOK, 'line-two-SECRET-0815', SHORT]) {
      expect(run.out).not.toContain(v)
      expect(run.err).not.toContain(v)
    }
  })
  test('the work folder is private (0700; 0711 when the job runs as its own user: passed through, never listed), per user and per repository, and its job log holds no secret', () => {
    const root = defaultWorkRoot(REPO_ID, false)
    expect(root).toBe(join(tmpdir(), `dstack-work-${process.getuid!()}`, root.split('/').pop()!))
    const attempt = join(root, runNameOf(run), '1')
    for (const d of [root, join(root, '..'), attempt]) expect(statSync(d).mode & 0o766).toBe(0o700)
    expect(statSync(join(attempt, 'runner')).mode & 0o777).toBe(0o700)
    const jobLog = readFileSync(join(attempt, 'runner', 'job.log'), 'utf8')
    expect(jobLog).toContain('tok=***')
    expect(jobLog).not.toContain(TOK)
  })
  test('a work root that is a symbolic link is refused, and nothing is written where it points', async () => {
    const victim = tempDir('victim-')
    const link = join(tempDir('workroot-'), 'root')
    symlinkSync(victim, link)
    const r = await cli(repo, ['run', 'leak', '--store', tempDir('hostile-store-')], { ...environ, DSTACK_WORK_ROOT: link })
    expect(r.code).toBe(1)
    expect(r.err).toContain(`cannot create the work folder ${link}/`)
    expect(readdirSync(victim)).toEqual([])
  })
  test('the CI masks every secret text: each value, each line of a multi-line one, the raw value inside a larger one, short ones', async () => {
    const masked: string[] = []
    const rs = new RunStore(openStore({ kind: 'folder', root: tempDir('hostile-store-') }))
    const record = await runWorkflow({
      repoDir: repo,
      workflow: 'leak',
      args: [],
      environ,
      maskSecret: (v) => void masked.push(v),
      backend: new LocalBackend({ graceMs: 5000 }),
      store: rs,
      storeLocation: rs.store.location,
      signal: new AbortController().signal,
      emit: () => undefined,
      pollIntervalMs: 200
    })
    expect(record.status).toBe('succeeded')
    expect(masked).toEqual(expect.arrayContaining([TOK, `Bearer ${TOK}`, '-----BEGIN KEY-----', 'line-two-SECRET-0815', '-----END KEY-----', SHORT]))
    expect(masked.some((m) => m.includes('\n'))).toBe(false)
  })
})

describe("the job's environment is built on purpose", () => {
  const saved = { ...process.env }
  let dump: string
  let outputFile: string
  const pwn = join(tmpdir(), `hostile-headref-${process.pid}`)
  beforeAll(async () => {
    outputFile = join(tempDir('gh-files-'), 'output')
    writeFileSync(outputFile, '')
    const ci = {
      'INPUT_GITHUB-TOKEN': 'ghs_input_token_value',
      INPUT_ARGS: 'x',
      ACTIONS_RUNTIME_TOKEN: 'runtime-token-value',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token-value',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.example',
      GITHUB_TOKEN: 'ghs_github_token_value',
      GITHUB_OUTPUT: outputFile,
      GITHUB_ENV: outputFile,
      GITHUB_STATE: outputFile,
      GITHUB_PATH: outputFile,
      GITHUB_STEP_SUMMARY: outputFile,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
      DSTACK_GITLAB_TOKEN: 'glpat-value',
      CI_JOB_TOKEN: 'ci-job-token-value',
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_REPOSITORY: 'acme/ml-demo',
      GITHUB_HEAD_REF: `$(touch ${pwn})`,
      CI_COMMIT_SHA: 'e'.repeat(40),
      CI: 'true'
    }
    // the local backend starts the runner from this process's environment; the CLI reads `environ`
    Object.assign(process.env, ci)
    const r = await cli(repo, ['run', 'envdump', '--store', store], { ...process.env })
    for (const k of Object.keys(ci)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
    expect(r.code).toBe(0)
    dump = logOf(runNameOf(r))
  })
  test.each([
    'INPUT_GITHUB-TOKEN', 'INPUT_ARGS', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'GITHUB_TOKEN',
    'GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
    'DSTACK_GITLAB_TOKEN', 'CI_JOB_TOKEN'
  ])('never %s', (name) => {
    expect(dump).not.toMatch(new RegExp(`^${name.replace(/-/g, '\\-')}=`, 'm'))
  })
  test('the CI command files were not written by the job', () => {
    expect(readFileSync(outputFile, 'utf8')).toBe('')
  })
  test('the documented CI variables and the DSTACK_* ones are there, hostile values literal', () => {
    expect(dump).toMatch(new RegExp(`^GITHUB_SHA=${'f'.repeat(40)}$`, 'm'))
    expect(dump).toMatch(/^GITHUB_REPOSITORY=acme\/ml-demo$/m)
    expect(dump).toMatch(new RegExp(`^CI_COMMIT_SHA=${'e'.repeat(40)}$`, 'm'))
    expect(dump).toMatch(/^DSTACK_RUN_NAME=\S+$/m)
    expect(dump).toMatch(/^PATH=/m)
    expect(dump).toContain(`GITHUB_HEAD_REF=$(touch ${pwn})`)
    expect(existsSync(pwn)).toBe(false)
  })
})
