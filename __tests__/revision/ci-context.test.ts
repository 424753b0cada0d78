import { describe, it, expect } from '@jest/globals'
import { ciContextFromEnv } from '../../src/revision/index.js'
import { UserError } from '../../src/model/errors.js'

const SHA = 'a'.repeat(40)
const MERGE = 'b'.repeat(40)
const HEAD = 'c'.repeat(40)
const BASE = 'd'.repeat(40)

const github = (extra: Record<string, string>): Record<string, string> => ({
  GITHUB_ACTIONS: 'true',
  CI: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'octo/ml-repo',
  GITHUB_HEAD_REF: '',
  GITHUB_BASE_REF: '',
  ...extra
})

const noFile = (p: string): string => {
  throw new Error(`unexpected read of ${p}`)
}

describe('ciContextFromEnv: GitHub Actions', () => {
  it('push to a branch', () => {
    const ctx = ciContextFromEnv(
      github({ GITHUB_EVENT_NAME: 'push', GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main' }),
      noFile
    )
    expect(ctx).toEqual({
      platform: 'github',
      event: 'push',
      repoId: 'github.com/octo/ml-repo',
      repoUrl: 'https://github.com/octo/ml-repo',
      sha: SHA,
      ref: 'refs/heads/main',
      branch: 'main',
      warnings: []
    })
  })

  it('push of a tag has no branch', () => {
    const ctx = ciContextFromEnv(github({ GITHUB_EVENT_NAME: 'push', GITHUB_SHA: SHA, GITHUB_REF: 'refs/tags/v1.0', GITHUB_REF_NAME: 'v1.0' }))
    expect(ctx.ref).toBe('refs/tags/v1.0')
    expect(ctx.branch).toBeUndefined()
  })

  it('pull_request: sha is the merge commit, head/base/number from the payload file', () => {
    const payload = { pull_request: { number: 42, head: { sha: HEAD, ref: 'feature/x' }, base: { sha: BASE, ref: 'main' } } }
    const read: string[] = []
    const ctx = ciContextFromEnv(
      github({
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_SHA: MERGE,
        GITHUB_REF: 'refs/pull/42/merge',
        GITHUB_REF_NAME: '42/merge',
        GITHUB_HEAD_REF: 'feature/x',
        GITHUB_BASE_REF: 'main',
        GITHUB_EVENT_PATH: '/runner/event.json'
      }),
      (p) => {
        read.push(p)
        return JSON.stringify(payload)
      }
    )
    expect(read).toEqual(['/runner/event.json'])
    expect(ctx).toEqual({
      platform: 'github',
      event: 'pull_request',
      repoId: 'github.com/octo/ml-repo',
      repoUrl: 'https://github.com/octo/ml-repo',
      sha: MERGE,
      ref: 'refs/pull/42/merge',
      branch: 'feature/x',
      headSha: HEAD,
      baseSha: BASE,
      pr: 42,
      warnings: []
    })
  })

  it('pull_request without a readable payload still gets the number from the ref, with a warning', () => {
    const ctx = ciContextFromEnv(
      github({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_SHA: MERGE, GITHUB_REF: 'refs/pull/7/merge', GITHUB_HEAD_REF: 'fix', GITHUB_EVENT_PATH: '/nope.json' }),
      () => {
        throw new Error('ENOENT: no such file')
      }
    )
    expect(ctx.pr).toBe(7)
    expect(ctx.branch).toBe('fix')
    expect(ctx.headSha).toBeUndefined()
    expect(ctx.warnings.join('\n')).toMatch(/could not read the GitHub event payload \/nope\.json/)
  })

  it('pull_request_target keeps its event name; branch and head come from the pull request', () => {
    const payload = { pull_request: { number: 3, head: { sha: HEAD, ref: 'contrib' }, base: { sha: BASE } } }
    const ctx = ciContextFromEnv(
      github({ GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_SHA: BASE, GITHUB_REF: 'refs/heads/main', GITHUB_HEAD_REF: 'contrib', GITHUB_EVENT_PATH: '/e.json' }),
      () => JSON.stringify(payload)
    )
    expect(ctx).toMatchObject({ event: 'pull_request_target', sha: BASE, ref: 'refs/heads/main', branch: 'contrib', pr: 3, headSha: HEAD, baseSha: BASE })
  })

  it('schedule and workflow_dispatch run on the ref they name', () => {
    for (const event of ['schedule', 'workflow_dispatch']) {
      const ctx = ciContextFromEnv(
        github({ GITHUB_EVENT_NAME: event, GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/dev', GITHUB_REF_NAME: 'dev', GITHUB_EVENT_PATH: '/e.json' }),
        () => JSON.stringify({ inputs: { x: '1' }, ref: 'refs/heads/dev' })
      )
      expect(ctx).toEqual({
        platform: 'github',
        event,
        repoId: 'github.com/octo/ml-repo',
        repoUrl: 'https://github.com/octo/ml-repo',
        sha: SHA,
        ref: 'refs/heads/dev',
        branch: 'dev',
        warnings: []
      })
    }
  })

  it('GitHub Enterprise Server: host (with port) from GITHUB_SERVER_URL', () => {
    const ctx = ciContextFromEnv(github({ GITHUB_SERVER_URL: 'https://GHE.example.com:8443/', GITHUB_SHA: SHA, GITHUB_EVENT_NAME: 'push' }))
    expect(ctx.repoId).toBe('ghe.example.com:8443/octo/ml-repo')
    expect(ctx.repoUrl).toBe('https://ghe.example.com:8443/octo/ml-repo')
  })

  it('ignores values that are not commit shas, with a warning', () => {
    const ctx = ciContextFromEnv(github({ GITHUB_EVENT_NAME: 'push', GITHUB_SHA: 'HEAD; rm -rf /' }))
    expect(ctx.sha).toBeUndefined()
    expect(ctx.warnings.join('\n')).toMatch(/GITHUB_SHA/)
  })

  it('rejects a repository name that is not a valid repo id', () => {
    expect(() => ciContextFromEnv(github({ GITHUB_REPOSITORY: 'octo/../../etc' }))).toThrow(UserError)
  })
})

const gitlab = (extra: Record<string, string>): Record<string, string> => ({
  GITLAB_CI: 'true',
  CI: 'true',
  CI_SERVER_HOST: 'gitlab.example.com',
  CI_SERVER_FQDN: 'gitlab.example.com',
  CI_PROJECT_PATH: 'ml/vision/detector',
  CI_PROJECT_URL: 'https://gitlab.example.com/ml/vision/detector',
  CI_REPOSITORY_URL: 'https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com/ml/vision/detector.git',
  ...extra
})

describe('ciContextFromEnv: GitLab CI', () => {
  it('branch pipeline (push) with sub-groups', () => {
    const ctx = ciContextFromEnv(
      gitlab({ CI_PIPELINE_SOURCE: 'push', CI_COMMIT_SHA: SHA, CI_COMMIT_REF_NAME: 'main', CI_COMMIT_BRANCH: 'main' })
    )
    expect(ctx).toEqual({
      platform: 'gitlab',
      event: 'push',
      repoId: 'gitlab.example.com/ml/vision/detector',
      repoUrl: 'https://gitlab.example.com/ml/vision/detector',
      sha: SHA,
      ref: 'refs/heads/main',
      branch: 'main',
      warnings: []
    })
    expect(JSON.stringify(ctx)).not.toContain('SECRET')
  })

  it('merge request pipeline: iid, source branch and its head, diff base', () => {
    const ctx = ciContextFromEnv(
      gitlab({
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_COMMIT_SHA: HEAD,
        CI_COMMIT_REF_NAME: 'feature',
        CI_MERGE_REQUEST_IID: '15',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
        CI_MERGE_REQUEST_DIFF_BASE_SHA: BASE,
        CI_MERGE_REQUEST_REF_PATH: 'refs/merge-requests/15/head'
      })
    )
    expect(ctx).toEqual({
      platform: 'gitlab',
      event: 'merge_request_event',
      repoId: 'gitlab.example.com/ml/vision/detector',
      repoUrl: 'https://gitlab.example.com/ml/vision/detector',
      sha: HEAD,
      ref: 'refs/merge-requests/15/head',
      branch: 'feature',
      headSha: HEAD,
      baseSha: BASE,
      pr: 15,
      warnings: []
    })
  })

  it('merged results pipeline: sha is the merge commit, headSha the source branch head', () => {
    const ctx = ciContextFromEnv(
      gitlab({
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_COMMIT_SHA: MERGE,
        CI_MERGE_REQUEST_IID: '15',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: HEAD,
        CI_MERGE_REQUEST_DIFF_BASE_SHA: BASE
      })
    )
    expect(ctx).toMatchObject({ sha: MERGE, headSha: HEAD, baseSha: BASE, pr: 15, ref: 'refs/merge-requests/15/head' })
  })

  it('schedule and web pipelines keep GitLab event names', () => {
    for (const source of ['schedule', 'web', 'api']) {
      const ctx = ciContextFromEnv(gitlab({ CI_PIPELINE_SOURCE: source, CI_COMMIT_SHA: SHA, CI_COMMIT_REF_NAME: 'main', CI_COMMIT_BRANCH: 'main' }))
      expect(ctx).toMatchObject({ event: source, sha: SHA, branch: 'main', ref: 'refs/heads/main' })
      expect(ctx.pr).toBeUndefined()
    }
  })

  it('tag pipeline', () => {
    const ctx = ciContextFromEnv(gitlab({ CI_PIPELINE_SOURCE: 'push', CI_COMMIT_SHA: SHA, CI_COMMIT_REF_NAME: 'v2', CI_COMMIT_TAG: 'v2' }))
    expect(ctx.ref).toBe('refs/tags/v2')
    expect(ctx.branch).toBeUndefined()
  })

  it('host with a port: CI_SERVER_FQDN, else the project URL, else CI_SERVER_HOST', () => {
    const base = { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_SHA: SHA }
    expect(ciContextFromEnv(gitlab({ ...base, CI_SERVER_FQDN: 'gitlab.example.com:8080' })).repoId).toBe('gitlab.example.com:8080/ml/vision/detector')
    const noFqdn = gitlab({ ...base, CI_PROJECT_URL: 'https://gitlab.example.com:8443/ml/vision/detector' })
    delete noFqdn.CI_SERVER_FQDN
    expect(ciContextFromEnv(noFqdn).repoId).toBe('gitlab.example.com:8443/ml/vision/detector')
    const hostOnly = gitlab(base)
    delete hostOnly.CI_SERVER_FQDN
    delete hostOnly.CI_PROJECT_URL
    expect(ciContextFromEnv(hostOnly)).toMatchObject({
      repoId: 'gitlab.example.com/ml/vision/detector',
      repoUrl: 'https://gitlab.example.com/ml/vision/detector'
    })
  })
})

describe('ciContextFromEnv: neither', () => {
  it('is a local run, whatever else is set', () => {
    expect(ciContextFromEnv({ CI: 'true', GITHUB_ACTIONS: 'false', GITHUB_SHA: SHA, CI_COMMIT_SHA: SHA, USER: 'bob' }, noFile)).toEqual({
      platform: 'local',
      event: 'local',
      warnings: []
    })
  })
})
