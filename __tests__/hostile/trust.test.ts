/**
 * Hostile: pull-request code is untrusted. A pull request's run (GitHub `pull_request`, from a
 * branch it named `main`) writes a poisoned artifact and tries to take over main's tag; main's
 * next consumers (by tag and by workflow) and main's `baseline: auto` still use main's runs, the
 * pull request's own consumer may use main's, and `ps`, `tags list`, the provenance and the
 * summary say which run is trusted and where each dep came from.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir, REPO_ID } from './cli-harness.js'
import { git } from '../helpers/git-repo.js'
import { RunStore, openStore } from '../../src/store/index.js'
import { runMarkdown } from '../../src/report/markdown.js'
import { resolveBaseline } from '../../src/orchestrate/report-data.js'
import type { RunRecord } from '../../src/model/index.js'

const WORKFLOWS = `workflows:
  - name: produce
    provider: bash
    commands:
      - mkdir -p dataset && printf '%s\\n' "\${PAYLOAD:-from-main}" > dataset/x.txt
      - printf '{"accuracy":%s}\\n' "\${ACC:-0.5}" >> "$DSTACK_METRICS"
    artifacts:
      - path: dataset
  - name: by-tag
    provider: bash
    deps:
      - tag: data
    commands:
      - echo "GOT $(cat dataset/x.txt)"
  - name: by-workflow
    provider: bash
    deps:
      - workflow: produce
    commands:
      - echo "GOT $(cat dataset/x.txt)"
`

let repo: string
let store: string
let eventDir: string
let sha: string

beforeAll(() => {
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS })
  store = tempDir('trust-store-')
  eventDir = tempDir('trust-event-')
  sha = git(repo, 'rev-parse', 'HEAD')
})
afterAll(cleanup)

const base = (): Record<string, string | undefined> => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const k of Object.keys(env)) if (/^(GITHUB_|GITLAB_CI|CI_|DSTACK_)/.test(k)) delete env[k]
  return { ...env, GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/ml-demo', GITHUB_SERVER_URL: 'https://github.com', GITHUB_SHA: sha }
}

function event(name: string, payload: unknown): string {
  const p = join(eventDir, `${name}.json`)
  writeFileSync(p, JSON.stringify(payload))
  return p
}

/** a push to main, as GitHub describes it */
function mainPush(): Record<string, string | undefined> {
  return { ...base(), GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_PATH: event('push', { repository: { default_branch: 'main' } }) }
}

/** pull request #7 from a fork whose branch is also called `main` */
function forkPullRequest(): Record<string, string | undefined> {
  return {
    ...base(),
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_REF: 'refs/pull/7/merge',
    GITHUB_HEAD_REF: 'main',
    GITHUB_BASE_REF: 'main',
    GITHUB_EVENT_PATH: event('pr', { repository: { default_branch: 'main' }, pull_request: { number: 7, head: { ref: 'main', sha }, base: { ref: 'main', sha } } })
  }
}

const run = (args: string[], env: Record<string, string | undefined>) => cli(repo, [...args, '--store', store, ...(args[0] === 'run' ? ['--comment', 'false'] : [])], env)
const record = (name: string): RunRecord => JSON.parse(readFileSync(join(runDir(store, name), 'run.json'), 'utf8')) as RunRecord

