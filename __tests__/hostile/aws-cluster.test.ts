/**
 * Hostile: multi-node tasks on the AWS backend (EC2 and SSM doubles, simulated instances running
 * the real bootstrap and runner). A group name made of shell, and secret values made of shell, on a
 * cluster of two; and values that are not what EC2 gives never reach the one command all nodes run.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SendCommandCommand } from '@aws-sdk/client-ssm'
import { clusterBootstrapLines } from '../../src/backends/aws/bootstrap.js'
import type { ExecState } from '../../src/model/index.js'
import { startHarness, spec, type Harness } from '../backends/aws/harness.js'

let h: Harness
let pwnDir: string
let pwn: string
let ended: ExecState[]
let commandText: string

beforeAll(async () => {
  pwnDir = mkdtempSync(join(tmpdir(), 'hostile-pwn-'))
  pwn = join(pwnDir, 'PWNED')
  h = await startHarness()
  const name = `$(touch ${pwn})'`
  const s = spec({
    nodes: 2,
    artifacts: [],
    commands: ['echo "secret has ${#TOKEN} chars"'],
    groups: [
      { name, nodes: 1, commands: ['echo "secret has ${#TOKEN} chars"'], ports: [] },
      { name: 'workers', nodes: 1, commands: ['echo "secret has ${#TOKEN} chars"'], ports: [] }
    ],
    secretEnv: { TOKEN: '${{ secrets.TOKEN }}' }
  })
  const req = await h.request(1, s, { secretEnv: { TOKEN: `'; touch ${pwn}; '$(touch ${pwn})` } })
  const handle = await h.backend().start(req)
  commandText = JSON.stringify(h.cloud.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input)
  await h.watch(handle)
  ended = await handle.pollNodes!()
  await handle.release()
}, 120_000)

afterAll(async () => {
  await h.close()
  rmSync(pwnDir, { recursive: true, force: true })
})

describe('aws clusters never run what the user wrote, nor what EC2 did not give', () => {
  test('a group name made of shell is a tag value and a log word on AWS; nothing ran it', async () => {
    expect(ended.map((s) => s.state === 'ended' && s.exitCode)).toEqual([0, 0])
    expect(existsSync(pwn)).toBe(false)
    expect([...h.cloud.instances.values()].map((i) => i.tags['dstack:node-group'])).toContain(`$(touch ${pwn})'`)
    expect(commandText).not.toContain('touch')
  })

  test('secret values made of shell reach every node as data, never the command', async () => {
    const len = `'; touch ${pwn}; '$(touch ${pwn})`.length
    for (const rank of [0, 1]) expect(await h.logs(1, rank)).toContain(`secret has ${len} chars`)
    expect(existsSync(pwn)).toBe(false)
  })

  test('instance ids, addresses and GPU counts that are not what EC2 gives are refused before the command is made', () => {
    const ok = { instanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'], privateIps: ['10.0.0.1', '10.0.0.2'], gpusPerNode: [1, 1] }
    expect(() => clusterBootstrapLines({ ...ok, instanceIds: ['i-0aaaaaaaaaaaaaaa1', `i-1) touch ${pwn};;`] }, undefined)).toThrow(/invalid instance id/)
    expect(() => clusterBootstrapLines({ ...ok, privateIps: ['10.0.0.1', `10.0.0.2' $(touch ${pwn}) '`] }, undefined)).toThrow(/invalid private IPv4/)
    expect(() => clusterBootstrapLines({ ...ok, privateIps: ['10.0.0.1', '10.0.0.2\n10.0.0.3'] }, undefined)).toThrow(/invalid private IPv4/)
    expect(() => clusterBootstrapLines({ ...ok, gpusPerNode: [1, Number.NaN] }, undefined)).toThrow(/invalid GPU count/)
  })
})
