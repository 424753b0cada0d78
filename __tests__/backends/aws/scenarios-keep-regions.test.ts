/**
 * Scenarios of issue 25 (a failed run you can step into, regions in order): the boot console of an
 * instance that never reaches SSM, a run whose regions are tried in order, and a failed run's
 * instance kept for a while. The same real parts as scenarios.test.ts (s3rver, the real bootstrap
 * and runner run by bash with the real aws CLI, EC2/SSM doubles). `npm run e2e` runs this file.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { GetConsoleOutputCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import { UserError } from '../../../src/model/index.js'
import { startHarness, spec, type Harness } from './harness.js'

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
})