describe('a pull request cannot replace what main depends on', () => {
  let mainRun: string
  let prRun: string

  test('pull-request run poisons an artifact and force-moves main\'s tag: main\'s consumers, by tag and by workflow, still get main\'s run', async () => {
    const m = await run(['run', 'produce', '--tag', 'data'], mainPush())
    expect(m.code).toBe(0)
    mainRun = runNameOf(m)
    expect(record(mainRun).trust).toEqual({ trusted: true, trigger: 'push on main', why: 'the default branch' })

    const p = await run(['run', 'produce', '-e', 'PAYLOAD=POISON', '-e', 'ACC=0.99', '--tag', 'data', '--force-tag'], forkPullRequest())
    expect(p.code).toBe(0)
    prRun = runNameOf(p)
    expect(record(prRun).trust).toMatchObject({ trusted: false, trigger: 'pull_request #7 from main' })
    // the pull request's tag went to its own namespace; main's tag still points at main's run
    const tag = JSON.parse(readFileSync(join(store, REPO_ID, 'tags', 'data.json'), 'utf8')) as { run: string }
    expect(tag.run).toBe(mainRun)
    const prTag = JSON.parse(readFileSync(join(store, REPO_ID, 'untrusted-tags', 'data.json'), 'utf8')) as { run: string }
    expect(prTag.run).toBe(prRun)
    // the pull request's run is the newest succeeded run of `produce`
    expect(record(prRun).submittedAt >= record(mainRun).submittedAt).toBe(true)

    for (const wf of ['by-tag', 'by-workflow']) {
      const c = await run(['run', wf], mainPush())
      expect(c.code).toBe(0)
      expect(c.out + c.err).toContain('GOT from-main')
      expect(c.out + c.err).not.toContain('POISON')
      const deps = record(runNameOf(c)).provenance!.deps
      expect(deps).toEqual([expect.objectContaining({ run: mainRun, trusted: true })])
    }
  })

  test('pull-request run uses main\'s trusted runs by default, and its own only when opted in', async () => {
    const c = await run(['run', 'by-workflow'], forkPullRequest())
    expect(c.out + c.err).toContain('GOT from-main')
    const opted = await run(['run', 'by-workflow', '--untrusted-deps'], forkPullRequest())
    expect(opted.out + opted.err).toContain('GOT POISON')
    const deps = record(runNameOf(opted)).provenance!.deps
    expect(deps).toEqual([expect.objectContaining({ run: prRun, trusted: false, via: 'latest succeeded run of produce' })])
    // the summary names the dep, its run and its trust
    const md = runMarkdown(record(runNameOf(opted)), [], { artifactUrl: () => '', artifactsUrl: 'https://example.com/a' })
    expect(md).toContain('| Trust | **untrusted**: pull\\_request \\#7 from main |')
    expect(md).toContain(`| Dep \`workflow:produce\` | run \`${prRun}\` — **untrusted**, by latest succeeded run of produce |`)
  })

  test('pull-request run cannot take main\'s tag through `tags add --force` either, and a forged trusted tag is refused', async () => {
    const t = await run(['tags', 'add', 'data', prRun, '--force'], forkPullRequest())
    expect(t.code).toBe(0)
    expect(t.err).toContain('among the untrusted runs\' tags')
    expect((JSON.parse(readFileSync(join(store, REPO_ID, 'tags', 'data.json'), 'utf8')) as { run: string }).run).toBe(mainRun)
    // a tag file written into the trusted namespace by hand (not by this tool) that names the PR's run
    const forged = join(store, REPO_ID, 'tags', 'forged.json')
    writeFileSync(forged, readFileSync(join(store, REPO_ID, 'untrusted-tags', 'data.json'), 'utf8').replace('"data"', '"forged"'))
    const rs = new RunStore(openStore({ kind: 'folder', root: store }))
    await expect(rs.resolveDep(REPO_ID, { kind: 'tag', name: 'forged' })).rejects.toThrow(/points at run `[^`]+`, which is untrusted \(pull_request #7 from main\)/)
  })

  test('pull-request run is never main\'s `baseline: auto`, and ps and tags list show the trust', async () => {
    const rs = new RunStore(openStore({ kind: 'folder', root: store }))
    const later = await run(['run', 'produce'], mainPush())
    const b = await resolveBaseline(rs, record(runNameOf(later)), 'auto')
    expect(b?.run).toBe(mainRun)
    expect(b?.metrics?.final.accuracy).toBe(0.5)
    const ps = await run(['ps', '--all'], mainPush())
    expect(ps.out).toMatch(new RegExp(`^${prRun}\\s.*untrusted: pull_request #7 from main`, 'm'))
    expect(ps.out).toMatch(new RegExp(`^${mainRun}\\s.*trusted: push on main`, 'm'))
    const tags = await run(['tags', 'list'], mainPush())
    expect(tags.out).toMatch(new RegExp(`^data\\s+${mainRun}\\s.*trusted$`, 'm'))
    expect(tags.out).toMatch(new RegExp(`^data\\s+${prRun}\\s.*untrusted$`, 'm'))
  })
})
