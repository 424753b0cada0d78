/**
 * A damaged store, end to end with the CLI on the local backend: every read tolerates damage with
 * one clear line naming the file, `ps` lists the rest, nothing prints a stack trace.
 * One `it` per case.
 */
import './job-user-on.js'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { chmodSync, mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'

const WORKFLOWS = `workflows:
  - name: train
    provider: bash
    commands:
      - mkdir -p out && echo 42 > out/answer.txt
    artifacts:
      - path: out
  - name: consume
    provider: bash
    deps:
      - workflow: train
    commands:
      - cat out/answer.txt
  - name: names
    provider: bash
    commands:
      - bash make-names.sh
    artifacts:
      - path: out
  - name: by-tag
    provider: bash
    deps:
      - tag: best
    commands:
      - cat out/answer.txt
`
const REPO_ID = 'github.com/acme/ml-demo'
/** files whose names a careless writer mangles: the name (as the job wrote it) → its content */
const NAMES: [string, string][] = [
  ['out/tab\tname.txt', '1'],
  ['out/new\nline.txt', '2'],
  ['out/-leading-dash.txt', '3'],
  ['out/with spaces.txt', '4'],
  ['out/ünïcødé-日本.txt', '5'],
  ['out/ctrl\u0001char.txt', '6'],
  ['out/back\\slash.txt', '7'],
  ['out/quote"and\'apostrophe.txt', '8']
]
const MAKE_NAMES = ['mkdir -p out', ...NAMES.map(([n, c]) => `printf %s ${c} > $'${n.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\u0001/g, '\\001')}'`), `printf %s 9 > "out/$(printf 'bad\\xff\\xfeutf8').txt"`].join('\n') + '\n'

let repo: { dir: string; cleanup: () => void }
let root: string
let store: string
let good: string
let original: string

async function cli(args: string[]) {
  let out = ''
  let err = ''
  const code = await main([...args, '-C', repo.dir, '--store', store], {
    environ: { ...process.env, DSTACK_WORK_ROOT: join(root, 'work') },
    cwd: repo.dir,
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    signal: new AbortController().signal
  })
  return { code, out, err }
}

const runsDir = () => join(store, REPO_ID, 'runs')
/** a run folder `name` whose run.json holds `text` */
function damagedRun(name: string, text: string): string {
  mkdirSync(join(runsDir(), name), { recursive: true })
  writeFileSync(join(runsDir(), name, 'run.json'), text)
  return join(runsDir(), name, 'run.json')
}
function noStack(s: string): void {
  expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/)
  expect(s).not.toMatch(/TypeError|SyntaxError/)
}

beforeAll(async () => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'make-names.sh': MAKE_NAMES })
  root = mkdtempSync(join(tmpdir(), 'hostile-store-'))
  // the job's own user passes through to its work folder (DSTACK_WORK_ROOT below)
  chmodSync(root, 0o711)
  store = join(root, 'store')
  const r = await cli(['run', 'train', '--tag', 'best'])
  expect(r.code).toBe(0)
  good = readdirSync(runsDir())[0]!
  original = readFileSync(join(runsDir(), good, 'run.json'), 'utf8')
})
afterAll(() => {
  repo.cleanup()
  rmSync(root, { recursive: true, force: true })
})

