/**
 * Is a local run's runner still there? Its machine id is `local:<pid>` on `machine.host`: on that
 * host, a pid that is gone, or that now belongs to another program, means the runner is gone.
 * On another host (a shared folder store) nothing can be told from the pid.
 */
import { readFileSync, existsSync } from 'node:fs'
import { hostname } from 'node:os'
import type { MachineInfo } from '../../model/record.js'

export type RunnerLiveness = 'alive' | 'gone' | 'unknown'

/**
 * A process that exited but was not reaped yet (state `Z` in /proc/<pid>/stat) still answers
 * `kill(pid, 0)`: an orphaned runner whose parent died waits there until init reaps it.
 */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return false
  }
}

export function localRunnerLiveness(machine: MachineInfo | undefined, thisHost = hostname()): RunnerLiveness {
  if (!machine || machine.backend !== 'local') return 'unknown'
  if (machine.host !== undefined && machine.host !== thisHost) return 'unknown'
  const m = /^local:(\d+)$/.exec(machine.id)
  const pid = m ? Number(m[1]) : NaN
  if (!Number.isSafeInteger(pid) || pid <= 1) return 'unknown'
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'gone'
  }
  if (isZombie(pid)) return 'gone'
  if (!existsSync('/proc/self')) return 'alive' // no /proc (macOS): trust the pid
  try {
    // the runner is `bash …/dstack-runner-XXXX/runner.sh`; anything else under that pid is a reuse
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dstack-runner-') ? 'alive' : 'gone'
  } catch {
    return 'gone'
  }
}
