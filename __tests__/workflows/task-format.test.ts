/** Current-format `*.dstack.yml` tasks: every field, valid and invalid. */
import { describe, it, expect } from '@jest/globals'
import { parseYaml } from '../../src/workflows/source.js'
import { parseWorkflowFile, defaultTaskName } from '../../src/workflows/index.js'
import { findProblem, parseOk, problemsOf, readFixture } from './helpers.js'

const GB = 1024
const task = (body: string, file = 'x.dstack.yml') => parseOk(file, `type: task\ncommands: [echo]\n${body}\n`)[file.replace(/\.dstack\.ya?ml$/, '').split('/').pop()!]!

describe('task format: the valid fixtures', () => {
  const train = parseOk('train.dstack.yml', readFixture('task-valid', 'train.dstack.yml')).train!
  const qlora = parseOk('examples/qlora/.dstack.yml', readFixture('task-valid', 'examples/qlora/.dstack.yml')).qlora!

  it('name defaults to the file name; a bare .dstack.yml takes its folder name', () => {
    expect(train).toMatchObject({ workflow: 'train', format: 'dstack.yml', source: { file: 'train.dstack.yml', line: 1, column: 1 } })
    expect(train.provider).toBeUndefined()
    expect(qlora.workflow).toBe('qlora')
    expect(defaultTaskName('.dstack.yml')).toBe('default')
    expect(defaultTaskName('a/b/serve.dstack.yaml')).toBe('serve')
  })

  it('commands (a list item may be a multi-line block), python, working_dir', () => {
    expect(train.commands).toEqual(['uv pip install -r requirements.txt', 'torchrun --nproc-per-node=$DSTACK_GPUS_PER_NODE \\\n  train.py ${{ run.args }}\n'])
    expect(train.python).toBe('3.12')
    expect(train.workingDir).toBe('src')
  })

  it('env as a mapping: null = from the environment, numbers become strings, templates are secretEnv', () => {
    expect(train.env).toEqual({ HF_HUB_ENABLE_HF_TRANSFER: '1' })
    expect(train.secretEnv).toEqual({
      HF_TOKEN: '${{ env.HF_TOKEN }}',
      WANDB_API_KEY: '${{ secrets.WANDB_API_KEY }}',
      MIXED: 'prefix-${{ secrets.SUFFIX }}'
    })
  })

  it('env as a list', () => {
    expect(qlora.env).toEqual({ NCCL_DEBUG: 'INFO' })
    expect(qlora.secretEnv).toEqual({ HF_TOKEN: '${{ env.HF_TOKEN }}' })
  })

  it('ports: 8080, "80:8080", "*:9000" → container ports', () => {
    expect(train.ports).toEqual([6006, 8080, 9000])
  })

  it('resources with the full grammar', () => {
    expect(train.resources).toEqual({
      gpu: { names: [], count: { min: 2, max: 2 }, memoryMiB: { min: 24 * GB, max: 40 * GB } },
      cpu: { min: 8, arch: 'x86' },
      memoryMiB: { min: 200 * GB },
      diskMiB: { min: 500 * GB, max: 500 * GB },
      shmSizeMiB: 24 * GB
    })
    expect(qlora.resources.gpu).toEqual({ names: [], count: { min: 1, max: 1 } })
  })

  it('spot_policy, max_price, max_duration, retry, instance_types, regions, availability_zones, nodes', () => {
    expect(train).toMatchObject({
      spotPolicy: 'spot', maxPrice: 2.5, maxDurationSec: 86400,
      retry: { onEvents: ['no-capacity', 'error'], durationSec: 5400 },
      instanceTypes: ['g5.12xlarge', 'g6.12xlarge'], regions: ['us-east-1', 'us-west-2'], availabilityZones: ['us-east-1a'], nodes: 1
    })
  })

  it('image and entrypoint; retry: true = all events for 1h; max_duration: off keeps the 6h cap with a warning', () => {
    expect(qlora).toMatchObject({ image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime', entrypoint: 'python -m http.server', commands: [] })
    expect(qlora.retry).toEqual({ onEvents: ['no-capacity', 'interruption', 'error'], durationSec: 3600 })
    expect(qlora.maxDurationSec).toBe(6 * 3600)
    const r = parseWorkflowFile('examples/qlora/.dstack.yml', readFixture('task-valid', 'examples/qlora/.dstack.yml'))
    expect(r.warnings).toEqual([expect.objectContaining({ path: 'max_duration', line: 7, message: expect.stringMatching(/hard cap of 6h/) })])
  })

  it('run-action extensions: artifacts and deps; `files` is ignored with a warning', () => {
    expect(train.artifacts).toEqual([{ path: 'results', mount: false }])
    expect(train.deps).toEqual([{ kind: 'tag', name: 'base-model' }])
    const r = parseWorkflowFile('train.dstack.yml', readFixture('task-valid', 'train.dstack.yml'))
    expect(r.warnings.map((w) => [w.path, w.line])).toEqual([['files', 39]])
  })
})

describe('task format: single fields', () => {
  it('explicit name; defaults when fields are omitted', () => {
    const t = parseOk('a.dstack.yml', 'type: task\nname: my-task\ncommands: [echo]\n')['my-task']!
    expect(t).toMatchObject({ spotPolicy: 'auto', maxDurationSec: 21600, retry: { onEvents: ['no-capacity', 'interruption'], durationSec: 3600 }, workingDir: '.', nodes: 1 })
    expect(t.resources).toEqual({ cpu: { min: 2 }, memoryMiB: { min: 8 * GB }, diskMiB: { min: 100 * GB } })
  })
  it('retry: false, object without on_events, max_duration in seconds, disk as a size, gpu object', () => {
    expect(task('retry: false').retry).toEqual({ onEvents: [], durationSec: 0 })
    expect(task('retry: {duration: 2h}').retry).toEqual({ onEvents: ['no-capacity', 'interruption', 'error'], durationSec: 7200 })
    expect(task('max_duration: 3600').maxDurationSec).toBe(3600)
    expect(task('max_duration: 90m').maxDurationSec).toBe(5400)
    expect(task('resources: {disk: 200GB.., gpu: {name: [A10G, L4], count: 1..2}}').resources).toMatchObject({
      diskMiB: { min: 200 * GB }, gpu: { names: ['A10G', 'L4'], count: { min: 1, max: 2 } }
    })
    expect(task('python: 3.1').python).toBe('3.10')
    expect(task('working_dir: .').workingDir).toBe('.')
    expect(task('instance_types: [g5.xlarge]').instanceTypes).toEqual(['g5.xlarge'])
  })
})

describe('task format: problems', () => {
  it('reports every problem of the invalid fixture at once, in file order, with positions', () => {
    const problems = parseWorkflowFile('bad.dstack.yml', readFixture('invalid-task', 'bad.dstack.yml')).problems
    const pos = (path: string, re: RegExp) => {
      const p = findProblem(problems, path, re)
      return [p.line, p.column]
    }
    expect(pos('comands', /unknown key `comands`/)).toEqual([3, 1])
    expect(findProblem(problems, 'comands', /unknown/).hint).toBe('did you mean `commands`?')
    expect(pos('resources.gpu', /gpu spec `A100:2:3` has more than one count \(`3`\)/)).toEqual([6, 8])
    expect(pos('resources.cpu', /Invalid CPU architecture: `x86:16:foo`/)).toEqual([7, 8])
    expect(pos('resources.memory', /invalid memory `64XB`/)).toEqual([8, 11])
    expect(pos('resources.disk', /lower bound is greater/)).toEqual([9, 9])
    expect(pos('max_duration', /invalid duration `2 hours`/)).toEqual([10, 15])
    expect(pos('retry.on_events[1]', /`reboot` is not one of/)).toEqual([12, 28])
    expect(pos('spot_policy', /`spott` is not one of `spot`, `on-demand`, `auto`/)).toEqual([15, 14])
    expect(findProblem(problems, 'spot_policy', /spott/).hint).toBe('did you mean `spot`?')
    expect(pos('volumes', /`volumes` are not supported/)).toEqual([16, 1])
    expect(pos('env[0]', /invalid environment variable name `1BAD`/)).toEqual([20, 5])
    expect(pos('env[1]', /Failed to interpolate due to missing vars: \['github.token'\]/)).toEqual([21, 5])
    expect(problems).toHaveLength(11)
    const order = problems.map((p) => p.line * 1000 + p.column)
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })

  it.each(['service', 'dev-environment', 'fleet', 'volume', 'gateway', 'preset'])('`type: %s` is skipped with a reason, never a problem', (type) => {
    const r = parseWorkflowFile('s.dstack.yml', `type: ${type}\nname: s\nport: 8000\nide: vscode\ncommands: [x]\n`)
    expect(r.problems).toEqual([])
    expect(r.specs).toEqual([])
    expect(r.skipped).toEqual([{ file: 's.dstack.yml', line: 1, column: 1, workflow: 's', kind: `type: ${type}`, reason: expect.stringMatching(/\w/) }])
  })

  it('missing type has a hint; a misspelt type gets a suggestion', () => {
    expect(problemsOf('a.dstack.yml', readFixture('invalid-task', 'no-type.dstack.yml'))).toEqual([
      expect.objectContaining({ path: '', line: 1, column: 1, message: 'missing `type`', hint: expect.stringMatching(/add `type: task`/) })
    ])
    expect(problemsOf('a.dstack.yml', 'type: tsk\n')[0]).toMatchObject({ message: 'unknown type `tsk`', hint: 'did you mean `task`?' })
  })

  it('a task needs commands or image; python and image exclude each other', () => {
    findProblem(problemsOf('a.dstack.yml', 'type: task\n'), '', /Either `commands` or `image` must be set/)
    findProblem(problemsOf('a.dstack.yml', 'type: task\nimage: x\npython: "3.11"\n'), 'python', /`image` and `python` are mutually exclusive fields/)
  })

  it('did-you-mean at any level', () => {
    const p = problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\nresources:\n  gpus: 1\n  gpu: {nme: A100}\nretry: {on_event: [error]}\n')
    expect(findProblem(p, 'resources.gpus', /unknown key/).hint).toBe('did you mean `gpu`?')
    expect(findProblem(p, 'resources.gpu.nme', /unknown key/).hint).toBe('did you mean `name`?')
    expect(findProblem(p, 'retry.on_event', /unknown key/).hint).toBe('did you mean `on_events`?')
  })

  it('invalid name, name from an unusable file name, absolute working_dir, bad ports, refused keys', () => {
    findProblem(problemsOf('a.dstack.yml', 'type: task\nname: "../x"\ncommands: [a]\n'), 'name', /invalid workflow name/)
    // a file name that is no valid name gives a name from the path, with what a name cannot hold as `-`
    expect(parseWorkflowFile('dir/my task.dstack.yml', 'type: task\ncommands: [a]\n').workflows).toMatchObject([{ name: 'dir-my-task', derivedName: true }])
    findProblem(problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\nworking_dir: /work/../etc\n'), 'working_dir', /invalid working_dir/)
    findProblem(problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\nports: ["80:http"]\n'), 'ports[0]', /invalid port/)
    const p = problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\ngroups: []\nregistry_auth: {username: a}\ndocker: true\nprivileged: true\nmax_price: 0\n')
    for (const k of ['groups', 'registry_auth', 'docker', 'privileged', 'max_price']) expect(p.some((x) => x.path === k)).toBe(true)
    findProblem(p, 'groups', /cannot be an empty list/)
    findProblem(p, 'registry_auth', /missing required key `password`/)
  })

  it('a YAML syntax error keeps its line and column and stops further checks', () => {
    const r = parseWorkflowFile('syntax.dstack.yml', readFixture('invalid-task', 'syntax.dstack.yml'))
    expect(r.specs).toEqual([])
    expect(r.problems).toEqual([
      { file: 'syntax.dstack.yml', line: 4, column: 1, path: '', message: expect.stringMatching(/^YAML syntax error: All mapping items must start at the same column$/) }
    ])
  })

  it('duplicate YAML keys are syntax errors with positions', () => {
    const [p] = problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\ncommands: [b]\n')
    expect(p).toMatchObject({ line: 3, column: 1, message: expect.stringMatching(/unique/) })
  })

  it('an empty file is a problem', () => {
    expect(problemsOf('a.dstack.yml', '')[0]!.message).toBe('the file is empty')
    expect(problemsOf('.dstack/workflows.yaml', '# nothing\n')[0]!.hint).toMatch(/workflows:/)
  })
})

describe('YAML features', () => {
  it('anchors and merge keys work (common in CI YAML)', () => {
    const specs = parseOk('.dstack/workflows.yaml', `workflows:
  - &base
    name: a
    provider: bash
    commands: [echo a]
    resources: {gpu: 1}
  - <<: *base
    name: b
`)
    expect(specs.b).toMatchObject({ workflow: 'b', commands: ['echo a'], resources: { gpu: { count: { min: 1 } } } })
    expect(specs.b!.source.line).toBe(7)
  })
})

describe('YAML read as dstack reads it (PyYAML safe_load: YAML 1.1 scalars), positions kept', () => {
  // each value: what PyYAML's resolver (yaml/resolver.py) makes of the plain scalar
  it.each([
    ['yes', true], ['No', false], ['ON', true], ['off', false], ['True', true],
    ['y', 'y'], ['n', 'n'],
    ['0755', 493], ['0b101', 5], ['0x1F', 31], ['1_000', 1000], ['09', '09'],
    ['1:30', 90], ['1:30:00', 5400], ['1:30.5', 90.5],
    ['3.10', 3.1], ['1e3', '1e3'], ['1.0e+3', 1000], ['.5', 0.5], ['.inf', Infinity],
    ['~', null], ['null', null]
  ])('`%s` → %p', (scalar, expected) => {
    const { value } = parseYaml('x.yml', `v: ${scalar}\n`)
    expect((value as { v: unknown }).v).toEqual(expected)
  })

  it('`privileged: yes` is a boolean, refused as `privileged: true` is; `docker: on` too', () => {
    const p = problemsOf('a.dstack.yml', 'type: task\ncommands: [a]\nprivileged: yes\ndocker: on\n')
    expect(findProblem(p, 'privileged', /`privileged: true` is not supported/)).toMatchObject({ line: 3, column: 1 })
    expect(findProblem(p, 'docker', /`docker: true`/)).toMatchObject({ line: 4, column: 1 })
  })

  it('a command or env value that YAML 1.1 reads as a boolean is refused, as pydantic refuses it; numbers become text', () => {
    const p = problemsOf('a.dstack.yml', 'type: task\ncommands:\n  - echo hi\n  - yes\nenv:\n  DEBUG: on\n')
    expect(findProblem(p, 'commands[1]', /expected a string or a number, got true or false/).hint).toMatch(/YAML 1\.1.*quote it/)
    findProblem(p, 'env.DEBUG', /YAML boolean `true`/)
    const s = parseOk('a.dstack.yml', 'type: task\nname: nums\ncommands:\n  - 42\n  - 0755\nenv:\n  PORT: 8080\n').nums!
    expect(s.commands).toEqual(['42', '493'])
    expect(s.env).toEqual({ PORT: '8080' })
  })
})