describe('a damaged store', () => {
  const CASES: [string, string][] = [
    ['truncated', original0().slice(0, 50)],
    ['null', 'null'],
    ['{}', '{}'],
    ['missing fields', JSON.stringify({ run: 'x' })],
    ['a status that does not exist', '__STATUS__'],
    ['empty', '']
  ]
  function original0(): string {
    return '{"run":"lost-run-1","repoId":"github.com/acme/ml-demo","workflow":"train","spec":{},"revision":{"sha":"a"},"backend":"local","args":[],"status":"succeeded","submittedAt":"2026-01-01T00:00:00Z","attempts":[],"tags":[]}'
  }

  it.each(CASES)('ps lists the other runs when a run.json is %s; the damaged row says so in one line naming the file', async (what, text) => {
    const name = `damaged-${what.replace(/[^a-z]+/g, '-').replace(/-+$/, '')}-1`
    const file = damagedRun(name, text === '__STATUS__' ? original.replace(/"status": "succeeded"/, '"status": "pwned"') : text)
    const ps = await cli(['ps'])
    expect(ps.code).toBe(0)
    expect(ps.out).toMatch(new RegExp(`^${good}\\s+train\\s+.*succeeded`, 'm'))
    expect(ps.out).toMatch(new RegExp(`^${name}\\s+\\?\\s+damaged`, 'm'))
    const lines = ps.err.split('\n').filter((l) => l.includes(name))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`damaged store file ${file}: `)
    noStack(ps.err)
    const json = JSON.parse((await cli(['ps', '--json'])).out) as { run: string; status: string; problem?: string }[]
    expect(json.find((r) => r.run === name)).toMatchObject({ status: 'damaged', problem: expect.stringContaining(file) })
    rmSync(join(runsDir(), name), { recursive: true })
  })

  it('deps: workflow: with a damaged run.json is a clear error naming the file, before anything runs', async () => {
    const file = damagedRun('damaged-deps-1', '{"run": "damaged-deps-1", "repoId": ')
    const r = await cli(['run', 'consume'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('cannot tell which run of workflow `train`')
    expect(r.err).toContain(file)
    noStack(r.err)
    rmSync(join(runsDir(), 'damaged-deps-1'), { recursive: true })
    // repaired: it resolves again
    expect((await cli(['run', 'consume'])).code).toBe(0)
  })

  it('a damaged tag: `tags list` lists the rest, deps: tag: is a clear error naming the file', async () => {
    // runs outside CI are untrusted: their tags are in the untrusted namespace (docs/trust-model.md)
    const tagFile = join(store, REPO_ID, 'untrusted-tags', 'broken.json')
    writeFileSync(tagFile, 'null')
    const list = await cli(['tags', 'list'])
    expect(list.code).toBe(0)
    expect(list.out).toMatch(/^best\s+/m)
    expect(list.err).toContain(`damaged store file ${tagFile}: it holds null`)
    const best = join(store, REPO_ID, 'untrusted-tags', 'best.json')
    const saved = readFileSync(best, 'utf8')
    writeFileSync(best, saved.slice(0, 30))
    const r = await cli(['run', 'by-tag'])
    expect(r.code).toBe(1)
    expect(r.err).toContain(`damaged store file ${best}: not valid JSON`)
    noStack(r.err)
    writeFileSync(best, saved)
    rmSync(tagFile)
  })

  it('a damaged status.json: ps still lists the run and names the file', async () => {
    const name = 'status-damage-1'
    const rec = JSON.parse(original) as Record<string, unknown>
    damagedRun(name, JSON.stringify({ ...rec, run: name, status: 'running', attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z' }] }))
    const statusFile = join(runsDir(), name, 'attempts', '1', 'status.json')
    mkdirSync(join(runsDir(), name, 'attempts', '1'), { recursive: true })
    writeFileSync(statusFile, '{"phase": 7}')
    const ps = await cli(['ps'])
    expect(ps.code).toBe(0)
    expect(ps.out).toMatch(new RegExp(`^${name}\\s+train`, 'm'))
    expect(ps.err).toContain(`damaged store file ${statusFile}: field phase`)
    noStack(ps.err)
    rmSync(join(runsDir(), name), { recursive: true })
  })

  it('a damaged artifacts.json: `artifacts list` and `download` say which file, no stack', async () => {
    const manifest = join(runsDir(), good, 'artifacts.json')
    const saved = readFileSync(manifest, 'utf8')
    writeFileSync(manifest, '[{"path": "out/answer.txt"}]')
    for (const args of [['artifacts', 'list', good], ['artifacts', 'download', good, '-o', join(root, 'dl')]]) {
      const r = await cli(args)
      expect(r.code).toBe(1)
      expect(r.err).toContain(`damaged store file ${manifest}: entry 0`)
      noStack(r.err)
    }
    writeFileSync(manifest, saved)
  })

  it('`logs` of a run whose run.json is damaged: a clear error naming the file', async () => {
    const file = damagedRun('damaged-logs-1', '{}')
    const r = await cli(['logs', 'damaged-logs-1'])
    expect(r.code).toBe(1)
    expect(r.err).toContain(`damaged store file ${file}`)
    noStack(r.err)
    rmSync(join(runsDir(), 'damaged-logs-1'), { recursive: true })
  })

  it('a store under /proc fails fast with what failed, instead of spinning', async () => {
    let err = ''
    const code = await main(['run', 'train', '-C', repo.dir, '--store', '/proc/dstack-store-test'], {
      environ: process.env,
      cwd: repo.dir,
      out: { write: () => true },
      err: { write: (s: string) => ((err += s), true) },
      signal: new AbortController().signal
    })
    expect(code).toBe(1)
    // the code snapshot goes up while the run is named: whichever write meets the store first says what failed
    expect(err).toMatch(/cannot write \/proc\/dstack-store-test\/(code\/[0-9a-f]{64}\.tar\.gz|github\.com\/acme\/ml-demo\/runs\/[a-z]+-[a-z]+-\d+\/run\.json) in the run store \/proc\/dstack-store-test: a folder on the way does not exist and cannot be created \(ENOENT\)/)
    expect(err.match(/^error: /gm)).toHaveLength(1)
    noStack(err)
  })

  it('a store whose path runs through a file says so', async () => {
    const file = join(root, 'a-file')
    writeFileSync(file, 'x')
    let err = ''
    const code = await main(['run', 'train', '-C', repo.dir, '--store', join(file, 'store')], {
      environ: process.env,
      cwd: repo.dir,
      out: { write: () => true },
      err: { write: (s: string) => ((err += s), true) },
      signal: new AbortController().signal
    })
    expect(code).toBe(1)
    expect(err).toContain(`in the run store ${join(file, 'store')}: a part of the path is a file, not a folder (ENOTDIR)`)
    noStack(err)
  })

  it('unusual artifact names are stored and listed faithfully; the run succeeds with its outputs', async () => {
    let out = ''
    let err = ''
    const code = await main(['run', 'names', '--json', '-C', repo.dir, '--store', store], {
      environ: { ...process.env, DSTACK_WORK_ROOT: join(root, 'work') },
      cwd: repo.dir,
      out: { write: (s: string) => ((out += s), true) },
      err: { write: (s: string) => ((err += s), true) },
      signal: new AbortController().signal
    })
    expect(err).not.toMatch(/error:/)
    expect(code).toBe(0)
    // --json: one document on stdout, with the outputs typed (lists are lists)
    const { record, outputs } = JSON.parse(out) as { record: { run: string; status: string }; outputs: { artifacts: { path: string; size: number }[] } }
    expect(record.status).toBe('succeeded')
    const listed = outputs.artifacts
    const bad = { path: 'out/bad??utf8.txt', rawPath: Buffer.from('out/bad\xff\xfeutf8.txt', 'latin1').toString('base64') }
    expect(listed.map((a) => a.path).sort()).toEqual([...NAMES.map(([n]) => n), bad.path].sort())
    // the manifest holds the exact names; the one that is not UTF-8 also its exact bytes
    const manifest = await cli(['artifacts', 'list', record.run, '--json'])
    const entries = JSON.parse(manifest.out) as { path: string; rawPath?: string }[]
    expect(entries.find((e) => e.path === bad.path)).toMatchObject(bad)
    // the files are in the store under their own names, with their content
    const stored = join(runsDir(), record.run, 'artifacts')
    for (const [n, c] of NAMES) expect(readFileSync(join(stored, n), 'utf8')).toBe(c)
    expect(readdirSync(join(stored, 'out'), { encoding: 'buffer' }).some((b) => b.equals(Buffer.from('bad\xff\xfeutf8.txt', 'latin1')))).toBe(true)
    // the table shows one line per file
    const table = await cli(['artifacts', 'list', record.run])
    expect(table.out.trim().split('\n')).toHaveLength(NAMES.length + 2)
    expect(table.out).toContain('"out/tab\\tname.txt"')
    // download: every file a key can name, and a clear line for the others
    const dl = await cli(['artifacts', 'download', record.run, '-o', join(root, 'names-dl')])
    expect(dl.code).toBe(1)
    expect(readFileSync(join(root, 'names-dl', 'out', 'with spaces.txt'), 'utf8')).toBe('4')
    expect(readFileSync(join(root, 'names-dl', 'out', '-leading-dash.txt'), 'utf8')).toBe('3')
    expect(readFileSync(join(root, 'names-dl', 'out', 'ünïcødé-日本.txt'), 'utf8')).toBe('5')
    expect(dl.err).toMatch(/but not 5 whose names hold control characters, backslashes or bytes that are not UTF-8/)
    noStack(dl.err)
  })
})
