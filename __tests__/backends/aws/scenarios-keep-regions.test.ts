/**
 * Scenarios of issue 25 (a failed run you can step into, regions in order): the boot console of an
 * instance that never reaches SSM, a run whose regions are tried in order, and a failed run's
 * instance kept for a while. The same real parts as scenarios.test.ts (s3rver, the real bootstrap
 * and runner run by bash with the real aws CLI, EC2/SSM doubles). `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateTagsCommand, GetConsoleOutputCommand, RunInstancesCommand, TerminateInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2'
import { GetParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import { UserError } from '../../../src/model/index.js'
import { runMarkdown } from '../../../src/report/index.js'
import { awsError } from './fake-cloud.js'
import { startHarness, spec, PREFIX, REPO, RUN, type Harness } from './harness.js'

let h: Harness

beforeEach(async () => {
  h = await startHarness()
})

afterEach(async () => {
  await h.close()
})

async function expectNothingLeft(): Promise<void> {
  await h.sim.idle()
  expect(h.cloud.running().map((i) => `${i.id} ${i.state}`)).toEqual([])
}

describe('AWS scenarios: a failed run you can step into, regions in order', () => {
  it('console output: an instance that never reaches SSM fails with the tail of its boot console', async () => {
    h.cloud.nextOnlineAfter = Infinity
    const boot = [...Array.from({ length: 60 }, (_, i) => `[   ${i}.000000] boot line ${i}`), '\x1b[0;32m[  OK  ]\x1b[0m Started cloud-init.', 'cloud-init[812]: url_helper.py: Calling \'http://169.254.169.254\' failed\x07', 'amazon-ssm-agent: error: dial tcp: lookup ssm.us-east-1.amazonaws.com: i/o timeout\r']
    h.cloud.nextConsoleOutput = boot.join('\r\n') + '\r\n'
    const req = await h.request(1, spec())
    const err = (await h.backend({ ssmTimeoutSec: 300 }).start(req).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toContain('did not come Online in SSM within 300 s')
    const id = req.machines[0]!.id
    expect(err.message).toContain(`console output of ${id} (last 40 lines):`)
    expect(err.message).toContain('  | amazon-ssm-agent: error: dial tcp: lookup ssm.us-east-1.amazonaws.com: i/o timeout')
    expect(err.message).toContain('  | [  OK  ] Started cloud-init.')
    expect(err.message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/)
    expect(err.message).not.toContain('boot line 22\n') // only the last 40 lines
    expect(err.message).toContain('boot line 23')
    expect(h.cloud.ec2.commandCalls(GetConsoleOutputCommand).map((c) => c.args[0].input)).toEqual([{ InstanceId: id, Latest: true }])
    expect(h.cloud.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1)
    expect(req.lines.join('\n')).toContain(`console output of ${id}`)
    await expectNothingLeft()
  })

  it('next region: capacity and quota in the first region fall through to the next, with its own AMI, zones and prices; the store stays where it is', async () => {
    const zoneOf = (i: RunInstancesCommandInput) => i.Placement?.AvailabilityZone ?? ''
    h.cloud.launchRule = (i) => {
      if (!zoneOf(i).startsWith('us-east-1')) return undefined
      return i.InstanceMarketOptions?.MarketType === 'spot'
        ? awsError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded')
        : awsError('InsufficientInstanceCapacity', `We currently do not have sufficient ${String(i.InstanceType)} capacity in the Availability Zone you requested (${zoneOf(i)}).`, 500)
    }
    const req = await h.request(1, spec({ regions: ['us-east-1', 'us-west-2'], instanceTypes: ['g5.xlarge'] }))
    // dstack's `regions` list, with no region configured: the workflow's order
    const handle = await h.backend({ region: undefined }).start(req)
    const text = req.lines.join('\n')
    expect(text).toContain('nothing could be launched in us-east-1: trying the next region, us-west-2')
    // us-east-1: one spot launch (the quota skips its other zone), both on-demand zones; then us-west-2's cheapest spot
    expect(h.cloud.ec2.commandCalls(RunInstancesCommand).map((c) => `${zoneOf(c.args[0].input)} ${c.args[0].input.InstanceMarketOptions?.MarketType ?? 'on-demand'}`)).toEqual(['us-east-1a spot', 'us-east-1a on-demand', 'us-east-1b on-demand', 'us-west-2a spot'])
    expect(text).toMatch(/skipped|MaxSpotInstanceCountExceeded/)
    expect(handle.machine).toMatchObject({ region: 'us-west-2', zone: 'us-west-2a', market: 'spot', regionsTried: ['us-east-1', 'us-west-2'] })
    // each region's own AMI lookup
    const amiRegions = await Promise.all(h.cloud.ssm.commandCalls(GetParameterCommand).map((c) => (c.thisValue as { config: { region: () => Promise<string> } }).config.region()))
    expect(new Set(amiRegions)).toEqual(new Set(['us-east-1', 'us-west-2']))
    // the bootstrap reads the store in its own region, whichever region the machine is in
    const bootstrap = (h.cloud.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input.Parameters?.commands ?? []).join('\n')
    expect(bootstrap).toContain("aws s3 cp --only-show-errors --region 'us-east-1'")
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 0 })
    await handle.release()
    expect(await h.status(1)).toMatchObject({ status: 'succeeded' })
    expect(await h.keys(`${PREFIX}/${REPO}/runs/${RUN}/artifacts`)).toContain(`${PREFIX}/${REPO}/runs/${RUN}/artifacts/out/r.txt`)
    // the summary says where it was placed and which regions were tried
    const md = runMarkdown(
      { run: RUN, repoId: REPO, workflow: 'train', spec: req.spec, backend: 'aws', args: [], revision: { repoId: REPO, sha: 'c'.repeat(40), event: 'push', snapshotSha256: 'd'.repeat(64) }, status: 'succeeded', submittedAt: '2026-11-26T12:00:00Z', attempts: [{ n: 1, startedAt: '2026-11-26T12:00:00Z', status: 'succeeded', machine: handle.machine }], tags: [] },
      [],
      { artifactUrl: (p: string) => p, artifactsUrl: 'https://example/' }
    )
    expect(md).toContain(`| g5.xlarge us-west-2a ${handle.machine.id} \\(regions tried: us-east-1 → us-west-2\\) | spot |`)
    await expectNothingLeft()
  })

  it('keep on failure: a failed run\'s instance stays up to its deadline with the session line; the post step leaves it until then and ends it after', async () => {
    const req = await h.request(1, spec({ commands: ['echo "line 1"', 'exit 3'], maxDurationSec: 3600 }))
    const backend = h.backend({ keepOnFailure: '30m' })
    const handle = await backend.start(req)
    const id = handle.machine.id
    expect(await h.watch(handle)).toMatchObject({ state: 'ended', exitCode: 3 })
    const status = await h.status(1)
    // the runner re-armed its shutdown to the kept deadline and says how to step in (the reason reaches the log, summary and comment)
    expect(status).toMatchObject({ status: 'failed' })
    expect(String(status!.reason)).toMatch(new RegExp(`the machine is kept for debugging until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(30m\\): aws ssm start-session --target ${id} --region us-east-1`))
    const shutdowns = readFileSync(join(h.sim.instanceDir(id), 'shutdown.log'), 'utf8').trim().split('\n')
    expect(shutdowns).toEqual([expect.stringMatching(/^shutdown -h \+70 /), expect.stringMatching(/^shutdown -h \+30 dstack: run brave-otter-1 kept for debugging/)])

    await handle.release({ status: 'failed' })
    const until = new Date(h.clock.now() + 30 * 60_000).toISOString()
    expect(h.cloud.instances.get(id)).toMatchObject({ state: 'running', tags: expect.objectContaining({ 'dstack:kept-until': until, 'dstack:expires-at': until }) })
    expect(h.cloud.ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([{ Resources: [id], Tags: [{ Key: 'dstack:kept-until', Value: until }, { Key: 'dstack:expires-at', Value: until }] }])
    expect(req.lines).toContain(`keep on failure: ${id} is kept for debugging until ${until} (then it shuts itself down; the post step and \`cleanup\` end it on time)`)
    expect(req.lines).toContain(`step into it: aws ssm start-session --target ${id} --region us-east-1`)
    expect(h.cloud.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0)

    // the post step before the deadline: the kept instance is left alone
    const lines: string[] = []
    await backend.releaseMachine(handle.machine, (l) => lines.push(l))
    expect(lines).toEqual([`${id} is kept for debugging until ${until}: not terminated now (aws ssm start-session --target ${id} --region us-east-1)`])
    expect(h.cloud.instances.get(id)!.state).toBe('running')
    expect((await backend.cleanupExpired()).terminated).toEqual([])

    // past the deadline: the post step (or cleanup) ends it
    h.clock.advance(30 * 60_000 + 1000)
    await backend.releaseMachine(handle.machine)
    expect(h.cloud.instances.get(id)!.state).toBe('terminated')
    await expectNothingLeft()
  })

  it('keep on failure: a run that succeeds, or fails without the option, is terminated at once; a kept instance not ended by the post step is ended by cleanup', async () => {
    const ok = await h.request(1, spec({ maxDurationSec: 3600 }))
    const backend = h.backend({ keepOnFailure: 1800 })
    const h1 = await backend.start(ok)
    expect(await h.watch(h1)).toMatchObject({ state: 'ended', exitCode: 0 })
    expect(String((await h.status(1))!.reason)).not.toContain('kept')
    await h1.release({ status: 'succeeded' })
    expect(h.cloud.instances.get(h1.machine.id)!.state).toBe('terminated')

    const bad = await h.request(2, spec({ commands: ['exit 2'], maxDurationSec: 3600 }))
    const h2 = await h.backend().start(bad)
    expect(await h.watch(h2)).toMatchObject({ state: 'ended', exitCode: 2 })
    expect(String((await h.status(2))!.reason)).not.toContain('kept')
    await h2.release({ status: 'failed' })
    expect(h.cloud.instances.get(h2.machine.id)!.state).toBe('terminated')

    const kept = await h.request(3, spec({ commands: ['exit 4'], maxDurationSec: 3600 }))
    const h3 = await backend.start(kept)
    await h.watch(h3)
    await h3.release({ status: 'failed' })
    expect(h.cloud.instances.get(h3.machine.id)!.state).toBe('running')
    h.clock.advance(31 * 60_000)
    expect((await backend.cleanupExpired()).terminated).toEqual([h3.machine.id])
    await expectNothingLeft()
  })
})
