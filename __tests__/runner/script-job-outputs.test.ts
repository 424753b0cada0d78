/**
 * The runner gives the job $DSTACK_METRICS and $DSTACK_REPORT (files in its work folder) and stores
 * what the job wrote there as artifacts `_dstack/metrics.jsonl` and `_dstack/report.md`, listed in
 * the manifest like any other; a symlink planted there is not followed.
 */
import { describe, expect, test, afterAll } from '@jest/globals'
import { folderStore, makePlan, readKey, removeTempDirs, runPrefix, runToEnd, sha256, statusOf } from './fixture.js'

const P = runPrefix()
afterAll(() => removeTempDirs())

describe('runner: metrics and report files of the job', () => {
  test('written files are stored with the run and listed in the manifest, even without artifacts', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, {
      commands: [
        'echo "{\\"step\\": 1, \\"loss\\": 0.5}" >> "$DSTACK_METRICS"',
        'echo "{\\"accuracy\\": 0.9}" >> "$DSTACK_METRICS"',
        'printf "# Report\\n\\nok\\n" > "$DSTACK_REPORT"',
        'echo "paths: $DSTACK_METRICS $DSTACK_REPORT"'
      ]
    }))
    expect(end).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(statusOf(root)).toMatchObject({ status: 'succeeded' })
    const metrics = '{"step": 1, "loss": 0.5}\n{"accuracy": 0.9}\n'
    expect(readKey(root, `${P}/artifacts/_dstack/metrics.jsonl`)).toBe(metrics)
    expect(readKey(root, `${P}/artifacts/_dstack/report.md`)).toBe('# Report\n\nok\n')
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!)).toEqual([
      { path: '_dstack/metrics.jsonl', size: metrics.length, sha256: sha256(metrics) },
      { path: '_dstack/report.md', size: 13, sha256: sha256('# Report\n\nok\n') }
    ])
  })

  test('a failed job still stores them; a symlink in their place is not followed', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, {
      commands: ['mkdir -p out && echo a > out/a.txt', 'ln -s /etc/passwd "$DSTACK_REPORT"', 'echo "{\\"loss\\": 1}" > "$DSTACK_METRICS"', 'exit 3'],
      artifacts: [{ path: 'out', mount: false }]
    }))
    expect(end.exitCode).toBe(3)
    expect(readKey(root, `${P}/artifacts/_dstack/report.md`)).toBeUndefined()
    expect(JSON.parse(readKey(root, `${P}/artifacts.json`)!).map((e: { path: string }) => e.path)).toEqual(['out/a.txt', '_dstack/metrics.jsonl'])
  })

  test('DSTACK_METRICS and DSTACK_REPORT are reserved env names', async () => {
    const { loc } = await folderStore()
    const { renderRunnerScript } = await import('../../src/runner/render.js')
    expect(() => renderRunnerScript(makePlan(loc, { env: { DSTACK_METRICS: '/tmp/x' } }))).toThrow(/reserved/)
  })
})
