/**
 * Every value form of a dstack task (as dstack's own models read it) and of the 0.x format, from
 * fixtures written for these tests (fixtures/every-form), loaded as a repository and normalised.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { loadWorkflows, type LoadedWorkflows } from '../../src/workflows/index.js'
import type { RunSpec } from '../../src/model/index.js'
import { fixtureRepo } from './helpers.js'

const GB = 1024

let repo: { dir: string; cleanup: () => void }
let loaded: LoadedWorkflows
const spec = (name: string): RunSpec => {
  const s = loaded.specs.find((x) => x.workflow === name)
  if (!s) throw new Error(`no spec ${name}; problems:\n${loaded.problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`).join('\n')}`)
  return s
}

beforeAll(async () => {
  repo = fixtureRepo('every-form')
  loaded = await loadWorkflows(repo.dir)
})
afterAll(() => repo.cleanup())

it('has no problems: every form is accepted', () => {
  expect(loaded.problems).toEqual([])
  expect(loaded.specs.map((s) => s.workflow).sort()).toEqual(['conda-env', 'current', 'gpu-object', 'gpu-spaced', 'gpu-string', 'hetero', 'home', 'legacy-gpu', 'python-script', 'ranges'])
})

describe('the 0.x format', () => {
  it('gpu strings (a run-action extension) read as dstack reads them, spaces dropped', () => {
    expect(spec('gpu-string').resources.gpu).toEqual({ names: ['A10G'], count: { min: 1, max: 1 } })
    expect(spec('gpu-spaced').resources.gpu).toEqual({ names: ['RTX4090'], count: { min: 2 } })
  })

  it('gpu objects, legacy NAME/gpu, minimums, interruptible, registry_auth for docker', () => {
    const s = spec('gpu-object')
    // dstack 0.9 `Provider._resources` / `_str_to_mib`: GB is decimal (int(n·10⁹ / 2²⁰) MiB), every figure a minimum
    expect(s.resources).toMatchObject({ gpu: { names: ['A100'], count: { min: 2 }, memoryMiB: { min: 38146 } }, memoryMiB: { min: 61035 }, shmSizeMiB: 15258, cpu: { min: 8 } })
    expect(s.resources.gpu!.count).toEqual({ min: 2 })
    expect(s.spotPolicy).toBe('spot')
    expect(s.registryAuth).toEqual({ username: '$oauthtoken', password: '${{ secrets.NGC_API_KEY }}' })
    expect(spec('legacy-gpu').resources.gpu).toEqual({ names: ['V100'], count: { min: 2 } })
  })

  it('absolute artifact paths, as dstack 0.9 documented them for conda environments and caches (`~` is /root)', () => {
    expect(spec('conda-env').artifacts).toEqual([
      { path: '/opt/conda/envs/myenv', mount: false },
      { path: '/root/.cache/huggingface', mount: true },
      { path: 'output', mount: false }
    ])
  })

  it('the early python provider becomes commands, with its python version, requirements and environment', () => {
    const s = spec('python-script')
    expect(s.commands).toEqual(['python train.py --epochs 3'])
    expect(s.setup).toEqual(['pip install -r requirements.txt'])
    expect(s.python).toBe('3.10')
    expect(s.env).toEqual({ WANDB_MODE: 'offline' })
  })

  it('interactive and app providers and multi-node torchrun are skipped with reasons', () => {
    const skipped = loaded.skipped.filter((x) => x.file === '.dstack/workflows.yaml').map((x) => [x.workflow, x.kind, x.reason])
    expect(skipped).toEqual([
      ['vscode', 'provider: code', expect.stringContaining('VS Code')],
      ['jupyter', 'provider: lab', expect.stringContaining('JupyterLab')],
      ['app', 'provider: streamlit', expect.stringContaining('serves an app')],
      ['ddp', 'provider: torchrun', expect.stringContaining('write a task with `nodes:`')]
    ])
  })
})

describe('the current format', () => {
  it('{min, max} range objects for cpu, memory, gpu count, gpu memory and disk size; compute_capability', () => {
    expect(spec('ranges').resources).toEqual({
      cpu: { min: 4, max: 16 },
      memoryMiB: { min: 16 * GB },
      gpu: { names: [], count: { min: 1, max: 4 }, memoryMiB: { min: 24 * GB, max: 80 * GB }, computeCapability: [8, 0] },
      diskMiB: { min: 100 * GB, max: 1024 * GB }
    })
  })

  it('absolute working_dir, registry_auth, every ports form, max_duration: true, retry, arch:count, spaced gpu names', () => {
    const s = spec('current')
    expect(s.workingDir).toBe('/workspace/project')
    expect(s.registryAuth).toEqual({ username: 'acme-bot', password: '${{ secrets.GHCR_TOKEN }}' })
    expect(s.ports).toEqual([6006, 8080, 9000, 8000])
    expect(s.maxDurationSec).toBe(6 * 3600)
    expect(s.retry).toEqual({ onEvents: ['no-capacity'], durationSec: 7200 })
    expect(s.resources.cpu).toEqual({ arch: 'arm', min: 8 })
    expect(s.resources.gpu).toEqual({ vendor: 'nvidia', names: ['RTX4090'], count: { min: 2, max: 2 }, memoryMiB: { min: 24 * GB } })
    expect(s.artifacts).toEqual([{ path: '/root/.cache/huggingface', mount: false }, { path: 'checkpoints', mount: false }])
    // setup still runs (with a warning): see README "setup"
    expect(s.setup).toEqual(['pip install -r requirements.txt'])
  })

  it('fields that change nothing on a CI runner are warnings that say why', () => {
    const w = loaded.warnings.filter((x) => x.file === 'tasks/current.dstack.yml').map((x) => [x.path, x.message])
    expect(w).toEqual([
      ['setup', expect.stringContaining('no effect for tasks in current dstack')],
      ['single_branch', '`single_branch` is ignored: the CI checkout is used'],
      ['files', '`files` is ignored: the whole repository is already checked out in the working folder'],
      ['startup_order', '`startup_order` is ignored: a single-node task has no workers to order']
    ])
    expect(loaded.warnings.find((x) => x.path === 'max_duration')).toMatchObject({ file: 'tasks/home.dstack.yml', message: expect.stringContaining('hard cap of 6h') })
  })

  it('`~` in working_dir is /root; a gpu object with only compute_capability and vendor asks for 1.. GPUs', () => {
    const s = spec('home')
    expect(s.workingDir).toBe('/root/project')
    expect(s.resources.gpu).toEqual({ vendor: 'nvidia', names: [], count: { min: 1 }, computeCapability: [7, 5] })
  })

  it('node groups are parsed into a runnable multi-node task: ranks in group order, the sum of the nodes', () => {
    const s = loaded.specs.find((x) => x.workflow === 'hetero')!
    expect(s.nodes).toBe(3)
    expect(s.groups).toEqual([
      { name: 'master', nodes: 1, commands: ['python master.py'], commandLines: [8], ports: [], resources: expect.objectContaining({ gpu: { names: ['H100'], count: { min: 8, max: 8 } } }) },
      { name: '1', nodes: 2, commands: ['python worker.py'], commandLines: [12], ports: [29500], resources: expect.objectContaining({ gpu: { names: [], count: { min: 1, max: 2 } } }) }
    ])
  })
})
