/** Seed-era `.dstack/workflows.yaml`: every field, valid and invalid. */
import { describe, it, expect } from '@jest/globals'
import { parseWorkflowFile } from '../../src/workflows/index.js'
import { DEFAULTS } from '../../src/model/index.js'
import { findProblem, parseOk, problemsOf, readFixture } from './helpers.js'

const F = '.dstack/workflows.yaml'
const GB = 1024
const wf = (body: string) => `workflows:\n  - name: w\n    provider: bash\n${body.replace(/^/gm, '    ')}\n`

describe('seed format: the valid fixture', () => {
  const specs = parseOk(F, readFixture('seed-valid', F))

  it('reads name, provider, help, source position and the 3.1 → 3.10 python coercion', () => {
    const t = specs.train!
    expect(t).toMatchObject({ workflow: 'train', format: 'workflows.yaml', provider: 'bash', help: 'Train the model', python: '3.10' })
    expect(t.source).toEqual({ file: F, line: 2, column: 5 })
    expect(specs['build-image']!.source.line).toBe(44)
  })

  it('keeps commands (with run.args / run.name left in place) and setup', () => {
    expect(specs.train!.commands).toEqual(['python src/train.py ${{ run.args }}', 'echo done by ${{ run.name }}'])
    expect(specs.train!.setup).toEqual(['pip install -r requirements.txt'])
  })

  it('keeps a multi-line commands string as one script block; before_run is setup', () => {
    const d = specs['build-image']!
    expect(d.commands).toEqual(["mkdir -p output\necho 'Hello, world!' > output/hello.txt\n"])
    expect(d.setup).toEqual(['apt-get update'])
  })

  it('env: literals in env, a bare name exported empty (0.x `Provider._env`), secret templates in secretEnv', () => {
    expect(specs.train!.env).toEqual({ PYTHONUNBUFFERED: '1', HF_TOKEN: '' })
    expect(specs.train!.secretEnv).toEqual({ WANDB_KEY: '${{ secrets.WANDB_KEY }}' })
  })

  it('artifacts: objects and strings, normalised paths, mount', () => {
    expect(specs.train!.artifacts).toEqual([
      { path: 'checkpoint', mount: false },
      { path: 'output', mount: true },
      { path: 'logs', mount: false }
    ])
  })

  it('deps: tag, workflow (mount ignored), owner/repo/name, and the old string forms', () => {
    expect(specs.train!.deps).toEqual([
      { kind: 'tag', name: 'some_tag' },
      { kind: 'workflow', name: 'prepare' },
      { kind: 'tag', name: 'latest', repo: 'github.com/acme/datasets' },
      { kind: 'tag', name: 'old-style-tag' },
      { kind: 'workflow', name: 'prepare-old' },
      { kind: 'tag', name: 'base', repo: 'github.com/acme/models' }
    ])
  })

  it('ports: a count N becomes N "any free port" entries (0); a list gives the app ports (0.x `"80:8081"` is app:local)', () => {
    expect(specs.train!.ports).toEqual([0, 0])
    expect(specs['build-image']!.ports).toEqual([8080, 80])
  })

  it('working_dir, cache, image, entrypoint', () => {
    expect(specs.train!.workingDir).toBe('src')
    expect(specs['build-image']!.workingDir).toBe('.')
    expect(specs.train!.cache).toEqual(['~/.cache/pip', 'data/cache'])
    expect(specs['build-image']).toMatchObject({ provider: 'docker', image: 'ubuntu:22.04', entrypoint: '/bin/sh -c' })
  })

  it('resources: gpu object, memory/cpu as minimums, shm_size, interruptible → spot, local ignored', () => {
    expect(specs.train!.resources).toEqual({
      // 0.x `_str_to_mib`: GB is decimal, int(n·10⁹ / 2²⁰) MiB; the GPU count is a minimum too
      gpu: { names: ['A100'], count: { min: 2 }, memoryMiB: { min: 38146 } },
      cpu: { min: 8 },
      memoryMiB: { min: 61035 },
      diskMiB: DEFAULTS.diskMiB,
      shmSizeMiB: 15258
    })
    expect(specs.train!.spotPolicy).toBe('spot')
  })

  it('legacy `<NAME>/gpu: N`; interruptible: false → on-demand', () => {
    expect(specs['build-image']!.resources.gpu).toEqual({ names: ['V100'], count: { min: 2 } })
    expect(specs['build-image']!.spotPolicy).toBe('on-demand')
  })

  it('defaults for a CI run', () => {
    const p = parseOk(F, wf('commands: [echo]')).w!
    expect(p).toMatchObject({
      spotPolicy: 'auto', maxDurationSec: 6 * 3600, retry: { onEvents: ['no-capacity', 'interruption'], durationSec: 3600 },
      workingDir: '.', args: [], nodes: 1, instanceTypes: [], regions: [], availabilityZones: [], ports: [], deps: [], artifacts: []
    })
    expect(p.resources).toEqual({ cpu: { min: 2 }, memoryMiB: { min: 8 * GB }, diskMiB: { min: 100 * GB } })
    expect(p.resources.gpu).toBeUndefined()
  })

  it('`.dstack/workflows/*.yml`: gpu: 1, python string, requirements → pip install in setup', () => {
    const p = parseOk('.dstack/workflows/extra.yml', readFixture('seed-valid', '.dstack/workflows/extra.yml')).prepare!
    expect(p.resources.gpu).toEqual({ names: [], count: { min: 1 } })
    expect(p.python).toBe('3.9')
    expect(p.setup).toEqual(['pip install -r requirements.txt'])
  })
})

