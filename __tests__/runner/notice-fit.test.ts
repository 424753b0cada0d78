/**
 * The runner's notice-fit check (issue 14): checkpoints changed since the last sync, against the
 * upload speed measured by the earlier syncs and the time the spot notice left. The function is
 * taken from the runner's body as it is embedded and run by bash with given numbers (no timing involved).
 */
import { describe, it, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { RUNNER_BODY as BODY } from '../../src/runner/body.generated.js'

function fn(name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{[\\s\\S]*?^\\}`, 'm').exec(BODY)
  if (!m) throw new Error(`${name} not found in the runner's body`)
  return m[0]
}

function noticeFit(pending: number, bps: string, left: number): string {
  const script = `CHECKPOINT_INTERVAL=30\n${fn('human_bytes')}\n${fn('notice_fit')}\nnotice_fit "$@"`
  return execFileSync('bash', ['-c', script, 'bash', String(pending), bps, String(left)], { encoding: 'utf8' })
}

const MiB = 1024 * 1024

describe('notice_fit', () => {
  it('says when the changed checkpoints need longer than the notice left, at the measured speed', () => {
    expect(noticeFit(3000 * MiB, String(20 * MiB), 100)).toBe(
      'the checkpoints changed since the last sync (3.0GB) need about 150 s at the measured 20MB/s, but the spot notice left 100 s: they may not all be saved, the last complete sync (at most 30 s old) is kept'
    )
  })

  it('says nothing when they fit, when nothing changed, or when the speed was never measured', () => {
    expect(noticeFit(1000 * MiB, String(20 * MiB), 100)).toBe('')
    expect(noticeFit(0, String(20 * MiB), 100)).toBe('')
    expect(noticeFit(3000 * MiB, '', 100)).toBe('')
  })

  it('a notice whose time has passed leaves no time for anything that changed', () => {
    expect(noticeFit(1000, '', 0)).toBe('the spot notice came too late (its time had passed): the checkpoints changed since the last sync (1000B) may be lost, the last complete sync (at most 30 s old) is kept')
    expect(noticeFit(0, '', -5)).toBe('')
  })
})
