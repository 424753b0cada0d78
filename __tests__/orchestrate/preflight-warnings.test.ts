import { describe, it, expect } from '@jest/globals'
import { untrackedNamedByCommands, untrackedWarning, gpuWarning, describeGpuRequest } from '../../src/orchestrate/preflight-warnings.js'
import { plural } from '../../src/model/index.js'
import { typedOutputs } from '../../src/report/index.js'

const spec = (commands: string[], workingDir = '.') => ({ commands, setup: [], workingDir })

describe('untracked files named by commands', () => {
  it('finds a file by its path from the root or the working folder, not by a longer name', () => {
    const untracked = ['train.py', 'src/data.csv', 'nottrain.py', 'lib/x.py']
    expect(untrackedNamedByCommands(spec(['python train.py --data data.csv']), untracked)).toEqual(['train.py'])
    expect(untrackedNamedByCommands(spec(['python ./train.py', 'cat "data.csv"'], 'src'), untracked)).toEqual(['train.py', 'src/data.csv'])
    expect(untrackedNamedByCommands(spec(['python mytrain.py', 'python x.py']), untracked)).toEqual([])
    expect(untrackedNamedByCommands(spec(['PYTHONPATH=lib/x.py run']), untracked)).toEqual(['lib/x.py'])
  })
  it('says how to fix it, with one or several files', () => {
    expect(untrackedWarning('w', [])).toBeUndefined()
    expect(untrackedWarning('w', ['a.py'])).toMatch(/names `a.py`, which git does not track: it is not sent .* Commit it \(git add a.py\), or .*--include-untracked/)
    expect(untrackedWarning('w', ['a.py', 'b.py'])).toMatch(/they are not sent .* Commit them \(git add a.py b.py\)/)
  })
})

describe('a GPU request on a host without a GPU', () => {
  const gpu = { names: ['A10G'], count: { min: 1, max: 1 } }
  const s = { workflow: 'w', resources: { gpu, cpu: {}, memoryMiB: {}, diskMiB: {} } }
  it('warns only for the local backend, a GPU request and no GPU', () => {
    expect(gpuWarning(s, 'local', false)).toMatch(/asks for 1 GPU \(resources.gpu: A10G:1\), but this host has none.*--backend aws/)
    expect(gpuWarning(s, 'local', true)).toBeUndefined()
    expect(gpuWarning(s, 'aws', false)).toBeUndefined()
    expect(gpuWarning({ ...s, resources: { ...s.resources, gpu: undefined } }, 'local', false)).toBeUndefined()
  })
  it('describes the request as dstack writes it', () => {
    expect(describeGpuRequest({ vendor: 'nvidia', names: [], count: { min: 2 } })).toBe('nvidia:2..')
    expect(describeGpuRequest({ names: ['A100', 'H100'], count: { min: 2, max: 2 } })).toBe('A100,H100:2')
  })
})

describe('plural and typed outputs', () => {
  it('counts nouns', () => {
    expect([plural(1, 'file'), plural(2, 'file'), plural(1, 'dependency'), plural(3, 'dependency'), plural(0, 'attempt'), plural(2, 'match')]).toEqual([
      '1 file',
      '2 files',
      '1 dependency',
      '3 dependencies',
      '0 attempts',
      '2 matches'
    ])
  })
  it('turns the string outputs into numbers, lists and nulls', () => {
    expect(typedOutputs({ 'exit-code': '0', duration: '12', cost: '0.0123', attempts: '2', tags: '["a"]', artifacts: '[]', reason: 'all 3 ok', market: '', status: 'succeeded' })).toEqual({
      'exit-code': 0,
      duration: 12,
      cost: 0.0123,
      attempts: 2,
      tags: ['a'],
      artifacts: [],
      reason: 'all 3 ok',
      market: null,
      status: 'succeeded'
    })
  })
})
