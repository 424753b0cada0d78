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
  it('keeps inner spaces as they are (GitLab has no quoting: quotes would stay in the value)', () => {
    const r = dotenvOutputs({ reason: 'all commands exited with 0', status: 'failed' })
    expect(r.text).toBe('DSTACK_REASON=all commands exited with 0\nDSTACK_STATUS=failed\n')
    expect(r.skipped).toEqual([])
  })
  it('leaves out values GitLab cannot carry unchanged, and says which', () => {
    const r = dotenvOutputs({ reason: ' padded', note: 'a\nb', status: 'failed' })
    expect(r.text).toBe('DSTACK_STATUS=failed\n')
    expect(r.skipped).toEqual([
      { name: 'reason', why: 'leading or trailing whitespace (GitLab strips it)' },
      { name: 'note', why: 'multi-line value' }
    ])
  })
  it('stays under the size limit by dropping the artifact list first', () => {
    const r = dotenvOutputs({ artifacts: 'x'.repeat(200), status: 'succeeded', 'run-name': 'a-b-1' }, 60)
    expect(r.text).toBe('DSTACK_STATUS=succeeded\nDSTACK_RUN_NAME=a-b-1\n')
    expect(r.skipped).toEqual([{ name: 'artifacts', why: "the dotenv report would reach GitLab's 60-byte limit" }])
    expect(Buffer.byteLength(r.text)).toBeLessThan(60)
  })
  it('writes at most the variable count every GitLab accepts', () => {
    const many = Object.fromEntries(Array.from({ length: 22 }, (_, i) => [`o${i}`, 'v']))
    const r = dotenvOutputs(many)
    expect(r.text.trim().split('\n')).toHaveLength(20)
    expect(r.skipped.map((s) => s.name)).toEqual(['o20', 'o21'])
  })
  it('parses back as GitLab parses it (^(.*?)=(.*)$, both sides stripped)', () => {
    const outputs = { 'run-name': 'a-b-1', reason: 'the job exited with 3 (see `commands[1]`) "quoted" #1', tags: '["x y"]', 'artifacts-url': 's3://b/p=q/' }
    const parsed = Object.fromEntries(
      dotenvOutputs(outputs)
        .text.trim()
        .split('\n')
        .map((l) => /^(.*?)=(.*)$/.exec(l)!.slice(1, 3).map((s) => s.trim()))
    )
    expect(parsed).toEqual({ DSTACK_RUN_NAME: 'a-b-1', DSTACK_REASON: outputs.reason, DSTACK_TAGS: '["x y"]', DSTACK_ARTIFACTS_URL: 's3://b/p=q/' })
  })
})
