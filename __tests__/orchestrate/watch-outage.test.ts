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

  it('gives the attempt up as lost after the limit, with the last error', () => {
    const { o, advance } = outage(600_000)
    o.failed(new Error('first'), undefined)
    advance(599_000)
    expect(o.failed(new Error('still'), undefined)).toBeUndefined()
    advance(1_000)
    expect(o.failed(new Error('ECONNREFUSED'), undefined)).toEqual({ state: 'ended', lost: true, reason: 'the watch lost contact with the run for 10m 0s: ECONNREFUSED' })
  })
})
