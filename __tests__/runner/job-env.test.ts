import { describe, expect, test } from '@jest/globals'
import { ciJobEnv, runnerEnvironment } from '../../src/runner/job-env.js'
import { secretTexts, redactEnv } from '../../src/orchestrate/secret-values.js'
import { provenanceStatement } from '../../src/orchestrate/provenance.js'
import type { RunRecord } from '../../src/model/index.js'

describe('runnerEnvironment (local backend → runner)', () => {
  test('keeps what the runner needs, drops the CI inputs, tokens and command files', () => {
    const env = runnerEnvironment({
      PATH: '/bin', HOME: '/h', LC_ALL: 'C', AWS_PROFILE: 'p', AWS_SECRET_ACCESS_KEY: 's', DSTACK_S3_ENDPOINT: 'http://x', DOCKER_HOST: 'unix:///d',
      'INPUT_GITHUB-TOKEN': 't', ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_ID_TOKEN_REQUEST_URL: 'u', GITHUB_TOKEN: 't', GITHUB_OUTPUT: '/o', GITHUB_ENV: '/e',
      GITHUB_STATE: '/s', GITHUB_PATH: '/p', GITHUB_STEP_SUMMARY: '/m', CI_JOB_TOKEN: 't', DSTACK_GITLAB_TOKEN: 't', DSTACK_REDACT: 'x', NODE_OPTIONS: '--x'
    })
    expect(Object.keys(env).sort()).toEqual(['AWS_PROFILE', 'AWS_SECRET_ACCESS_KEY', 'DOCKER_HOST', 'DSTACK_S3_ENDPOINT', 'HOME', 'LC_ALL', 'PATH'])
  })
  test('ciJobEnv picks only the documented CI variables', () => {
    expect(ciJobEnv({ GITHUB_SHA: 'a', GITHUB_TOKEN: 't', CI_COMMIT_SHA: 'b', CI_JOB_TOKEN: 't', CI: 'true', RUNNER_TEMP: '/t' })).toEqual({ GITHUB_SHA: 'a', CI_COMMIT_SHA: 'b', CI: 'true' })
  })
})

describe('secretTexts', () => {
  test('each value, the raw value inside a larger one, each line, short ones; longest first', () => {
    const spec = { secretEnv: { AUTH: 'Bearer ${{ secrets.TOK }}', KEY: '${{ env.KEY }}', PIN: '${{ secrets.PIN }}' } }
    const environ = { TOK: 'tok123', KEY: 'l1\nl2', PIN: '42' }
    const texts = secretTexts(spec, { AUTH: 'Bearer tok123', KEY: 'l1\nl2', PIN: '42' }, environ)
    expect(texts).toEqual(['Bearer tok123', 'tok123', 'l1\nl2', '42', 'l1', 'l2'])
    expect(redactEnv(texts)).toEqual({ DSTACK_REDACT: 'Bearer tok123\ntok123\n42\nl1\nl2' })
    expect(redactEnv([])).toEqual({})
  })
})

describe('provenanceStatement', () => {
  test('no statement without a subject', () => {
    expect(provenanceStatement({} as RunRecord, [], 'a'.repeat(64))).toBeUndefined()
  })
})
