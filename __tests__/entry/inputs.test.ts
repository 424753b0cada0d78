import { describe, it, expect } from '@jest/globals'
import { parseArgsInput, splitWords } from '../../src/entry/args-input.js'
import { parseEnvAssignments, parseEnvInput } from '../../src/entry/env-input.js'
import { storeFromInputs } from '../../src/entry/action-main.js'

describe('store inputs', () => {
  const withInputs = <T>(inputs: Record<string, string>, f: () => T): T => {
    const saved = { ...process.env }
    for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
    try {
      return f()
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    }
  }
  it('the bucket is in `region` unless `store-region` names its own (machines in one region, the store in another)', () => {
    expect(withInputs({ bucket: 'ml-runs' }, () => storeFromInputs('us-west-2'))).toMatchObject({ kind: 's3', bucket: 'ml-runs', region: 'us-west-2' })
    expect(withInputs({ bucket: 'ml-runs', 'store-region': 'eu-west-1' }, () => storeFromInputs('us-west-2'))).toMatchObject({ kind: 's3', bucket: 'ml-runs', region: 'eu-west-1' })
    expect(withInputs({ store: 's3://ml-runs/team', 'store-region': 'eu-west-1' }, () => storeFromInputs(undefined))).toMatchObject({ bucket: 'ml-runs', prefix: 'team', region: 'eu-west-1' })
  })
})

describe('args input', () => {
  it('takes one argument per line when there are several lines, literally', () => {
    expect(parseArgsInput("--epochs 3\n$(touch /tmp/x)\n 'quoted' ")).toEqual(['--epochs 3', '$(touch /tmp/x)', "'quoted'"])
  })
  it('splits a single line on whitespace with quote grouping', () => {
    expect(splitWords(`--lr 0.1 --name "my run" 'a b' ""`)).toEqual(['--lr', '0.1', '--name', 'my run', 'a b', ''])
    expect(parseArgsInput('')).toEqual([])
  })
  it('rejects an unclosed quote with a fix', () => {
    expect(() => parseArgsInput('--name "oops')).toThrow(expect.objectContaining({ message: expect.stringMatching(/unclosed "/), hint: expect.stringMatching(/one argument per line/) }))
  })
})

describe('env input', () => {
  it('parses NAME=VALUE lines, keeping = and spaces in values', () => {
    expect(parseEnvInput('A=1\n\n# comment\nB=x=y z\nEMPTY=')).toEqual({ A: '1', B: 'x=y z', EMPTY: '' })
  })
  it('names the bad entry and the fix', () => {
    expect(() => parseEnvAssignments(['1BAD=x'], '--env')).toThrow(/--env: "1BAD=x" is not NAME=VALUE/)
    expect(() => parseEnvAssignments(['NOVALUE'], '--env')).toThrow(/not NAME=VALUE/)
  })
})
