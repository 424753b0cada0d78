/**
 * The runner notices the job's end by an event (the job's pipe closing), not by its loop's tick:
 * with a tick of ten minutes, these runs still end as soon as their job does. Broken, they would
 * wait out the tick and fail on jest's timeout, whatever the machine's speed.
 */
import { describe, expect, test, afterAll } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { folderStore, logChunks, makePlan, removeTempDirs, runToEnd, statusOf, tempDir, waitFor } from './fixture.js'

function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

const LONG_TICK = { backend: { env: { DSTACK_TICK_MS: String(10 * 60 * 1000) } } }

describe('runner script: the end of the job wakes the loop', () => {
  afterAll(removeTempDirs)

  test('a job that ends is finished without waiting for a tick: status, exit code and the whole log', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { commands: ['echo first', 'echo last', 'exit 3'] }), LONG_TICK)
    expect(end).toMatchObject({ state: 'ended', exitCode: 3 })
    expect(statusOf(root)).toMatchObject({ phase: 'done', status: 'failed', exitCode: 3 })
    expect(logChunks(root).join('')).toContain('first\nlast\n')
  })

  test('the same through the secret redaction filter', async () => {
    const { root, loc } = await folderStore()
    const end = await runToEnd(makePlan(loc, { commands: ['echo "token hunter2 here"'] }), { ...LONG_TICK, secretEnv: { DSTACK_REDACT: 'hunter2' } })
    expect(end).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(statusOf(root)).toMatchObject({ phase: 'done', status: 'succeeded' })
    const log = logChunks(root).join('')
    expect(log).toContain('token *** here\n')
    expect(log).not.toContain('hunter2')
  })

  test('a job that leaves a process behind still ends: the tick is the fallback, and the leftover is killed', async () => {
    const { root, loc } = await folderStore()
    const pidFile = join(tempDir('leftover-'), 'pid')
    const end = await runToEnd(makePlan(loc, { commands: [`sleep 300 >/dev/null 2>&1 & echo $! > ${pidFile}`, 'echo started'] }), { backend: { env: { DSTACK_TICK_MS: '100' } } })
    expect(end).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(statusOf(root)).toMatchObject({ phase: 'done', status: 'succeeded' })
    const pid = Number(readFileSync(pidFile, 'utf8'))
    // killed with the job's group; a zombie until init reaps it
    await waitFor('the leftover process to be gone', () => !running(pid))
  })
})
