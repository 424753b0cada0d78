import { describe, it, expect } from '@jest/globals'
import { dotenvOutputs, dotenvKey } from '../../src/ci/gitlab.js'

describe('GitLab dotenv outputs', () => {
  it('maps output names to DSTACK_ variables', () => {
    expect(dotenvKey('run-name')).toBe('DSTACK_RUN_NAME')
    expect(dotenvKey('artifacts-url')).toBe('DSTACK_ARTIFACTS_URL')
  })
  it('writes one KEY=value line per non-empty output', () => {
    const r = dotenvOutputs({ 'run-name': 'wet-mangust-1', status: 'succeeded', cost: '', tags: '["a"]' })
    expect(r.text).toBe('DSTACK_RUN_NAME=wet-mangust-1\nDSTACK_STATUS=succeeded\nDSTACK_TAGS=["a"]\n')
    expect(r.skipped).toEqual([])
  })
  it('leaves out values GitLab would reject, and says which', () => {
    const r = dotenvOutputs({ reason: 'a command exited with 3', note: 'a\nb', status: 'failed' })
    expect(r.text).toBe('DSTACK_STATUS=failed\n')
    expect(r.skipped.map((s) => s.name).sort()).toEqual(['note', 'reason'])
  })
  it('stays under the size limit by dropping the artifact list first', () => {
    const r = dotenvOutputs({ artifacts: 'x'.repeat(200), status: 'succeeded', 'run-name': 'a-b-1' }, 60)
    expect(r.text).toBe('DSTACK_STATUS=succeeded\nDSTACK_RUN_NAME=a-b-1\n')
    expect(r.skipped).toEqual([{ name: 'artifacts', why: 'the dotenv report would exceed 60 bytes' }])
    expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(60)
  })
})
