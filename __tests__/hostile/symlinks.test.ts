/**
 * Hostile: symbolic links never carry a read or a write out of the working folder or the output
 * folder. Links in artifacts are not stored (each one is named in the run's reason); the manifest
 * lists exactly what is stored; `artifacts download -o DIR` never writes through a link under DIR;
 * a dep's files never land through a link in the code.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cleanup, filesUnder, repoWith, runDir, runNameOf, tempDir, type Captured } from './cli-harness.js'
import { git } from '../helpers/git-repo.js'

const WORKFLOWS = `workflows:
  - name: links
    provider: bash
    commands:
      - ln -s /etc etcdir
      - mkdir -p out && echo real > out/real.txt && ln -s /etc/passwd out/passwd-link && ln -s /etc out/etc-link
      - ln -s /etc cfg
    artifacts:
      - path: etcdir
      - path: out
      - path: cfg/passwd
  - name: produce
    provider: bash
    commands:
      - rm -rf dataset && mkdir dataset && echo payload > dataset/x.txt
    artifacts:
      - path: dataset
  - name: consume
    provider: bash
    deps:
      - tag: data
    commands:
      - cat dataset/x.txt
  - name: linked-dir
    provider: bash
    working_dir: linked
    commands:
      - cat passwd
`

let repo: string
let store: string
let victim: string
let run: Captured
let name: string

beforeAll(async () => {
  victim = tempDir('victim-')
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS })
  // committed links: a folder a dep would write into, and a working_dir that leaves the code
  symlinkSync(victim, join(repo, 'dataset'))
  symlinkSync('/etc', join(repo, 'linked'))
  git(repo, 'add', '-A')
  git(repo, 'commit', '-qm', 'links')
  store = tempDir('hostile-store-')
  run = await cli(repo, ['run', 'links', '--store', store])
  name = runNameOf(run)
})
afterAll(cleanup)

describe('symlinks in artifacts are never followed', () => {
  test('the run succeeds; its reason names each refused link', () => {
    expect(run.code).toBe(0)
    const reason = (JSON.parse(readFileSync(join(runDir(store, name), 'run.json'), 'utf8')) as { reason: string }).reason
    expect(reason).toContain('artifact `etcdir` was not stored: it is a symbolic link (to /etc)')
    expect(reason).toMatch(/artifact `cfg\/passwd` was not stored: it resolves to \/etc\/passwd, outside the working folder/)
    expect(reason).toMatch(/artifact `out`: 2 symbolic link\(s\) not stored .*out\/etc-link out\/passwd-link/)
  })
  test('the store holds only the regular file, nothing from /etc', () => {
    expect(filesUnder(join(runDir(store, name), 'artifacts'))).toEqual(['out/real.txt'])
  })
  test('the manifest lists exactly what is stored', () => {
    const manifest = JSON.parse(readFileSync(join(runDir(store, name), 'artifacts.json'), 'utf8')) as { path: string }[]
    expect(manifest.map((e) => e.path)).toEqual(filesUnder(join(runDir(store, name), 'artifacts')))
  })
  test('artifacts download -o DIR refuses to write through a link under DIR', async () => {
    const out = tempDir('dl-')
    symlinkSync(victim, join(out, 'out'))
    const r = await cli(repo, ['artifacts', 'download', name, '-o', out, '--store', store])
    expect(r.code).toBe(1)
    expect(r.err).toContain(`refusing to write artifact \`out/real.txt\`: ${join(out, 'out')} is a symbolic link inside the output folder`)
    expect(readdirSync(victim)).toEqual([])
  })
  test('artifacts download into a clean folder writes the file, sha256 checked', async () => {
    const out = tempDir('dl-')
    const r = await cli(repo, ['artifacts', 'download', name, '-o', out, '--store', store])
    expect(r.code).toBe(0)
    expect(filesUnder(out)).toEqual(['out/real.txt'])
    expect(readFileSync(join(out, 'out/real.txt'), 'utf8')).toBe('real\n')
  })
  test("a dep's files never land through a link in the code", async () => {
    const p = await cli(repo, ['run', 'produce', '--store', store, '--tag', 'data'])
    expect(p.code).toBe(0)
    const c = await cli(repo, ['run', 'consume', '--store', store])
    expect(c.code).toBe(1)
    expect(c.err).toContain('cannot put `dataset/x.txt` of tag:data into the working folder: dataset is a symbolic link')
    expect(readdirSync(victim)).toEqual([])
  })
  test('a working_dir that is a link out of the code is refused', async () => {
    const r = await cli(repo, ['run', 'linked-dir', '--store', store])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/the working directory linked is, or is under, a symbolic link out of the code/)
    expect(r.out).not.toContain('root:x:0:0')
  })
})
