import { describe, it, expect } from '@jest/globals'
import { attemptOutcome, shouldRetry, exitCodeFor, attemptCost } from '../../src/orchestrate/outcome.js'

const retry = { onEvents: ['no-capacity', 'interruption'] as ('no-capacity' | 'interruption' | 'error')[], durationSec: 3600 }

describe('attemptOutcome', () => {
  it("trusts the runner's status.json when it finished", () => {
    expect(attemptOutcome({ phase: 'done', status: 'failed', exitCode: 3, reason: 'command 2 exited with 3' }, { state: 'ended', exitCode: 3 }, false)).toEqual({
      status: 'failed',
      exitCode: 3,
      reason: 'command 2 exited with 3',
      event: 'error'
    })
    expect(attemptOutcome({ phase: 'done', status: 'interrupted', reason: 'spot notice' }, { state: 'ended', exitCode: 143 }, false).event).toBe('interruption')
  })
  it('reports a reclaimed machine as interrupted, never failed, when the runner could not write', () => {
    const o = attemptOutcome({ phase: 'running' }, { state: 'ended', interrupted: true, reason: 'Server.SpotInstanceTermination' }, false)
    expect(o).toMatchObject({ status: 'interrupted', event: 'interruption', reason: 'Server.SpotInstanceTermination' })
  })
  it('reports a lost machine as failed with the reason', () => {
    expect(attemptOutcome(undefined, { state: 'ended', lost: true }, false)).toMatchObject({ status: 'failed', reason: expect.stringContaining('lost') })
  })
  it('is cancelled when the user cancelled and the runner did not report', () => {
    expect(attemptOutcome(undefined, { state: 'ended', exitCode: 143 }, true).status).toBe('cancelled')
  })
})

describe('shouldRetry', () => {
  const t0 = 1_000_000
  it('retries listed events within the duration', () => {
    expect(shouldRetry({ event: 'interruption' }, retry, t0, t0 + 60_000)).toBe(true)
    expect(shouldRetry({ event: 'no-capacity' }, retry, t0, t0 + 3_599_000)).toBe(true)
  })
  it('does not retry past the duration, unlisted events, or plain failures', () => {
    expect(shouldRetry({ event: 'interruption' }, retry, t0, t0 + 3_600_001)).toBe(false)
    expect(shouldRetry({ event: 'error' }, retry, t0, t0 + 1000)).toBe(false)
    expect(shouldRetry({}, retry, t0, t0 + 1000)).toBe(false)
  })
  it('counts the window from the end of the last provisioned attempt, as dstack does (runs/active.py::_should_retry_job)', () => {
    // a 5 h run interrupted at its end is retried: the hour starts when that attempt ended
    const end = t0 + 5 * 3_600_000
    expect(shouldRetry({ event: 'interruption' }, retry, t0, end + 60_000, end)).toBe(true)
    expect(shouldRetry({ event: 'no-capacity' }, retry, t0, end + 3_000_000, end)).toBe(true)
    expect(shouldRetry({ event: 'interruption' }, retry, t0, end + 3_600_001, end)).toBe(false)
    // dstack retries while the elapsed time is not greater than `duration`
    expect(shouldRetry({ event: 'no-capacity' }, retry, t0, t0 + 3_600_000)).toBe(true)
  })
})

describe('exitCodeFor', () => {
  it('is 0 only for succeeded', () => {
    expect(exitCodeFor('succeeded')).toBe(0)
    expect(exitCodeFor('failed', 7)).toBe(7)
    expect(exitCodeFor('failed')).toBe(1)
    expect(exitCodeFor('interrupted', 0)).toBe(1)
    expect(exitCodeFor('timed-out')).toBe(1)
    expect(exitCodeFor('cancelled')).toBe(1)
  })
})

describe('attemptCost', () => {
  it('bills per second with a 60 s minimum', () => {
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T00:00:10Z', 'succeeded')).toBe(0.06)
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T00:30:00Z', 'succeeded')).toBe(1.8)
  })
  it('does not bill a spot instance EC2 itself reclaimed within its first hour', () => {
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T00:30:00Z', 'interrupted', true)).toBe(0)
  })
  it('adds the root volume and the public IPv4 address for the same seconds, billed even when EC2 reclaimed the instance', () => {
    // one hour: 3.6 + 100 GiB gp3 (0.08 per GiB-month of 730 h) + 0.005 for the address
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', 'succeeded', false, { volumeGiB: 100, publicIpv4: true })).toBe(Math.round((3.6 + (100 * 0.08) / 730 + 0.005) * 10000) / 10000)
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T00:30:00Z', 'interrupted', true, { volumeGiB: 100, publicIpv4: true })).toBe(Math.round(((100 * 0.08) / 730 / 2 + 0.0025) * 10000) / 10000)
    // the 60 s minimum applies to them too
    expect(attemptCost(0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'succeeded', false, { publicIpv4: true })).toBe(Math.round((0.005 / 60) * 10000) / 10000)
  })
  it('bills an interrupted attempt that we stopped and terminated ourselves', () => {
    expect(attemptCost(3.6, '2026-01-01T00:00:00Z', '2026-01-01T00:30:00Z', 'interrupted')).toBe(1.8)
  })
})