describe('seed format: problems', () => {
  it('reports every problem of the invalid fixture at once, with positions', () => {
    const problems = parseWorkflowFile(F, readFixture('invalid-seed', F)).problems
    const at = (path: string, re: RegExp) => {
      const p = findProblem(problems, path, re)
      return [p.line, p.column]
    }
    expect(at('workflows[0].comands', /unknown key `comands`/)).toEqual([4, 5])
    expect(findProblem(problems, 'workflows[0].comands', /unknown/).hint).toBe('did you mean `commands`?')
    expect(at('workflows[0].resources.gpu', /empty token in gpu spec `A100::2`/)).toEqual([7, 12])
    expect(at('workflows[0].resources.memroy', /unknown key/)).toEqual([8, 7])
    expect(findProblem(problems, 'workflows[0].resources.memroy', /unknown/).hint).toBe('did you mean `memory`?')
    expect(at('workflows[2].name', /invalid workflow name "bad name!"/)).toEqual([11, 11])
    expect(at('workflows[2].commands[0]', /unsupported expression `\$\{\{ secrets.TOKEN \}\}`/)).toEqual([14, 9])
    expect(at('workflows[2]', /provider `docker` needs `image`/)).toEqual([11, 5])
    expect(at('workflows[2].artifacts[0].path', /must not contain "\.\."/)).toEqual([16, 15])
    // a misspelt `comands` is not also reported as missing commands
    expect(problems.some((p) => /needs `commands`/.test(p.message))).toBe(false)
    expect(problems).toHaveLength(7)
    // problems come in file order
    const lines = problems.map((p) => p.line)
    expect(lines).toEqual([...lines].sort((a, b) => a - b))
  })

  it('keeps the valid workflows of a file that has problems elsewhere', () => {
    const r = parseWorkflowFile(F, readFixture('invalid-seed', F))
    expect(r.specs.map((s) => s.workflow)).toEqual(['fine'])
  })

  it.each(['code', 'lab', 'notebook', 'ssh', 'streamlit', 'gradio', 'fastapi', 'tensorboard', 'curl', 'torchrun'])('provider `%s` is skipped with a reason, never a problem', (provider) => {
    const r = parseWorkflowFile(F, `workflows:\n  - name: x\n    provider: ${provider}\n    version: 1.2\n    file: a.py\n    target: app.py\n`)
    expect(r.problems).toEqual([])
    expect(r.specs).toEqual([])
    expect(r.skipped).toEqual([{ file: F, line: 2, column: 5, workflow: 'x', kind: `provider: ${provider}`, reason: expect.stringContaining(`provider \`${provider}\``) }])
  })

  it('the 0.x torchrun provider with several nodes is skipped, pointing to a task with `nodes:`; unknown providers get a suggestion', () => {
    expect(parseWorkflowFile(F, 'workflows:\n  - name: x\n    provider: torchrun\n    file: a.py\n    nodes: 2\n').skipped[0]!.reason).toBe('the 0.x `torchrun` provider is not supported: write a task with `nodes:` and run `torchrun` in its `commands`')
    const p = problemsOf(F, 'workflows:\n  - name: x\n    provider: bsh\n    commands: [a]\n')
    expect(p[0]).toMatchObject({ path: 'workflows[0].provider', hint: 'did you mean `bash`?' })
  })

  it('hints name every provider a field belongs to, and what to write instead', () => {
    const docker = problemsOf(F, 'workflows:\n  - name: x\n    provider: docker\n    image: ubuntu\n    file: a.py\n    environment: {A: 1}\n')
    expect(findProblem(docker, 'workflows[0].file', /`file` is a field of providers `python` and `torchrun`, not of `docker`/).hint).toMatch(/for `bash` call it in `commands`/)
    expect(findProblem(docker, 'workflows[0].environment', /`environment` is a field of provider `python`, not of `docker`/).hint).toMatch(/write `env:`/)
    // on provider python these are its own fields: no problem; a python provider without a script says so
    expect(problemsOf(F, 'workflows:\n  - name: x\n    provider: python\n    file: a.py\n    version: "3.9"\n    args: "--x 1"\n    environment: {A: 1}\n')).toEqual([])
    findProblem(problemsOf(F, 'workflows:\n  - name: x\n    provider: python\n'), 'workflows[0]', /provider `python` needs `file`/)
  })

  it('root: only `workflows:` is allowed, and it is required', () => {
    const p = problemsOf(F, 'workflow:\n  - name: x\n')
    expect(p.map((x) => x.message)).toEqual(expect.arrayContaining(['missing required key `workflows`', 'unknown key `workflow`']))
    expect(findProblem(p, 'workflow', /unknown key/).hint).toBe('did you mean `workflows`?')
  })

  it('missing name and provider', () => {
    const p = problemsOf(F, 'workflows:\n  - commands: [a]\n')
    expect(p.map((x) => x.message).sort()).toEqual(['missing required key `name`', 'missing required key `provider`'])
    expect(p[0]).toMatchObject({ path: 'workflows[0]', line: 2, column: 5 })
  })

  it('bash needs commands', () => {
    expect(findProblem(problemsOf(F, 'workflows:\n  - name: x\n    provider: bash\n'), 'workflows[0]', /needs `commands`/)).toBeTruthy()
  })

  it('field-level problems: python, env, ports, deps, working_dir, image on bash, provider-only keys, registry_auth', () => {
    const problems = problemsOf(F, wf([
      'commands: [echo]',
      'python: 2.7',
      'env: [1X=2, A=1, A=2, "B=${{ github.sha }}"]',
      'ports: ["http", 70000]',
      'deps: [{tag: a, workflow: b}, {tag: "bad tag"}, "a/b"]',
      'working_dir: /abs',
      'image: ubuntu',
      'version: 1',
      'registry_auth: {username: u, password: p}',
      'artifacts: [out, ./out/]'
    ].join('\n')))
    findProblem(problems, 'workflows[0].python', /unsupported python version `2.7`/)
    findProblem(problems, 'workflows[0].env[0]', /invalid environment variable name `1X`/)
    findProblem(problems, 'workflows[0].env[2]', /Duplicate environment variable: A/)
    findProblem(problems, 'workflows[0].env[3]', /unsupported expression `\$\{\{ github.sha \}\}`/)
    findProblem(problems, 'workflows[0].ports[0]', /invalid port `http`/)
    findProblem(problems, 'workflows[0].ports[1]', /invalid port `70000`/)
    findProblem(problems, 'workflows[0].deps[0]', /exactly one of `tag` or `workflow`/)
    findProblem(problems, 'workflows[0].deps[1].tag', /invalid tag "bad tag"/)
    findProblem(problems, 'workflows[0].deps[2]', /invalid dependency `a\/b`/)
    findProblem(problems, 'workflows[0].working_dir', /must be relative/)
    findProblem(problems, 'workflows[0].image', /belong to provider `docker`/)
    expect(findProblem(problems, 'workflows[0].version', /`version` is a field of providers `code` and `python`, not of `bash`/).hint).toMatch(/for `bash` and `docker` write `python:`/)
    findProblem(problems, 'workflows[0].registry_auth.password', /the registry password is written in the file/)
    findProblem(problems, 'workflows[0].artifacts[1]', /`out` is listed more than once/)
  })

  it('resources problems: memory pattern, cpu type, gpu count, legacy and gpu together', () => {
    const problems = problemsOf(F, wf('commands: [a]\nresources:\n  memory: 64 gigs\n  cpu: many\n  gpu: {count: 0}\n  V100/gpu: 1\n  K80/gpu: 1'))
    findProblem(problems, 'workflows[0].resources.memory', /invalid value `64 gigs`/)
    findProblem(problems, 'workflows[0].resources.cpu', /expected a whole number, got a string/)
    findProblem(problems, 'workflows[0].resources.gpu.count', /must be >= 1/)
  })

  it('schema errors under keys with a slash map back to their position', () => {
    const [p] = problemsOf(F, wf('commands: [a]\nresources:\n  V100/gpu: 0'))
    expect(p).toMatchObject({ path: 'workflows[0].resources["V100/gpu"]', line: 6, column: 17, message: '0 must be >= 1' })
  })

  it('a YAML syntax error keeps its position', () => {
    expect(problemsOf(F, 'workflows:\n  - name: a\n    commands: [a, b\n')).toEqual([
      expect.objectContaining({ line: 4, column: 1, path: '', message: expect.stringMatching(/^YAML syntax error: /) })
    ])
  })

  it('gpu and <NAME>/gpu together is one problem', () => {
    const problems = problemsOf(F, wf('commands: [a]\nresources:\n  gpu: 1\n  V100/gpu: 1'))
    findProblem(problems, 'workflows[0].resources["V100/gpu"]', /requested more than once/)
  })

  it('ignored keys become warnings, not problems', () => {
    const r = parseWorkflowFile(F, wf('commands: [a]\nssh: true\nbuild: use-build'))
    expect(r.problems).toEqual([])
    expect(r.warnings.map((w) => w.path)).toEqual(['workflows[0].ssh', 'workflows[0].build'])
  })

  it('docker + python is a warning and python is dropped', () => {
    const r = parseWorkflowFile(F, 'workflows:\n  - name: d\n    provider: docker\n    image: alpine\n    python: 3.11\n')
    expect(r.problems).toEqual([])
    expect(r.specs[0]!.python).toBeUndefined()
    expect(r.warnings[0]!.message).toMatch(/`python` is ignored with provider `docker`/)
  })

  it('duplicate names within one file name both places', () => {
    const r = parseWorkflowFile(F, 'workflows:\n  - name: a\n    provider: bash\n    commands: [x]\n  - name: a\n    provider: bash\n    commands: [y]\n')
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 5, column: 11, path: 'workflows[1].name', message: 'duplicate workflow name `a`: first defined at .dstack/workflows.yaml:2:11' })
    ])
    expect(r.specs.map((s) => s.commands)).toEqual([['x']])
  })
})

describe('seed format: a command YAML reads as a mapping', () => {
  it('points at the command and says to quote it', () => {
    const [p] = problemsOf(F, wf(`commands:\n  - echo ok\n  - echo '{"w": 3}' > w.json`))
    expect(p).toMatchObject({ file: F, line: 6, path: 'workflows[0].commands[1]', message: 'expected a string, got a mapping' })
    expect(p!.hint).toMatch(/quote the whole value/)
  })
})
