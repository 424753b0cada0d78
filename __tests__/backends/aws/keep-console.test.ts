/** keep-on-failure and console output: the pure parts (deadline, duration, tags, console tail, bootstrap line). */
import { describe, it, expect } from '@jest/globals'
import { consoleTail } from '../../../src/backends/aws/console-output.js'
import { keepOnFailureSeconds, keptDeadline, keptUntil, sessionCommand, KEPT_UNTIL_TAG } from '../../../src/backends/aws/keep.js'
import { renderBootstrap } from '../../../src/backends/aws/bootstrap.js'
import { resolveOptions } from '../../../src/backends/aws/options.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('console output tail', () => {
  it('keeps the last lines, without escapes, control characters, carriage returns or empty lines', () => {
    const text = ['one', '', '\x1b[1;31mred\x1b[0m', 'bell\x07 and tab\tend', 'cr\r', '\x1b[?25hcursor'].join('\r\n')
    expect(consoleTail(b64(text))).toEqual(['one', 'red', 'bell and tab\tend', 'cr', 'cursor'])
    // an OSC hyperlink or title and bidi/zero-width characters are dropped too (the project's terminal rule)
    expect(consoleTail(b64('\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \u202eabc\u200b\n\x1b]0;title\x07x'))).toEqual(['link abc', 'x'])
    expect(consoleTail(b64(Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n')))).toEqual(Array.from({ length: 40 }, (_, i) => `l${i + 60}`))
    expect(consoleTail(b64('a\nb\nc'), 2)).toEqual(['b', 'c'])
    expect(consoleTail('')).toEqual([])
  })
})

describe('keep-on-failure', () => {
  it('parses a duration like max_duration; empty, 0 and off keep nothing', () => {
    expect(keepOnFailureSeconds('30m')).toBe(1800)
    expect(keepOnFailureSeconds('2h')).toBe(7200)
    expect(keepOnFailureSeconds(600)).toBe(600)
    expect(keepOnFailureSeconds('600')).toBe(600)
    for (const v of [undefined, '', '0', 0, 'off', 'false']) expect(keepOnFailureSeconds(v)).toBe(0)
    expect(() => keepOnFailureSeconds('soon')).toThrow(/keep-on-failure: invalid duration `soon`/)
    expect(resolveOptions({ region: 'us-east-1', keepOnFailure: '1h', env: {} }).keepOnFailureSec).toBe(3600)
    expect(resolveOptions({ region: 'us-east-1', env: {} }).keepOnFailureSec).toBe(0)
  })

  it('never keeps past the hard lifetime; a deadline in the tags counts only while it is ahead', () => {
    expect(keptDeadline(1000, 60, 1_000_000)).toBe(61_000)
    expect(keptDeadline(1000, 3600, 100_000)).toBe(100_000)
    const t = Date.parse('2026-11-26T12:30:00Z')
    expect(keptUntil({ [KEPT_UNTIL_TAG]: '2026-11-26T12:30:00.000Z' }, t - 1)).toBe(t)
    expect(keptUntil({ [KEPT_UNTIL_TAG]: '2026-11-26T12:30:00.000Z' }, t)).toBeUndefined()
    expect(keptUntil({}, t)).toBeUndefined()
    expect(keptUntil({ [KEPT_UNTIL_TAG]: 'garbage' }, t)).toBeUndefined()
    expect(sessionCommand('i-0123456789abcdef0', 'eu-west-1')).toBe('aws ssm start-session --target i-0123456789abcdef0 --region eu-west-1')
  })

  it('the bootstrap hands the kept seconds and the region to the runner, only when set', () => {
    const base = { bucket: 'b', scriptKey: 'k', scriptSha256: 'c'.repeat(64), s3Region: 'us-east-1', region: "us-west-2" }
    expect(renderBootstrap({ ...base, keepOnFailureSec: 1800 })).toContain("export DSTACK_KEEP_ON_FAILURE=1800 DSTACK_KEEP_REGION='us-west-2'")
    expect(renderBootstrap(base).join('\n')).not.toContain('DSTACK_KEEP_ON_FAILURE')
    expect(() => renderBootstrap({ ...base, keepOnFailureSec: 1.5 })).toThrow(/invalid keep-on-failure/)
  })
})
