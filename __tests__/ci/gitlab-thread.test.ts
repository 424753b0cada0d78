/** The MR note through GitLab's notes API (a loopback fake), and the CLI writing it in an MR pipeline. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { startFakeGitlab, type FakeGitlab } from '../helpers/fake-gitlab.js'
import { gitlabMergeRequestThread } from '../../src/ci/gitlab-thread.js'
import { upsertSection } from '../../src/ci/comment-thread.js'
import { commentThreadFromEnv } from '../../src/ci/pr-comment.js'
import { parseSections } from '../../src/report/comment.js'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let gl: FakeGitlab
beforeAll(async () => {
  gl = await startFakeGitlab({ token: 'glpat-test', perPageMax: 100 })
})
afterAll(async () => {
  await gl.close()
})

describe('gitlabMergeRequestThread', () => {
  it('creates the note, then updates it across pages of a long discussion', async () => {
    const t = gitlabMergeRequestThread({ token: 'glpat-test', apiUrl: gl.apiUrl, projectId: 'acme/ml', mergeRequestIid: 4, projectUrl: 'https://gitlab.example.com/acme/ml' })
    for (let i = 0; i < 120; i++) await t.create(`note ${i}`)
    const r = await upsertSection(t, 'train', 'running')
    expect(r.action).toBe('created')
    expect(r.url).toMatch(/^https:\/\/gitlab\.example\.com\/acme\/ml\/-\/merge_requests\/4#note_\d+$/)
    await upsertSection(t, 'train', 'succeeded')
    const ours = gl.notes.get('acme/ml!4')!.filter((n) => n.body.startsWith('<!-- dstack-run-action -->'))
    expect(ours).toHaveLength(1)
    expect(parseSections(ours[0]!.body)).toEqual([{ workflow: 'train', markdown: 'succeeded' }])
    expect(gl.requests).toContain('GET /api/v4/projects/acme%2Fml/merge_requests/4/notes?sort=asc&order_by=created_at&per_page=100&page=2')
    expect(gl.requests.some((q) => q.startsWith('PUT /api/v4/projects/acme%2Fml/merge_requests/4/notes/'))).toBe(true)
  })

  it('a bad token fails with the scope it needs', async () => {
    const t = gitlabMergeRequestThread({ token: 'wrong', apiUrl: gl.apiUrl, projectId: '42', mergeRequestIid: 1 })
    await expect(upsertSection(t, 'train', 'x')).rejects.toThrow(/HTTP 401 .*DSTACK_GITLAB_TOKEN needs the `api` scope/)
  })

  it('is chosen only in merge request pipelines with DSTACK_GITLAB_TOKEN', () => {
    const base = { GITLAB_CI: 'true', CI_API_V4_URL: gl.apiUrl, CI_PROJECT_ID: '42' }
    expect(commentThreadFromEnv(base, undefined).why).toMatch(/not a merge request pipeline/)
    expect(commentThreadFromEnv({ ...base, CI_MERGE_REQUEST_IID: '3' }, 3).why).toMatch(/DSTACK_GITLAB_TOKEN is not set.*CI_JOB_TOKEN cannot write notes/)
    expect(commentThreadFromEnv({ ...base, CI_MERGE_REQUEST_IID: '3', DSTACK_GITLAB_TOKEN: 't' }, 3).thread?.where).toBe('merge request !3 of project 42')
  })
})

describe('dstack-run run in a merge request pipeline', () => {
  it('keeps one MR note with the run, and its link is an output', async () => {
    const repo = makeRepo({ '.dstack/workflows.yaml': 'workflows:\n  - name: train\n    provider: bash\n    commands:\n      - echo trained\n' })
    const store = mkdtempSync(join(tmpdir(), 'gl-note-store-'))
    const environ = {
      ...process.env,
      GITLAB_CI: 'true',
      CI_API_V4_URL: gl.apiUrl,
      CI_PROJECT_ID: '77',
      CI_PROJECT_PATH: 'acme/ml',
      CI_SERVER_HOST: 'gitlab.example.com',
      CI_PROJECT_URL: 'https://gitlab.example.com/acme/ml',
      CI_MERGE_REQUEST_IID: '9',
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_COMMIT_SHA: '',
      CI_JOB_URL: 'https://gitlab.example.com/acme/ml/-/jobs/123',
      DSTACK_GITLAB_TOKEN: 'glpat-test'
    }
    let out = ''
    let err = ''
    try {
      const code = await main(['run', 'train', '-C', repo.dir, '--store', store, '--json'], {
        environ,
        cwd: repo.dir,
        out: { write: (s: string) => ((out += s), true) },
        err: { write: (s: string) => ((err += s), true) },
        signal: new AbortController().signal
      })
      expect(err).not.toMatch(/comment/)
      expect(code).toBe(0)
      const { outputs } = JSON.parse(out.slice(out.indexOf('{\n')))
      expect(outputs['comment-url']).toMatch(/^https:\/\/gitlab\.example\.com\/acme\/ml\/-\/merge_requests\/9#note_\d+$/)
      const notes = gl.notes.get('77!9')!
      expect(notes).toHaveLength(1)
      expect(notes[0]!.body).toMatch(/`train` — run `[a-z]+-[a-z]+-\d+` succeeded/)
      expect(notes[0]!.body).toContain('| Job log | [open the CI job](https://gitlab.example.com/acme/ml/-/jobs/123) |')
      // written at the start (running) and at the end: one POST, then a PUT
      expect(gl.requests.filter((q) => q.startsWith('POST /api/v4/projects/77/'))).toHaveLength(1)
      expect(gl.requests.filter((q) => q.startsWith('PUT /api/v4/projects/77/'))).toHaveLength(1)
    } finally {
      repo.cleanup()
      rmSync(store, { recursive: true, force: true })
    }
  }, 60_000)
})
