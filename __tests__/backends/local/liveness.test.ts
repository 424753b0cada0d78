/** A runner that exited but was not reaped yet (a zombie, e.g. orphaned under an init that reaps late) is gone. */
import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { isZombie, localRunnerLiveness } from '../../../src/backends/local/liveness.js'
import { waitFor } from '../../runner/fixture.js'

describe('liveness of a local runner', () => {
  it('a process that exited and waits to be reaped counts as gone, though kill(pid, 0) still answers', async () => {
    // the short sleep's parent becomes a long sleep (exec), which never reaps it: a zombie
    const parent = spawn('bash', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const pid = Number((await new Promise<Buffer>((r) => parent.stdout!.once('data', r))).toString().trim())
      await waitFor('the child to become a zombie', () => isZombie(pid))
      expect(() => process.kill(pid, 0)).not.toThrow()
      expect(localRunnerLiveness({ id: `local:${pid}`, backend: 'local' })).toBe('gone')
      expect(isZombie(process.pid)).toBe(false)
    } finally {
      parent.kill('SIGKILL')
    }
  })
})
