/**
 * Hostile: every byte a machine runs is the byte CI sent. A stored snapshot, a dep's artifact, a
 * tagged manifest or the stored runner script changed behind the CI's back is refused with a clear
 * error, before anything of it runs. And the run leaves a provenance record and statement.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir } from './cli-harness.js'
import { renderBootstrap } from '../../src/backends/aws/bootstrap.js'
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE } from '../../src/orchestrate/provenance.js'
import { writeAttestInputs } from '../../src/ci/github-provenance.js'
import { RunStore, openStore } from '../../src/store/index.js'
import type { RunRecord } from '../../src/model/index.js'

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

const WORKFLOWS = `workflows:
  - name: hello
    provider: bash
    commands:
      - bash train.sh
  - name: produce
    provider: bash
    commands:
      - mkdir -p dataset && echo payload > dataset/x.txt
    artifacts:
      - path: dataset
  - name: consume
    provider: bash
    deps:
      - tag: data
    commands:
      - cat dataset/x.txt
`

let repo: string
let store: string
let pwn: string

beforeAll(() => {
  pwn = join(tempDir('pwn-'), 'PWNED')
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS, 'train.sh': 'echo training\n' })
  store = tempDir('hostile-store-')
})
afterAll(cleanup)

function bash(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (out += d.toString()))
    c.on('close', (code) => resolve({ code, out }))
  })
}

describe('nothing changed in the store runs', () => {
  test('a stored code snapshot replaced by other bytes is refused; nothing of it runs', async () => {
    const first = await cli(repo, ['run', 'hello', '--store', store])
    expect(first.code).toBe(0)
    const codeDir = join(store, 'code')
    const [snapshot] = readdirSync(codeDir).filter((f) => f.endsWith('.tar.gz'))
    const evil = tempDir('evil-')
    writeFileSync(join(evil, 'train.sh'), `touch ${pwn}\n`)
    execFileSync('tar', ['-czf', join(codeDir, snapshot!), '-C', evil, '.'])
    const second = await cli(repo, ['run', 'hello', '--store', store])
    expect(second.code).toBe(1)
    expect(second.err).toContain(`the code snapshot code/${snapshot} in the store has sha256 ${sha256(readFileSync(join(codeDir, snapshot!)))}, not ${snapshot!.replace('.tar.gz', '')} as sent by the CI`)
    expect(existsSync(pwn)).toBe(false)
  })

  test("a dep's stored artifact changed after the run is refused by store integrity before any machine starts", async () => {
    store = tempDir('hostile-store-')
    const p = await cli(repo, ['run', 'produce', '--store', store, '--tag', 'data'])
    expect(p.code).toBe(0)
    const file = join(runDir(store, runNameOf(p)), 'artifacts', 'dataset', 'x.txt')
    writeFileSync(file, 'tampered\n')
    const c = await cli(repo, ['run', 'consume', '--store', store])
    expect(c.code).toBe(1)
    expect(c.err).toContain(`store integrity: the artifact \`dataset/x.txt\` of run ${runNameOf(p)} has sha256 ${sha256('tampered\n')} in the store, but the run that wrote it recorded ${sha256('payload\n')}`)
    expect(c.out).not.toContain('tampered')
    expect(c.err).not.toContain('Attempt 1')
  })

  test("a tagged run's manifest rewritten to match changed artifacts is refused before any machine starts", async () => {
    const p = await cli(repo, ['run', 'produce', '--store', store, '--tag', 'data', '--force-tag'])
    expect(p.code).toBe(0)
    const dir = runDir(store, runNameOf(p))
    writeFileSync(join(dir, 'artifacts', 'dataset', 'x.txt'), 'tampered\n')
    writeFileSync(join(dir, 'artifacts.json'), JSON.stringify([{ path: 'dataset/x.txt', size: 9, sha256: sha256('tampered\n') }]))
    const c = await cli(repo, ['run', 'consume', '--store', store])
    expect(c.code).toBe(1)
    expect(c.err).toMatch(/the artifacts of tag `data` \(run \S+ in github\.com\/acme\/ml-demo\) changed after it was tagged/)
    expect(c.err).not.toContain('» Submitting')
  })

  test('the SSM bootstrap refuses a stored runner.sh other than the one the CI rendered', async () => {
    const dir = tempDir('instance-')
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    // a stand-in for `aws s3 cp`: hands out the tampered script the bucket now holds
    writeFileSync(join(dir, 'stored-runner.sh'), `touch ${pwn}\n`)
    writeFileSync(join(bin, 'aws'), `#!/bin/bash\ncp ${join(dir, 'stored-runner.sh')} "\${@: -1}"\n`)
    chmodSync(join(bin, 'aws'), 0o755)
    const rendered = 'echo the runner the CI rendered\n'
    const lines = renderBootstrap({ bucket: 'b', scriptKey: 'k/runner.sh', scriptSha256: sha256(rendered), s3Region: 'us-east-1', region: 'us-east-1' })
    const r = await bash(lines.join('\n'), { PATH: `${bin}:${process.env.PATH}`, DSTACK_INSTANCE_DIR: join(dir, 'opt') })
    expect(r.code).toBe(1)
    expect(r.out).toContain(`runner.sh from the store has sha256 ${sha256(`touch ${pwn}\n`)}, not ${sha256(rendered)} as sent by the CI`)
    expect(existsSync(pwn)).toBe(false)
    // the untampered script runs (on a fresh instance: the bootstrap claims an instance once)
    writeFileSync(join(dir, 'stored-runner.sh'), rendered)
    const ok = await bash(lines.join('\n'), { PATH: `${bin}:${process.env.PATH}`, DSTACK_INSTANCE_DIR: join(dir, 'opt2') })
    expect(ok.code).toBe(0)
    expect(ok.out).toContain('the runner the CI rendered')
  })
})

describe('provenance', () => {
  test('run.json holds the hashes; the in-toto statement lists the artifacts; the output names it', async () => {
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'produce', '--store', fresh, '--json'])
    expect(r.code).toBe(0)
    const { record, outputs } = JSON.parse(r.out.slice(r.out.indexOf('{\n  "record"'))) as { record: Record<string, any>; outputs: Record<string, string> }
    const dir = runDir(fresh, record.run)
    const script = readFileSync(join(dir, 'attempts', '1', 'runner.sh'))
    expect(record.provenance).toEqual({
      runnerScriptSha256: sha256(script),
      snapshotSha256: record.revision.snapshotSha256,
      deps: [],
      amiId: null,
      imageDigest: null,
      instanceType: null,
      statementKey: `github.com/acme/ml-demo/runs/${record.run}/provenance.intoto.json`,
      manifestSha256: sha256(readFileSync(join(dir, 'artifacts.json')))
    })
    expect(sha256(readFileSync(join(fresh, 'code', `${record.revision.snapshotSha256}.tar.gz`)))).toBe(record.revision.snapshotSha256)
    expect(outputs.provenance).toBe(join(dir, 'provenance.intoto.json'))
    const statement = JSON.parse(readFileSync(outputs.provenance!, 'utf8'))
    expect(statement._type).toBe(STATEMENT_TYPE)
    expect(statement.predicateType).toBe(SLSA_PROVENANCE_V1)
    expect(statement.subject).toEqual([{ name: 'dataset/x.txt', digest: { sha256: sha256('payload\n') } }])
    expect(statement.predicate.buildDefinition.resolvedDependencies).toEqual(
      expect.arrayContaining([
        { uri: 'git+https://github.com/acme/ml-demo@refs/heads/main', digest: { gitCommit: record.revision.sha } },
        { name: `code/${record.revision.snapshotSha256}.tar.gz`, digest: { sha256: record.revision.snapshotSha256 } },
        { name: 'runner.sh', digest: { sha256: sha256(script) } }
      ])
    )
    expect(statement.predicate.runDetails.byproducts).toEqual([{ name: 'artifacts.json', digest: { sha256: sha256(readFileSync(join(dir, 'artifacts.json'))) } }])

    // the files handed to actions/attest; a statement changed in the store is not signed
    const rs = new RunStore(openStore({ kind: 'folder', root: fresh }))
    const files = (await writeAttestInputs(rs, record as RunRecord, tempDir('attest-')))!
    expect(readFileSync(files.subjectsPath, 'utf8')).toBe(`${sha256('payload\n')}  dataset/x.txt\n`)
    expect(JSON.parse(readFileSync(files.predicatePath, 'utf8'))).toEqual(statement.predicate)
    writeFileSync(outputs.provenance!, JSON.stringify({ ...statement, subject: [{ name: 'dataset/x.txt', digest: { sha256: 'e'.repeat(64) } }] }))
    await expect(writeAttestInputs(rs, record as RunRecord, tempDir('attest-'))).rejects.toThrow(/does not list the artifacts of artifacts.json: not signing it/)
  })
})
