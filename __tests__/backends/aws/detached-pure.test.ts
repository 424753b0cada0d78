/** Pure parts of detached runs on AWS (docs/long-runs.md): the bootstrap's end, and the state of an attempt that no command watches. */
import { describe, it, expect } from '@jest/globals'
import { renderBootstrap, detachedRunnerLines } from '../../../src/backends/aws/bootstrap.js'
import { detachedExecState } from '../../../src/backends/aws/detached-handle.js'

const base = { bucket: 'b', scriptKey: 'p/runner.sh', scriptSha256: 'a'.repeat(64), s3Region: 'us-east-1', region: 'us-east-1' }

describe('detached bootstrap', () => {
  it('starts the runner in its own session, away from the command\'s pipes, and returns once its pid is noted', () => {
    const lines = renderBootstrap({ ...base, detached: true })
    expect(lines.slice(-detachedRunnerLines().length)).toEqual(detachedRunnerLines())
    const text = lines.join('\n')
    expect(text).toMatch(/^setsid bash -c .* <\/dev\/null >>"\$D\/runner.out" 2>&1 &$/m)
    expect(text).toContain('shutdown -h now')
    // the attached form passes the runner's stderr to SSM; the detached form has no pipe to SSM at all
    expect(text).not.toContain('tail -c 8000')
    expect(renderBootstrap(base).join('\n')).toContain('tail -c 8000')
  })
})

describe('detachedExecState', () => {
  it('running while the instance runs; interrupted on a spot reclaim; lost when it vanished', () => {
    expect(detachedExecState({ state: 'running', tags: {} })).toEqual({ state: 'running' })
    expect(detachedExecState({ state: 'terminated', reasonCode: 'Server.SpotInstanceTermination', tags: {} })).toMatchObject({ state: 'ended', interrupted: true, reclaimed: true })
    expect(detachedExecState({ state: 'terminated', reasonCode: 'Client.UserInitiatedShutdown', tags: {} })).toMatchObject({ state: 'ended', lost: true, reason: expect.stringMatching(/^lost: the machine vanished/) })
    expect(detachedExecState({ state: 'missing', tags: {} })).toMatchObject({ state: 'ended', lost: true })
    expect(detachedExecState({ state: 'terminated', reasonCode: 'Client.InstanceInitiatedShutdown', tags: {} })).toMatchObject({ state: 'ended', lost: true, reason: expect.stringMatching(/shut itself down/) })
  })
})
