/** DSTACK_JOB_USER and the warning a local run gets when its job cannot run as its own OS user. */
import { describe, it, expect } from '@jest/globals'
import { jobUserMode, jobUserWarning } from '../../../src/backends/local/job-user.js'

describe('DSTACK_JOB_USER', () => {
  it('is auto by default, off with off/0/false/no, a user name otherwise', () => {
    expect(jobUserMode({})).toBe('auto')
    expect(jobUserMode({ DSTACK_JOB_USER: 'auto' })).toBe('auto')
    for (const v of ['off', '0', 'false', 'no']) expect(jobUserMode({ DSTACK_JOB_USER: v })).toBe('off')
    expect(jobUserMode({ DSTACK_JOB_USER: 'trainer' })).toEqual({ name: 'trainer' })
  })
  it('warns when the job cannot run as its own user, saying what it can reach', () => {
    const w = jobUserWarning('auto', { canSwitch: false })
    expect(w).toContain('not root and has no passwordless sudo')
    expect(w).toMatch(/\/proc.*GITHUB_ENV.*store.*runner's folder/s)
    expect(w).toContain('docs/trust-model.md')
  })
  it('is quiet when it can switch, when the job runs in an image, or when it is off on purpose', () => {
    expect(jobUserWarning('auto', { canSwitch: true })).toBeUndefined()
    expect(jobUserWarning('auto', { canSwitch: false, image: 'python:3.12' })).toBeUndefined()
    expect(jobUserWarning('off', { canSwitch: false })).toBeUndefined()
  })
})
