/**
 * Credentials that outlive one STS session (issue 14): the renewing web-identity provider against a
 * fake STS on loopback with a virtual clock, where the role and token come from (action input, CLI,
 * GitHub's Actions runtime, GitLab's id_tokens), and the warning when no role renews the session.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { createServer } from 'node:http'
import { renewingWebIdentityCredentials, roleSessionName, assertRoleArn } from '../../../src/backends/aws/renewing-credentials.js'
import { sessionEndWarning, sessionFactsFromEnv } from '../../../src/backends/aws/session-end.js'
import { awsSession, oidcTokenSource } from '../../../src/entry/aws-session.js'
import { UserError } from '../../../src/model/index.js'
import { fakeSts, listen, close, type FakeSts } from './fake-sts.js'

const ROLE = 'arn:aws:iam::123456789012:role/dstack-ci'
const T0 = Date.parse('2026-11-26T12:00:00Z')
const MIN = 60_000

let sts: FakeSts
let t = T0
const now = () => t

beforeEach(async () => {
  t = T0
  sts = await fakeSts(now)
})

afterEach(async () => {
  await close(sts.server)
})

function provider(over: Partial<Parameters<typeof renewingWebIdentityCredentials>[0]> = {}) {
  let n = 0
  const lines: string[] = []
  const p = renewingWebIdentityCredentials({ roleArn: ROLE, token: async () => `jwt-${++n}`, sessionName: 'dstack-run-gh-1-1', region: 'us-east-1', stsEndpoint: sts.url, now, log: (l) => void lines.push(l), ...over })
  return { p, lines }
}

describe('renewing web-identity credentials', () => {
  it('assumes the role once, reuses the session, and renews it 5 minutes before it ends with a fresh token', async () => {
    const { p, lines } = provider()
    const first = await p()
    expect(first).toMatchObject({ accessKeyId: 'S3RVER', sessionToken: 'session-1' })
    expect(first.expiration?.toISOString()).toBe('2026-11-26T13:00:00.000Z')
    t += 54 * MIN
    expect((await p()).sessionToken).toBe('session-1')
    t += 1 * MIN // 5 minutes left
    expect((await p()).sessionToken).toBe('session-2')
    expect(p.sessions).toBe(2)
    expect(p.expiresAt?.toISOString()).toBe('2026-11-26T13:55:00.000Z')
    expect(sts.calls).toEqual([
      { token: 'jwt-1', roleArn: ROLE, durationSeconds: '3600', sessionName: 'dstack-run-gh-1-1' },
      { token: 'jwt-2', roleArn: ROLE, durationSeconds: '3600', sessionName: 'dstack-run-gh-1-1' }
    ])
    expect(lines).toEqual([
      `assumed ${ROLE} with the job's OIDC token until 2026-11-26T13:00:00.000Z; the session is renewed before it ends`,
      `renewed the AWS session of ${ROLE} until 2026-11-26T13:55:00.000Z (session 2)`
    ])
    // nothing secret in what it says
    expect(lines.join('\n')).not.toMatch(/jwt-|session-\d|S3RVER/)
    // the SDK must not wrap it in its own (real-clock) memoization
    expect(p.memoized).toBe(true)
  })

  it('concurrent requests share one renewal', async () => {
    const { p } = provider()
    const all = await Promise.all([p(), p(), p(), p()])
    expect(new Set(all.map((c) => c.sessionToken))).toEqual(new Set(['session-1']))
    expect(sts.calls).toHaveLength(1)
  })

  it('a failed renewal keeps the session while it lasts, and fails once it has ended', async () => {
    const { p, lines } = provider()
    await p()
    t += 57 * MIN
    sts.failNext.push('InvalidIdentityToken')
    expect((await p()).sessionToken).toBe('session-1')
    expect(lines[1]).toMatch(/^renewing the AWS session failed \(.*InvalidIdentityToken.*\); the current one lasts until 2026-11-26T13:00:00.000Z$/)
    // the next call tries again, and succeeds
    expect((await p()).sessionToken).toBe('session-2')
    t += 61 * MIN
    sts.failNext.push('InvalidIdentityToken')
    await expect(p()).rejects.toThrow(/InvalidIdentityToken/)
  })

  it('no token: a clear error that says how to grant one', async () => {
    const { p } = provider({ token: async () => '' })
    const err = (await p().catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toBe(`no OIDC token to assume ${ROLE}`)
    expect(err.hint).toContain('id-token: write')
    expect(err.hint).toContain('DSTACK_AWS_ID_TOKEN')
  })

  it('role ARNs and session names are checked', () => {
    expect(assertRoleArn('input `role-to-assume`', ` ${ROLE} `)).toBe(ROLE)
    expect(assertRoleArn('x', 'arn:aws-us-gov:iam::123456789012:role/path/to/r')).toBe('arn:aws-us-gov:iam::123456789012:role/path/to/r')
    for (const bad of ['dstack-ci', 'arn:aws:iam::123:role/x', 'arn:aws:iam::123456789012:user/x', `${ROLE}\nx`]) {
      expect(() => assertRoleArn('input `role-to-assume`', bad)).toThrow(/input `role-to-assume` is not a role ARN/)
    }
    expect(roleSessionName('dstack-run-gl-99')).toBe('dstack-run-gl-99')
    expect(roleSessionName('a b/c;$(x)')).toBe('a-b-c---x-')
    expect(roleSessionName('x'.repeat(100))).toHaveLength(64)
  })
})

describe('where the role and the token come from', () => {
  it('no role: the default credentials (undefined)', async () => {
    expect(await awsSession({ roleArn: '', source: 'input `role-to-assume`', environ: {}, log: () => undefined })).toBeUndefined()
    expect(await awsSession({ roleArn: undefined, source: '--role-to-assume', environ: {}, log: () => undefined })).toBeUndefined()
  })

  it('a role but no OIDC token in the job: an error that names both platforms\' fix', async () => {
    const err = (await awsSession({ roleArn: ROLE, source: 'input `role-to-assume`', environ: {}, log: () => undefined }).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toBe(`input \`role-to-assume\` is set, but this job has no OIDC token to assume ${ROLE} with`)
    expect(err.hint).toMatch(/permissions: \{ id-token: write/)
    expect(err.hint).toMatch(/id_tokens: \{ DSTACK_AWS_ID_TOKEN: \{ aud: sts\.amazonaws\.com \} \}/)
  })

  it('GitLab: the id_tokens variable DSTACK_AWS_ID_TOKEN is exchanged at each renewal', async () => {
    const environ = { DSTACK_AWS_ID_TOKEN: 'gitlab-jwt', CI_JOB_ID: '777' }
    expect(oidcTokenSource(environ)?.from).toBe('the GitLab id_token DSTACK_AWS_ID_TOKEN')
    const lines: string[] = []
    const creds = (await awsSession({ roleArn: ROLE, source: 'DSTACK_ROLE_TO_ASSUME', environ, region: 'eu-west-1', stsEndpoint: sts.url, now, log: (l) => void lines.push(l) }))!
    t += 56 * MIN
    await creds()
    expect(sts.calls.map((c) => [c.token, c.sessionName])).toEqual([
      ['gitlab-jwt', 'dstack-run-gl-777'],
      ['gitlab-jwt', 'dstack-run-gl-777']
    ])
    expect(lines[0]).toMatch(/^assumed arn:aws:iam::123456789012:role\/dstack-ci with the job's OIDC token until /)
  })

  it('GitHub: a fresh token from the Actions runtime (audience sts.amazonaws.com) for each session', async () => {
    const asked: string[] = []
    let n = 0
    const runtime = await listen(
      createServer((req, res) => {
        asked.push(`${req.url} ${req.headers.authorization}`)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ value: `github-jwt-${++n}` }))
      })
    )
    const saved = { url: process.env.ACTIONS_ID_TOKEN_REQUEST_URL, token: process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN }
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = `${runtime.url}/token?api-version=2.0`
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'runtime-bearer'
    const write = process.stdout.write
    process.stdout.write = (() => true) as typeof process.stdout.write // core.setSecret's ::add-mask:: line
    try {
      const creds = (await awsSession({ roleArn: ROLE, source: 'input `role-to-assume`', environ: { ...process.env, GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' }, stsEndpoint: sts.url, now, log: () => undefined }))!
      t += 56 * MIN
      await creds()
      expect(sts.calls.map((c) => [c.token, c.sessionName])).toEqual([
        ['github-jwt-1', 'dstack-run-gh-42-2'],
        ['github-jwt-2', 'dstack-run-gh-42-2']
      ])
      expect(asked).toEqual([
        '/token?api-version=2.0&audience=sts.amazonaws.com Bearer runtime-bearer',
        '/token?api-version=2.0&audience=sts.amazonaws.com Bearer runtime-bearer'
      ])
    } finally {
      process.stdout.write = write
      if (saved.url === undefined) delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
      else process.env.ACTIONS_ID_TOKEN_REQUEST_URL = saved.url
      if (saved.token === undefined) delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
      else process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = saved.token
      await close(runtime.server)
    }
  })

  it('a role the token cannot assume fails the step at once, naming the trust policy', async () => {
    sts.failNext.push('AccessDenied')
    const err = (await awsSession({ roleArn: ROLE, source: 'input `role-to-assume`', environ: { DSTACK_AWS_ID_TOKEN: 'header.payload.signature' }, stsEndpoint: sts.url, now, log: () => undefined }).catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/^assuming arn:aws:iam::123456789012:role\/dstack-ci with the GitLab id_token DSTACK_AWS_ID_TOKEN failed: .*AccessDenied/)
    expect(err.hint).toContain('sts:AssumeRoleWithWebIdentity')
  })
})

describe('the session end, foreseen without a role', () => {
  const H = 3600
  it('warns when a temporary session ends before max_duration (+ margin), or when its end is unknown', () => {
    const facts = sessionFactsFromEnv({ AWS_SESSION_TOKEN: 'x', AWS_CREDENTIAL_EXPIRATION: new Date(T0 + H * 1000).toISOString() }, false)
    expect(facts).toEqual({ renewing: false, temporary: true, expiresAt: new Date(T0 + H * 1000) })
    expect(sessionEndWarning(facts, T0, 6 * H)).toMatch(/^the AWS session ends at 2026-11-26T13:00:00.000Z \(in 1h 0m 0s\), before this run may end \(max_duration 6h 0m 0s\): from then on this step cannot watch the run/)
    expect(sessionEndWarning(facts, T0 + 2 * H * 1000, 6 * H)).toMatch(/\(already\)/)
    // 1 h 15 min covers a 1 h run with the 15 min margin
    expect(sessionEndWarning({ ...facts, expiresAt: new Date(T0 + 75 * MIN) }, T0, H)).toBeUndefined()
    expect(sessionEndWarning({ ...facts, expiresAt: new Date(T0 + 74 * MIN) }, T0, H)).toMatch(/^the AWS session ends/)
    expect(sessionEndWarning(sessionFactsFromEnv({ AWS_SESSION_TOKEN: 'x' }, false), T0, 2 * H)).toMatch(/^the AWS credentials are a temporary session .*end is not known here .*max_duration 2h 0m 0s/)
  })

  it('says nothing for a renewed role, long-lived keys, or a bad expiration value', () => {
    expect(sessionEndWarning(sessionFactsFromEnv({ AWS_SESSION_TOKEN: 'x' }, true), T0, 6 * H)).toBeUndefined()
    expect(sessionEndWarning(sessionFactsFromEnv({ AWS_ACCESS_KEY_ID: 'AKIA' }, false), T0, 6 * H)).toBeUndefined()
    expect(sessionFactsFromEnv({ AWS_SESSION_TOKEN: 'x', AWS_CREDENTIAL_EXPIRATION: 'soon' }, false).expiresAt).toBeUndefined()
  })
})
