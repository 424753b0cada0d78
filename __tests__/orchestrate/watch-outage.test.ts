/** The watch rides out a short loss of credentials or network (issue 14). */
import { describe, it, expect } from '@jest/globals'
import { WatchOutage } from '../../src/orchestrate/watch-outage.js'

function outage(limitMs = 600_000) {
  let t = 0
  const said: string[] = []
  const o = new WatchOutage(limitMs, () => t, (m) => void said.push(m))
  return { o, said, advance: (ms: number) => (t += ms) }
}

describe('WatchOutage', () => {
  it('keeps watching within the limit, says when contact is lost and when it is back', () => {
    const { o, said, advance } = outage()
    expect(o.failed(new Error('AWS credentials expired'), undefined)).toBeUndefined()
    advance(60_000)
    expect(o.failed(new Error('socket hang up'), { phase: 'running' })).toBeUndefined()
    expect(o.ongoing).toBe(true)
    advance(30_000)
    o.ok()
    expect(o.ongoing).toBe(false)
    expect(said).toEqual([
      'lost contact with the run (AWS credentials expired); watching it through the store and trying again for up to 10m 0s. The instance keeps its own limits meanwhile (max_duration, self-destruct)',
      'contact with the run is back after 1m 30s (2 failed poll(s)): watching again'
    ])
    o.ok()
    expect(said).toHaveLength(2)
  })

  it('a runner that finished (status.json in the store) ends the attempt without the backend', () => {
    const { o } = outage()
    expect(o.failed(new Error('x'), { phase: 'done', status: 'succeeded', exitCode: 0 })).toEqual({ state: 'ended', exitCode: 0, interrupted: false })
    expect(o.failed(new Error('x'), { phase: 'done', status: 'interrupted', exitCode: 143 })).toEqual({ state: 'ended', exitCode: 143, interrupted: true })
  })

  it('an error that waiting does not clear (a missing permission) gives the attempt up after a minute, not ten', () => {
    const { o, advance } = outage(600_000)
    const denied = Object.assign(new Error('User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: s3:ListBucket'), { name: 'AccessDenied' })
    expect(o.failed(denied, undefined)).toBeUndefined()
    advance(59_000)
    expect(o.failed(denied, { phase: 'running' })).toBeUndefined()
    advance(1_000)
    expect(o.failed(denied, undefined)).toEqual({ state: 'ended', lost: true, reason: expect.stringMatching(/^the watch cannot read the run: User: .* \(this does not clear by waiting: check the permissions/) })
  })

  it('a transient error in between restarts the permanent-error clock; EC2 and SSM names count too', () => {
    const { o, advance } = outage(600_000)
    const ec2 = Object.assign(new Error('You are not authorized'), { name: 'UnauthorizedOperation' })
    o.failed(ec2, undefined)
    advance(50_000)
    o.failed(new Error('socket hang up'), undefined)
    advance(50_000)
    expect(o.failed(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }), undefined)).toBeUndefined()
    advance(60_000)
    expect(o.failed(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }), undefined)).toMatchObject({ lost: true })
  })

  it('gives the attempt up as lost after the limit, with the last error', () => {
    const { o, advance } = outage(600_000)
    o.failed(new Error('first'), undefined)
    advance(599_000)
    expect(o.failed(new Error('still'), undefined)).toBeUndefined()
    advance(1_000)
    expect(o.failed(new Error('ECONNREFUSED'), undefined)).toEqual({ state: 'ended', lost: true, reason: 'the watch lost contact with the run for 10m 0s: ECONNREFUSED' })
  })
})
