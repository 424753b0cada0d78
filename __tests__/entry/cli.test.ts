/**
 * The CLI end to end on the local backend, as a user runs it: real workflow files in a real git
 * repository, the real runner script executed by bash, a folder store and an S3 store (s3rver on
 * loopback through the real Debian aws CLI).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, readFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo, writeFiles, git } from '../helpers/git-repo.js'
import { startS3Server, awsCliPath, type S3TestServer } from '../helpers/s3server.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    env:
      - GREETING=hello
    commands:
      - echo "$GREETING from $DSTACK_RUN_NAME ($DSTACK_WORKFLOW)"
      - "mkdir -p model && echo '{\\"w\\": 3}' > model/weights.json"
      - echo "args:" \${{ run.args }}
    artifacts:
      - path: model
  - name: broken
    provider: bash
    commands:
      - echo before
      - exit 7
      - echo never-printed
  - name: consume
    provider: bash
    deps:
      - tag: best
    commands:
      - cat model/weights.json
`

interface Captured {
  code: number
  out: string
  err: string
}

async function cli(args: string[], environ: Record<string, string | undefined> = process.env): Promise<Captured> {
  let out = ''
  let err = ''
  const code = await main(args, {
    environ,
    cwd: process.cwd(),
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

describe.each(['folder', 's3'] as const)('dstack-run on the local backend with a %s store', (kind) => {
  let repo: { dir: string; cleanup: () => void }
  let storeArgs: string[]
  let folder: string | undefined
  let s3: S3TestServer | undefined
  const saved = { ...process.env }

  beforeAll(async () => {
    repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'README.md': 'demo\n' })
    if (kind === 'folder') {
      folder = mkdtempSync(join(tmpdir(), 'store-'))
      storeArgs = ['--store', folder]
    } else {
      s3 = await startS3Server()
      Object.assign(process.env, s3.env, { DSTACK_AWS_CLI: awsCliPath() })
      storeArgs = ['--store', `s3://${s3.bucket}/team`, '--endpoint', s3.endpoint, '--store-region', 'us-east-1']
    }
  })
  afterAll(async () => {
    repo.cleanup()
    if (folder) rmSync(folder, { recursive: true, force: true })
    await s3?.close()
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  })

  const R = () => ['-C', repo.dir, ...storeArgs]

  it('validate lists the workflows', async () => {
    const r = await cli(['validate', '-C', repo.dir])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/train\s+workflows\.yaml\s+\.dstack\/workflows\.yaml:2/)
  })

  let runName = ''
  it('runs a workflow: logs, env, args, artifacts with a manifest, exit code 0', async () => {
    const r = await cli(['run', ...R(), 'train', '--json', '--', '--epochs', "it's $(whoami)"])
    expect(r.err).not.toMatch(/error/)
    expect(r.code).toBe(0)
    // --json: stdout is one JSON document; the job's logs went to stderr
    const { record, outputs } = JSON.parse(r.out)
    runName = record.run
    expect(runName).toMatch(/^[a-z]+-[a-z]+-\d+$/)
    expect(record.status).toBe('succeeded')
    expect(r.err).toContain(`hello from ${runName} (train)`)
    expect(r.err).toContain("args: --epochs it's $(whoami)")
    expect(outputs.artifacts).toEqual([expect.objectContaining({ path: 'model/weights.json', size: 9, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })])
  })

  it('ps, logs and artifacts read the run back', async () => {
    const ps = await cli(['ps', ...R(), '--json'])
    expect(JSON.parse(ps.out)[0]).toMatchObject({ run: runName, status: 'succeeded', workflow: 'train' })
    const logs = await cli(['logs', ...R(), runName])
    expect(logs.out).toContain(`hello from ${runName}`)
    const out = mkdtempSync(join(tmpdir(), 'dl-'))
    const dl = await cli(['artifacts', 'download', ...R(), runName, '-o', out])
    expect(dl.code).toBe(0)
    expect(readFileSync(join(out, 'model/weights.json'), 'utf8')).toBe('{"w": 3}\n')
    rmSync(out, { recursive: true, force: true })
  })

  it('a failing command stops the run, keeps its logs and exits with its code', async () => {
    const r = await cli(['run', ...R(), 'broken'])
    expect(r.code).toBe(7)
    expect(r.out).toContain('before')
    expect(r.out).not.toContain('never-printed')
    expect(r.err).toMatch(/failed/)
  })

  it('tags: add, refuse to move one silently, deps by tag', async () => {
    expect((await cli(['tags', 'add', ...R(), 'best', runName])).code).toBe(0)
    // tagging the run the tag already names is a no-op
    expect((await cli(['tags', 'add', ...R(), 'best', runName])).code).toBe(0)
    const list = await cli(['tags', 'list', ...R(), '--json'])
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ tag: 'best', run: runName })])
    const consume = await cli(['run', ...R(), 'consume', '--json'])
    expect(consume.code).toBe(0)
    expect(consume.err).toContain('{"w": 3}')
    const consumer = JSON.parse(consume.out).record.run as string
    const dup = await cli(['tags', 'add', ...R(), 'best', consumer])
    expect(dup.code).toBe(1)
    // runs outside CI are untrusted: their tags live in the untrusted namespace (docs/trust-model.md)
    expect(dup.err).toMatch(new RegExp(`tag \`best\` already exists among the untrusted runs' tags \\(run ${runName}\\); to move it, use \`tags add --force\``))
    expect(JSON.parse((await cli(['tags', 'list', ...R(), '--json'])).out)[0].run).toBe(runName)
    const byTag = await cli(['artifacts', 'list', ...R(), ':best', '--json'])
    expect(JSON.parse(byTag.out)[0].path).toBe('model/weights.json')
  })

  it('an unresolvable dep fails before anything runs, naming it', async () => {
    expect((await cli(['tags', 'delete', ...R(), 'best'])).code).toBe(0)
    const before = (await cli(['ps', ...R(), '--json', '--all'])).out
    const r = await cli(['run', ...R(), 'consume'])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/best/)
    expect((await cli(['ps', ...R(), '--json', '--all'])).out).toBe(before)
  })

  it('local changes travel with the run', async () => {
    writeFiles(repo.dir, { 'README.md': 'changed locally\n' })
    writeFiles(repo.dir, { '.dstack/workflows/extra.yaml': 'workflows:\n  - name: readme\n    provider: bash\n    commands:\n      - cat README.md\n' })
    git(repo.dir, 'add', '.dstack/workflows/extra.yaml')
    const r = await cli(['run', ...R(), 'readme'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('changed locally')
  })
})

describe('dstack-run validate with broken files', () => {
  it('prints every problem with file:line:column and exits 1', async () => {
    const repo = makeRepo({
      '.dstack/workflows.yaml': 'workflows:\n  - name: a\n    provider: bash\n    comands:\n      - echo hi\n  - name: b\n    provider: lab\n',
      'x.dstack.yml': 'type: task\ncommands: [echo]\nresources:\n  gpu: A100:lots\n'
    })
    try {
      const r = await cli(['validate', '-C', repo.dir])
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/\.dstack\/workflows\.yaml:4:5: .*comands.*did you mean `commands`/)
      // an interactive provider is skipped with its reason, not a problem
      expect(r.err).not.toMatch(/lab/)
      expect(r.out).toMatch(/\.dstack\/workflows\.yaml:6\s+b\s+provider: lab\s+provider `lab` opens JupyterLab/)
      expect(r.err).toMatch(/x\.dstack\.yml:4:\d+: .*gpu/)
    } finally {
      repo.cleanup()
    }
  })
})

describe('dstack-run with no workflow files', () => {
  it('says where it looked', async () => {
    const repo = makeRepo({ 'README.md': 'x\n' })
    try {
      const r = await cli(['validate', '-C', repo.dir])
      expect(r.code).toBe(0)
      expect(r.err).toMatch(/no workflow files found/)
      expect(existsSync(join(repo.dir, '.dstack'))).toBe(false)
      expect(readdirSync(repo.dir)).toContain('README.md')
    } finally {
      repo.cleanup()
    }
  })
})
