/**
 * The PR comment through the real Octokit of @actions/github against a loopback GitHub that checks
 * every request and response against GitHub's OpenAPI description.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { startFakeGithub, type FakeGithub } from '../helpers/fake-github.js'
import { githubPullRequestThread } from '../../src/ci/github-thread.js'
import { upsertSection } from '../../src/ci/comment-thread.js'
import { commentThreadFromEnv, PrCommenter } from '../../src/ci/pr-comment.js'
import { parseSections } from '../../src/report/comment.js'
import type { RunRecord } from '../../src/model/index.js'

let gh: FakeGithub
beforeAll(async () => {
  gh = await startFakeGithub({ owner: 'acme', repo: 'ml' })
})
afterAll(async () => {
  expect(gh.violations).toEqual([])
  await gh.close()
})

const thread = (pr: number) => githubPullRequestThread({ token: 'ghs_test', repository: 'acme/ml', pullRequest: pr, baseUrl: gh.url })

describe('githubPullRequestThread', () => {
  it('creates one comment, then updates it, with requests GitHub documents', async () => {
    const t = thread(12)
    const first = await upsertSection(t, 'train', '### train running')
    expect(first.action).toBe('created')
    expect(first.url).toMatch(/^https:\/\/github\.com\/acme\/ml\/pull\/12#issuecomment-\d+$/)
    await upsertSection(t, 'evaluate', '### evaluate running')
    await upsertSection(t, 'train', '### train succeeded')
    const comments = gh.comments.get(12)!
    expect(comments).toHaveLength(1)
    expect(parseSections(comments[0]!.body)).toEqual([
      { workflow: 'train', markdown: '### train succeeded' },
      { workflow: 'evaluate', markdown: '### evaluate running' }
    ])
    expect(gh.requests).toContain('POST /repos/acme/ml/issues/12/comments')
    expect(gh.requests.filter((r) => r.startsWith('PATCH /repos/acme/ml/issues/comments/'))).toHaveLength(2)
    expect(gh.violations).toEqual([])
  })

  it('finds its comment on a later page of a long conversation', async () => {
    const t = thread(13)
    for (let i = 0; i < 130; i++) await t.create(`comment ${i}`)
    await upsertSection(t, 'train', 'first')
    await upsertSection(t, 'train', 'second')
    const ours = gh.comments.get(13)!.filter((c) => c.body.startsWith('<!-- dstack-run-action -->'))
    expect(ours).toHaveLength(1)
    expect(parseSections(ours[0]!.body)[0]!.markdown).toBe('second')
    expect(gh.requests.some((r) => r === 'GET /repos/acme/ml/issues/13/comments')).toBe(true)
    expect(gh.violations).toEqual([])
  })
})

describe('the fake GitHub itself', () => {
  it('refuses what the description of GitHub does not allow, so the checks above mean something', async () => {
    const post = (path: string, body: unknown) => fetch(`${gh.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await post('/repos/acme/ml/issues/12/comments', { text: 'no body field' })).status).toBe(599)
    expect((await post('/repos/acme/ml/issues/twelve/comments', { body: 'x' })).status).toBe(599)
    expect((await post('/repos/acme/ml/pulls/12/comment', { body: 'x' })).status).toBe(599)
    expect((await fetch(`${gh.url}/repos/acme/ml/issues/12/comments?per_page=100&colour=red`)).status).toBe(599)
    expect(gh.violations).toEqual([
      expect.stringMatching(/request body: .*must have required property 'body'/),
      expect.stringMatching(/path parameter issue_number=twelve/),
      expect.stringMatching(/no such path and method/),
      expect.stringMatching(/unknown query parameter colour/)
    ])
    gh.violations.length = 0
  })
})

describe('PrCommenter on GitHub', () => {
  const record = (status: RunRecord['status']): RunRecord =>
    ({
      run: 'brave-otter-1',
      repoId: 'github.com/acme/ml',
      workflow: 'train',
      spec: {},
      revision: { repoId: 'github.com/acme/ml', sha: 'a'.repeat(40), event: 'pull_request', pr: 21, snapshotSha256: 'f'.repeat(64) },
      backend: 'local',
      args: [],
      status,
      submittedAt: '2026-11-26T10:00:00.000Z',
      attempts: [],
      tags: []
    }) as unknown as RunRecord
  const env = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/ml', GITHUB_API_URL: '' }
  const urls = () => ({ artifactUrl: (p: string) => `s3://b/${p}`, artifactsUrl: 's3://b/' })

  it('writes "running" at the start and the result at the end, in one comment', async () => {
    const warnings: string[] = []
    const c = new PrCommenter({
      mode: 'auto',
      choose: (pr) => commentThreadFromEnv({ ...env, GITHUB_API_URL: gh.url }, pr, { githubToken: 'ghs_test' }),
      jobUrl: 'https://github.com/acme/ml/actions/runs/9',
      urls,
      warn: (m) => void warnings.push(m)
    })
    c.onEvent({ type: 'status', status: 'running', record: record('running') })
    const done = await c.finish(record('succeeded'), [{ path: 'model/w.json', size: 9, sha256: 'b'.repeat(64) }])
    expect(warnings).toEqual([])
    expect(done?.url).toMatch(/pull\/21#issuecomment-/)
    const body = gh.comments.get(21)![0]!.body
    expect(body).toContain('run `brave-otter-1` succeeded')
    // an s3:// URL is no link a reviewer can open (only http(s) of known hosts are linked)
    expect(body).toContain('| model/w.json | 9 B |')
    expect(body).toContain('| Job log | [open the CI job](https://github.com/acme/ml/actions/runs/9) |')
    expect(gh.requests.filter((r) => r === 'POST /repos/acme/ml/issues/21/comments')).toHaveLength(1)
  })

  it('a token without write access is a warning that says which permission to add', async () => {
    const warnings: string[] = []
    gh.failNext('issues/create-comment', 403)
    const c = new PrCommenter({
      mode: 'auto',
      choose: () => commentThreadFromEnv({ ...env, GITHUB_API_URL: gh.url }, 22, { githubToken: 'ghs_readonly' }),
      urls,
      warn: (m) => void warnings.push(m)
    })
    expect(await c.finish(record('failed'), [])).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/could not write the comment on pull request acme\/ml#22: .*permissions: pull-requests: write/)
  })

  it('auto stays quiet outside pull requests; always says why it cannot comment', async () => {
    const warnings: string[] = []
    const choose = (pr: number | undefined) => commentThreadFromEnv(env, pr, { githubToken: 't' })
    const push = { ...record('succeeded'), revision: { ...record('succeeded').revision, pr: undefined } }
    expect(await new PrCommenter({ mode: 'auto', choose, urls, warn: (m) => void warnings.push(m) }).finish(push, [])).toBeUndefined()
    expect(await new PrCommenter({ mode: 'always', choose, urls, warn: (m) => void warnings.push(m) }).finish(push, [])).toBeUndefined()
    const requestsBefore = gh.requests.length
    // `never` on a pull request: not one request to GitHub
    expect(await new PrCommenter({ mode: 'never', choose: (pr) => commentThreadFromEnv({ ...env, GITHUB_API_URL: gh.url }, pr, { githubToken: 't' }), urls, warn: (m) => void warnings.push(m) }).finish(record('succeeded'), [])).toBeUndefined()
    expect(gh.requests.length).toBe(requestsBefore)
    expect(warnings).toEqual(['no PR / MR comment: this is not a pull request run'])
  })
})
