/** Which group a run belongs to, from the inputs and the CI's variables (ci/run-group-env.ts). */
import { describe, it, expect } from '@jest/globals'
import { runGroupFrom } from '../../src/ci/run-group-env.js'

describe('seed group from the CI', () => {
  it('GitHub: the `group` input with the workflow run as pipeline, size and member from the matrix', () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '9876' }
    expect(runGroupFrom(env, { name: 'seeds', size: '3', member: '42' })).toEqual({ name: 'seeds', pipeline: '9876', size: 3, member: '42' })
    expect(runGroupFrom(env, { name: '' })).toBeUndefined()
  })

  it('GitLab parallel:matrix: a group without being asked, named after the job, sized CI_NODE_TOTAL', () => {
    const env = { GITLAB_CI: 'true', CI_PIPELINE_ID: '555', CI_NODE_TOTAL: '3', CI_NODE_INDEX: '2', CI_JOB_NAME: 'train: [2]' }
    expect(runGroupFrom(env, {})).toEqual({ name: 'train', pipeline: '555', size: 3, member: '2' })
    expect(runGroupFrom({ ...env, CI_JOB_NAME: 'train 2/3' }, {})).toEqual({ name: 'train', pipeline: '555', size: 3, member: '2' })
    // a plain GitLab job is no group
    expect(runGroupFrom({ GITLAB_CI: 'true', CI_JOB_NAME: 'train' }, {})).toBeUndefined()
  })

  it('a bad name or size is one clear error naming the field and the fix', () => {
    expect(() => runGroupFrom({}, { name: 'seeds; rm -rf /' })).toThrow(expect.objectContaining({ message: 'input `group` is "seeds; rm -rf /"', hint: expect.stringContaining('letters, digits') }))
    expect(() => runGroupFrom({}, { name: 'seeds', size: 'three' }, '--group')).toThrow(/--group-size is "three"/)
  })
})
