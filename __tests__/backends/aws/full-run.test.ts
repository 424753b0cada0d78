/**
 * The whole run through the orchestrator (src/orchestrate runWorkflow) with the AWS backend: a real
 * git repo and workflow file, the S3 store on s3rver, EC2/SSM doubles, simulated instances running
 * the real bootstrap and runner. A spot interruption mid-run, then the retry on on-demand; both
 * attempts' logs are kept; no instance is left. `npm run e2e` runs this file too.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { attemptCost, runWorkflow, type RunEvent } from '../../../src/orchestrate/index.js'
import { RunStore } from '../../../src/store/index.js'
import { makeRepo } from '../../helpers/git-repo.js'
import { startHarness, until, WakingS3Store, type Harness } from './harness.js'

const TASK = `type: task
name: train
commands:
  - echo "line 1"
  - if [ "$DSTACK_ATTEMPT" = 1 ]; then sleep 60; fi
  - echo "line 2"; echo "line 3"
  - mkdir -p out && echo "result $DSTACK_ATTEMPT" > out/r.txt
artifacts:
  - out
resources:
  gpu: A10G
spot_policy: auto
regions: [us-east-1]
`

let h: Harness
let repo: { dir: string; cleanup: () => void }

beforeAll(async () => {
  h = await startHarness()
  repo = makeRepo({ '.dstack/train.dstack.yml': TASK })
})

afterAll(async () => {
  await h.close()
  repo.cleanup()
})

describe('aws backend scenarios through the orchestrator', () => {
  it('interruption mid-run, then a successful on-demand retry; both attempts\' logs kept, no instance left', async () => {
    const objects = new WakingS3Store(h.s3)
    const store = new RunStore(objects)
    const backend = h.backend()
    const events: RunEvent[] = []

    // AWS announces it will reclaim the first (spot) instance once its job has printed its first line,
    // and takes it back once its runner has saved everything: when its last status.json arrives, before
    // S3 stores it (so before the orchestrator can end the attempt and terminate the instance itself)
    let reclaimed = false
    await h.onRunnerPut((key, body) => {
      if (reclaimed || !/\/attempts\/1\/status\.json$/.test(key) || !body.toString().includes('"phase":"done"')) return
      reclaimed = true
      h.cloud.reclaim([...h.cloud.instances.values()][0]!.id)
    })
    let done = false
    const reclaimer = (async () => {
      await until(() => done || [...h.cloud.instances.values()].some((i) => h.jobLog(i.id, 1).includes('line 1')), 60_000)
      if (done) return
      const first = [...h.cloud.instances.values()][0]!
      h.sim.announceInterruption(first.id)
    })()

    const rec = await runWorkflow({
      repoDir: repo.dir,
      workflow: 'train',
      args: [],
      environ: {},
      backend,
      store,
      storeLocation: objects.location,
      signal: new AbortController().signal,
      emit: (e) => void events.push(e),
      pollIntervalMs: 200,
      // the spot reclaim ends attempt 1 through the backend: do not let the quiet backoff delay it
      pace: { slowMs: 1000 }
    }).finally(() => (done = true))
    await reclaimer

    const info = events.filter((e) => e.type === 'info').map((e) => (e as { message: string }).message)
    expect(rec.attempts.map((a) => [a.status, a.machine?.market])).toEqual([
      ['interrupted', 'spot'],
      ['succeeded', 'on-demand']
    ])
    expect(rec.status).toBe('succeeded')
    expect(info.join('\n')).toMatch(/attempt 1 was interrupted .*on-demand first/)
    // both attempts' logs are in the store; nothing is lost
    const logs = events.filter((e) => e.type === 'log').map((e) => e as { attempt: number; text: string })
    const a1 = logs.filter((l) => l.attempt === 1).map((l) => l.text).join('')
    const a2 = logs.filter((l) => l.attempt === 2).map((l) => l.text).join('')
    expect(a1).toContain('line 1')
    expect(a1).toMatch(/spot interruption notice/)
    for (const l of ['line 1', 'line 2', 'line 3']) expect(a2).toContain(l)
    expect(await store.listLogChunks(rec.repoId, rec.run, 1)).not.toEqual([])
    expect(await objects.getText(`${rec.repoId}/runs/${rec.run}/artifacts/out/r.txt`)).toBe('result 2\n')
    // AWS does not bill a spot instance it interrupted in its first hour; its volume and public IPv4
    // address are billed for the seconds it lived (from its launch)
    const m1 = rec.attempts[0]!.machine!
    expect(m1).toMatchObject({ volumeGiB: expect.any(Number), publicIpv4: true })
    expect(rec.attempts[0]!.costUsd).toBe(attemptCost(m1.pricePerHour!, m1.launchedAt!, rec.attempts[0]!.endedAt!, 'interrupted', true, { volumeGiB: m1.volumeGiB, publicIpv4: true }))
    await h.sim.idle()
    expect(h.cloud.running()).toEqual([])
    expect(h.cloud.instances.size).toBe(2)
  }, 120_000)
})
