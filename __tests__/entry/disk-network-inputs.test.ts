import { describe, it, expect } from '@jest/globals'
import { Command } from 'commander'
import { addDiskNetworkOptions, diskNetworkFlags, diskNetworkInputs } from '../../src/entry/disk-network-inputs.js'

const parse = (args: string[], which: 'all' | 'network' = 'all') => {
  const cmd = addDiskNetworkOptions(new Command('run').exitOverride(), which)
  cmd.parse(args, { from: 'user' })
  return diskNetworkFlags(cmd.opts())
}

describe('disk and public address settings', () => {
  it('CLI flags: --no-public-ip and --public-ip false mean the same; nothing given leaves the defaults', () => {
    expect(parse([])).toEqual({})
    expect(parse(['--no-public-ip'])).toEqual({ publicIp: false })
    expect(parse(['--public-ip', 'false'])).toEqual({ publicIp: 'false' })
    expect(parse(['--disk-type', 'io2', '--disk-iops', '20000', '--disk-throughput', '250'])).toEqual({ diskType: 'io2', diskIops: '20000', diskThroughput: '250' })
    expect(() => parse(['--disk-type', 'io2'], 'network')).toThrow(/unknown option/)
  })

  it('action inputs: empty ones are left to the backend', () => {
    const inputs: Record<string, string> = { 'disk-type': 'gp3', 'disk-iops': '', 'disk-throughput': ' 500 ', 'public-ip': 'false' }
    expect(diskNetworkInputs((n) => inputs[n] ?? '')).toEqual({ diskType: 'gp3', diskThroughput: '500', publicIp: 'false' })
  })
})
