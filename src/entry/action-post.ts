/**
 * The action's `post:` step: the second line of defence against leaked machines, and where a
 * cancelled attempt's machine is released. The main step releases what it started on every exit
 * path except a cancellation; then (or if it was killed first) the ids it saved are still here.
 * Before terminating a machine, the post step makes sure its runner was asked to stop and waits,
 * bounded (cancel-wait.ts), for it to save artifacts, logs and status.json.
 */
import * as core from '@actions/core'
import { createBackend } from '../backends/index.js'
import { loadMachines, saveMachines } from '../ci/github.js'
import { openStore, RunStore } from '../store/index.js'
import { cancelWaitSec, loadAttemptRefs, saveThenReleaseAll, type LeftMachine } from './cancel-wait.js'
import { awsSession } from './aws-session.js'

export interface PostDeps {
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  pollMs?: number
}

export async function post(deps: PostDeps = {}): Promise<void> {
  const machines = loadMachines()
  if (!machines.length) {
    core.info('no machine left to release')
    return
  }
  const refs = loadAttemptRefs()
  const failed = []
  // the main step's role, when it assumed one (the post step gets the same inputs and OIDC runtime)
  const credentials = await awsSession({ roleArn: core.getInput('role-to-assume'), source: 'input `role-to-assume`', environ: process.env, region: core.getInput('region') || process.env.AWS_REGION, log: (l) => core.info(l) }).catch((e: Error) => {
    core.warning(`could not assume role-to-assume for the post step: ${e.message}; trying the default credentials`)
    return undefined
  })
  const items: LeftMachine[] = []
  for (const m of machines) {
    try {
      const backend = await createBackend(m.backend, { aws: { region: m.region ?? (core.getInput('region') || process.env.AWS_REGION), credentials } })
      const ref = refs.find((r) => r.machineId === m.id)
      items.push({ m, ref, backend, store: ref ? new RunStore(openStore(ref.store, { credentials })) : undefined })
    } catch (e) {
      failed.push(m)
      core.warning(`could not release ${m.id}: ${(e as Error).message}; it terminates itself at max_duration, and \`mode: cleanup\` terminates it once expired`)
    }
  }
  const results = await saveThenReleaseAll(items, { timeoutSec: cancelWaitSec(process.env), sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))), now: deps.now ?? Date.now, log: (l) => core.info(l), pollMs: deps.pollMs }).finally(() => {
    for (const it of items) it.backend.close?.()
  })
  for (const { m, error } of results) {
    if (!error) core.info(`released ${m.id}`)
    else {
      failed.push(m)
      core.warning(`could not release ${m.id}: ${error.message}; it terminates itself at max_duration, and \`mode: cleanup\` terminates it once expired`)
    }
  }
  saveMachines(failed)
}
