/**
 * A handle on a local runner that another process started detached (`run -d`), for `attach`: it
 * tells from the runner's pid (on this host) whether the runner still runs, stops it with SIGTERM
 * (it still saves its artifacts, logs and status) and has nothing to release once it ended.
 */
import type { AttemptHandle, ExecState } from '../../model/backend.js'
import type { MachineInfo } from '../../model/record.js'
import { localRunnerLiveness } from './liveness.js'

export class ReattachedLocalAttempt implements AttemptHandle {
  constructor(
    readonly machine: MachineInfo,
    private readonly stop: (machine: MachineInfo) => Promise<void>
  ) {}

  async poll(): Promise<ExecState> {
    // `unknown` (another host sharing a folder store): the store's status.json tells the end
    return localRunnerLiveness(this.machine) === 'gone' ? { state: 'ended', lost: true, reason: `the runner (${this.machine.id}) is gone without a result` } : { state: 'running' }
  }

  async cancel(): Promise<void> {
    await this.stop(this.machine)
  }

  async release(): Promise<void> {
    // a detached runner ends on its own and removes its own folder
  }
}
