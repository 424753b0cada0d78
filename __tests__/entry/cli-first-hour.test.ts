/**
 * The mistakes of a user's first hour, through the real CLI: each ends in one error line naming the
 * value and one hint naming the fix (never a stack trace, never the whole help), `--json` still
 * prints one document, and the streams and exit codes are what scripts expect.
 *
 * The cases that depend on the process itself (the AWS SDK's credential chain and its Node-version
 * warning, Ctrl+C) run the real entry (src/entry/cli-index.ts through tsx) in its own node process,
 * with no AWS credentials anywhere; the others call `main` as a user's shell would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { runCli } from '../helpers/cli-main.js'
import { startS3Server, type S3TestServer } from '../helpers/s3server.js'

const ROOT = new URL('../..', import.meta.url).pathname

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - echo "args:" \${{ run.args }}
  - name: broken
    provider: bash
    commands:
      - echo about-to-fail
      - exit 5
  - name: slow
    provider: bash
    commands:
      - echo started-slow
      - sleep 60
`

let repo: { dir: string; cleanup: () => void }
let store: string
let work: string
let home: string
const savedWork = process.env.DSTACK_WORK_ROOT
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS })
  store = mkdtempSync(join(tmpdir(), 'first-hour-store-'))
  work = mkdtempSync(join(tmpdir(), 'first-hour-work-'))
  home = mkdtempSync(join(tmpdir(), 'first-hour-home-'))
  process.env.DSTACK_WORK_ROOT = work
})
afterAll(() => {
  repo.cleanup()
  for (const d of [store, work, home]) rmSync(d, { recursive: true, force: true })
  if (savedWork === undefined) delete process.env.DSTACK_WORK_ROOT
  else process.env.DSTACK_WORK_ROOT = savedWork
})
const R = () => ['-C', repo.dir, '--store', store]

/** stderr is exactly `error: …` then `hint: …`: no stack trace, no usage text */
function expectOneError(err: string, error: RegExp, hint?: RegExp): void {
  const lines = err.split('\n').filter(Boolean)
  const at = lines.findIndex((l) => l.startsWith('error: '))
  expect(at).toBeGreaterThanOrEqual(0)
  expect(lines.slice(at)).toHaveLength(2)
  expect(lines[at]).toMatch(error)
  expect(lines[at + 1]).toMatch(/^hint: /)
  if (hint) expect(lines[at + 1]).toMatch(hint)
  expect(err).not.toMatch(/^\s+at /m)
  expect(err).not.toMatch(/Usage:/)
}

/** an environment in which the AWS SDK finds no credentials at all */
function noCredentialsEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  // NODE_NO_WARNINGS too (the test script sets it): every warning the process emits must show
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !['NODE_OPTIONS', 'NODE_NO_WARNINGS', 'DSTACK_STORE'].includes(k)) env[k] = v
  return {
    ...env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1'
  }
}

/** the real entry in its own process */
function spawnCli(args: string[], env: Record<string, string>, onStdout?: (all: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/entry/cli-index.ts'), ...args], { env, cwd: repo.dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
    onStdout?.(stdout, child)
  })
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.once('close', (code) => r({ code, stdout, stderr })))
}

describe('no AWS credentials (the real entry, in its own process)', () => {
  it('ps --json on an S3 store: one JSON document naming the store and the fix; no stack, no SDK warning', async () => {
    const r = await spawnCli(['ps', '--store', 's3://first-hour-bucket/team', '--json'], noCredentialsEnv())
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) // throws unless stdout is exactly one document
    expect(doc.error).toBe('no AWS credentials found, and the S3 store s3://first-hour-bucket/team needs them')
    expect(doc.hint).toMatch(/aws configure.*AWS_PROFILE.*AWS_ACCESS_KEY_ID.*--role-to-assume.*--store DIR/)
    expectOneError(r.stderr, /^error: no AWS credentials found, and the S3 store s3:\/\/first-hour-bucket\/team needs them$/)
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript|CredentialsProviderError/)
  })

  it('run on an S3 store with the aws backend says which two things need credentials', async () => {
    const r = await spawnCli(['run', 'train', '--backend', 'aws', '--store', 's3://first-hour-bucket/team', '--aws-region', 'us-east-1'], noCredentialsEnv())
    expect(r.code).toBe(1)
    expectOneError(r.stderr, /^error: no AWS credentials found, and the S3 store s3:\/\/first-hour-bucket\/team and the aws backend need them$/)
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/)
  })

  it('control: on this Node, the SDK prints its Node-version warning unless the CLI drops it', () => {
    const major = Number(process.versions.node.split('.')[0])
    const script = "import('@aws-sdk/client-s3').then((m) => { new m.S3Client({ region: 'us-east-1' }) })"
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: noCredentialsEnv(), encoding: 'utf8' })
    // the SDK warns on Node < 22 (its support policy); on a newer Node there is nothing to drop
    if (major < 22) expect(r.stderr).toMatch(/NodeVersionSupportWarning/)
    else expect(r.stderr).not.toMatch(/NodeVersionSupportWarning/)
  })
})

