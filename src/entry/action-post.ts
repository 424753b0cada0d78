/**
 * The action's `post:` step: the second line of defence against leaked machines. The main step
 * releases what it started on every exit path; if it was killed first, the ids it saved are still
 * here and get released now.
 */
import * as core from '@actions/core'
import { createBackend } from '../backends/index.js'
import { loadMachines, saveMachines } from '../ci/github.js'

export async function post(): Promise<void> {
  const machines = loadMachines()
  if (!machines.length) {
    core.info('no machine left to release')
    return
  }
  const failed = []
  for (const m of machines) {
    try {
      const backend = await createBackend(m.backend, { aws: { region: m.region ?? (core.getInput('region') || process.env.AWS_REGION) } })
      await backend.releaseMachine(m).finally(() => backend.close?.())
      core.info(`released ${m.id}`)
    } catch (e) {
      failed.push(m)
      core.warning(`could not release ${m.id}: ${(e as Error).message}; it terminates itself at max_duration, and \`mode: cleanup\` terminates it once expired`)
    }
  }
  saveMachines(failed)
}