describe('Ctrl+C (the real entry, in its own process)', () => {
  it('stops the run, which still ends cleanly, and exits 130', async () => {
    let sent = false
    const r = await spawnCli(['run', 'slow', '--store', store], { ...noCredentialsEnv(), DSTACK_WORK_ROOT: work }, (out, child) => {
      if (!sent && out.includes('started-slow')) {
        sent = true
        child.kill('SIGINT')
      }
    })
    expect(sent).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(/run [a-z]+-[a-z]+-\d+ cancelled/)
  })
})

describe('typos are errors', () => {
  it('--store s3:/bucket is refused with the right spelling, and makes no folder', async () => {
    for (const [spec, fix] of [['s3:/my-bucket/runs', 's3://my-bucket/runs'], ['s3:my-bucket', 's3://my-bucket'], ['s3//my-bucket', 's3://my-bucket']] as const) {
      const r = await runCli(['run', 'train', '--store', spec], { cwd: repo.dir })
      expect(r.code).toBe(1)
      expectOneError(r.err, new RegExp(`^error: store "${spec.replaceAll('/', '\\/')}" is neither s3://bucket/prefix nor a folder path`), new RegExp(`write ${fix} \\(two slashes\\)`))
    }
    expect(readdirSync(repo.dir).filter((n) => n.startsWith('s3'))).toEqual([])
    // a folder of that name is still possible, spelled as a path
    const folder = mkdtempSync(join(tmpdir(), 'colon-'))
    try {
      const ok = await runCli(['run', 'train', '-C', repo.dir, '--store', './s3:runs'], { cwd: folder })
      expect(ok.code).toBe(0)
      expect(existsSync(join(folder, 's3:runs'))).toBe(true)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('a store folder that does not exist is an error for every verb but run', async () => {
    const missing = join(store, 'no-such-store')
    for (const verb of [['ps'], ['tags', 'list'], ['logs', 'some-run']]) {
      const r = await runCli([...verb, '-C', repo.dir, '--store', missing])
      expect(r.code).toBe(1)
      expectOneError(r.err, new RegExp(`^error: the store folder ${missing} does not exist$`), /check --store/)
      expect(r.out).toBe('')
    }
    expect(existsSync(missing)).toBe(false)
  })

  it('ps on a store without runs of this repository says so (exit 0)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'empty-store-'))
    try {
      const r = await runCli(['ps', '-C', repo.dir, '--store', empty])
      expect(r.code).toBe(0)
      expect(r.err).toBe(`no runs of github.com/acme/ml-demo in ${empty} yet: start one with \`dstack-run run WORKFLOW\` --store ${empty}\n`)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('-C on a folder that does not exist is an error, for validate too', async () => {
    for (const verb of [['validate'], ['ps'], ['revision'], ['run', 'train']]) {
      const r = await runCli([...verb, '-C', join(repo.dir, 'no-such-folder')])
      expect(r.code).toBe(1)
      expectOneError(r.err, /^error: -C .*no-such-folder: the folder .*no-such-folder does not exist$/)
    }
    const json = await runCli(['validate', '-C', join(repo.dir, 'no-such-folder'), '--json'])
    expect(JSON.parse(json.out)).toEqual({ error: expect.stringContaining('does not exist'), hint: expect.any(String) })
  })

  it('an unknown option is one line and a hint, not the help; --json still gets one document', async () => {
    const r = await runCli(['ps', ...R(), '--bogus'])
    expect(r.code).toBe(2)
    expectOneError(r.err, /^error: unknown option '--bogus'$/, /`dstack-run ps --help` lists its arguments and options/)
    const close = await runCli(['tags', 'list', ...R(), '--jsn'])
    expectOneError(close.err, /^error: unknown option '--jsn' \(Did you mean --json\?\)$/, /`dstack-run tags list --help`/)
    const j = await runCli(['ps', ...R(), '--bogus', '--json'])
    expect(JSON.parse(j.out)).toEqual({ error: "unknown option '--bogus'", hint: expect.stringContaining('dstack-run ps --help') })
  })
})

describe('arguments after the workflow name', () => {
  it('the help example `run train --epochs 3 --tag baseline` works: --epochs 3 reaches the workflow, --tag is ours', async () => {
    const r = await runCli(['run', ...R(), 'train', '--epochs', '3', '--tag', 'baseline', '--lr=0.1', 'extra'])
    expect(r.err).not.toMatch(/error/)
    expect(r.code).toBe(0)
    expect(r.out).toContain('args: --epochs 3 --lr=0.1 extra\n')
    const tags = JSON.parse((await runCli(['tags', 'list', ...R(), '--json'])).out)
    expect(tags).toEqual([expect.objectContaining({ tag: 'baseline' })])
  })

  it('after --, even this CLI\'s options go to the workflow', async () => {
    const r = await runCli(['run', ...R(), 'train', '--epochs', '1', '--', '--tag', 'not-ours', '--json'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('args: --epochs 1 --tag not-ours --json\n')
    const tags = JSON.parse((await runCli(['tags', 'list', ...R(), '--json'])).out) as { tag: string }[]
    expect(tags.map((t) => t.tag)).toEqual(['baseline'])
  })

  it('a likely typo of one of our options is refused, not passed on; so is an option before the workflow', async () => {
    const before = (await runCli(['ps', ...R(), '--all', '--json'])).out
    const typo = await runCli(['run', ...R(), 'train', '--tga', 'x'])
    expect(typo.code).toBe(1)
    expectOneError(typo.err, /^error: unknown option '--tga' \(did you mean --tag\?\)$/, /dstack-run run train -- --tga/)
    const first = await runCli(['run', ...R(), '--epochs', '3', 'train'])
    expect(first.code).toBe(1)
    expectOneError(first.err, /^error: unknown option '--epochs' before the workflow name$/)
    expect((await runCli(['ps', ...R(), '--all', '--json'])).out).toBe(before)
  })
})

describe('streams and exit codes', () => {
  it('run -d prints only the run name on stdout; attach and logs -f exit with the run\'s status', async () => {
    const d = await runCli(['run', ...R(), 'broken', '-d'])
    expect(d.code).toBe(0)
    expect(d.out).toMatch(/^[a-z]+-[a-z]+-\d+\n$/)
    const name = d.out.trim()
    expect(d.err).toContain(`dstack-run attach ${name}`)
    const attach = await runCli(['attach', ...R(), name])
    expect(attach.code).toBe(5)
    expect(attach.out).toContain('about-to-fail')
    expect(attach.err).toMatch(new RegExp(`run ${name} failed`))
    const follow = await runCli(['logs', ...R(), name, '-f'])
    expect(follow.code).toBe(5)
    // without -f, logs only prints: exit 0
    expect((await runCli(['logs', ...R(), name])).code).toBe(0)

    const ok = (await runCli(['run', ...R(), 'train', '-d'])).out.trim()
    const a = await runCli(['attach', ...R(), ok])
    expect(a.code).toBe(0)
    expect(a.err).toContain(`run ${ok} succeeded`)
  })

  it('stop on a finished run says how it ended', async () => {
    const name = JSON.parse((await runCli(['run', ...R(), 'train', '--json'])).out).record.run as string
    const r = await runCli(['stop', ...R(), name])
    expect(r.code).toBe(0)
    expect(r.err).toBe(`run ${name} is not running: it succeeded\n`)
  })
})

describe('--store-region and --aws-region', () => {
  it('--region is refused in run (it meant the store there, the machines in check) and deprecated where it is unambiguous', async () => {
    const run = await runCli(['run', ...R(), 'train', '--region', 'eu-west-1'])
    expect(run.code).toBe(1)
    expectOneError(run.err, /^error: --region is ambiguous in `dstack-run run`$/, /--aws-region .* --store-region/)
    const check = await runCli(['check', '--region', 'eu-west-1'])
    expectOneError(check.err, /^error: --region is ambiguous in `dstack-run check`$/)
    const ps = await runCli(['ps', ...R(), '--region', 'eu-west-1'])
    expect(ps.code).toBe(0)
    expect(ps.err).toContain('warning: --region is deprecated: use --store-region')
    const both = await runCli(['ps', ...R(), '--region', 'eu-west-1', '--store-region', 'us-east-1'])
    expectOneError(both.err, /^error: --region eu-west-1 and --store-region us-east-1 disagree$/)
  })
})

describe('errors of an S3 store (a real S3 server on loopback)', () => {
  let s3: S3TestServer
  let saved: Record<string, string | undefined>
  beforeAll(async () => {
    saved = { ...process.env }
    s3 = await startS3Server()
    Object.assign(process.env, s3.env)
  })
  afterAll(async () => {
    await s3.close()
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  })

  it('a bucket that does not exist is named, with the command that creates it', async () => {
    const r = await runCli(['ps', '-C', repo.dir, '--store', 's3://no-such-bucket/team', '--endpoint', s3.endpoint, '--store-region', 'us-east-1', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toEqual({
      error: `the bucket no-such-bucket of the store s3://no-such-bucket/team does not exist at ${s3.endpoint}`,
      hint: 'check the name in --store (or DSTACK_STORE), or create it: aws s3 mb s3://no-such-bucket --region us-east-1'
    })
  })

  it('credentials the server does not know are named as rejected, with what to check', async () => {
    const key = process.env.AWS_ACCESS_KEY_ID
    process.env.AWS_ACCESS_KEY_ID = 'NOT-A-KEY-OF-THIS-SERVER'
    try {
      const r = await runCli(['ps', '-C', repo.dir, '--store', `s3://${s3.bucket}/team`, '--endpoint', s3.endpoint, '--store-region', 'us-east-1'])
      expect(r.code).toBe(1)
      expectOneError(r.err, /^error: AWS rejected the credentials \(InvalidAccessKeyId: /, new RegExp(`check AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and that they belong to ${s3.endpoint.replaceAll('.', '\\.')}`))
    } finally {
      process.env.AWS_ACCESS_KEY_ID = key
    }
  })

  it('an endpoint where nothing answers is named', async () => {
    const r = await runCli(['ps', '-C', repo.dir, '--store', `s3://${s3.bucket}/team`, '--endpoint', 'http://127.0.0.1:9', '--store-region', 'us-east-1'])
    expect(r.code).toBe(1)
    expectOneError(r.err, /^error: cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED/, /check --endpoint/)
  })
})

describe('cleanup --work', () => {
  it('removes the work folders of ended runs and keeps those of runs still going', async () => {
    const failed = await runCli(['run', ...R(), 'broken'])
    expect(failed.code).toBe(5)
    const name = /run ([a-z]+-[a-z]+-\d+) failed/.exec(failed.err)![1]!
    expect(existsSync(join(work, name, '1'))).toBe(true)
    const going = (await runCli(['run', ...R(), 'slow', '-d'])).out.trim()
    // a folder that is no run of this repository stays, whatever its name
    mkdirSync(join(work, 'not-a-run'))
    writeFileSync(join(work, 'not-a-run', 'keep.txt'), 'x')

    const dry = await runCli(['cleanup', '--work', ...R(), '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.err).toContain(`would remove ${join(work, name)} (run failed,`)
    expect(existsSync(join(work, name))).toBe(true)

    const r = await runCli(['cleanup', '--work', ...R()])
    expect(r.code).toBe(0)
    expect(r.err).toContain(`removed ${join(work, name)} (run failed,`)
    expect(r.err).toMatch(new RegExp(`kept \\d+ work folders: .*${going} \\(running\\)`))
    expect(r.err).toContain("not-a-run (not a run of this repository in this store)")
    expect(existsSync(join(work, name))).toBe(false)
    expect(existsSync(join(work, going))).toBe(true)
    expect(existsSync(join(work, 'not-a-run', 'keep.txt'))).toBe(true)
    await runCli(['stop', ...R(), going])
  })
})
