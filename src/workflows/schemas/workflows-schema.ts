/**
 * JSON Schema of the seed-era `.dstack/workflows.yaml` (and `.dstack/workflows/*.yaml`), as dstack
 * 0.0.7 – 0.10.4 read it. Published as schemas/workflows.schema.json (kept equal by a test).
 * Union types instead of oneOf keep ajv's errors one per mistake.
 */
import { SCHEMA_BASE, artifacts, cache, d, deps, python, registryAuth, script, type JsonSchema } from './common.js'

/** 0.x's `_str_to_mib`: whole numbers; MB/GB/M/G decimal, MiB/GiB/Mi/Gi binary */
const SIZE = '^\\d+\\s*([MmGg][Bb]?|[MmGg][Ii][Bb]?)$'

const resources = d('What the job needs from the machine.', {
  type: 'object',
  properties: {
    gpu: d('GPUs: a minimum count, or {name, count, memory}; run-action extension: a dstack gpu string (`A10G:1`, `24GB..:2`, `A100:1..2`).', {
      type: ['integer', 'object', 'string'],
      minimum: 0,
      properties: {
        name: d('GPU model, e.g. K80, V100, A100, A10G.', { type: 'string' }, ['A100']),
        count: d('Minimum number of GPUs (default 1).', { type: 'integer', minimum: 1 }),
        memory: d('Minimum memory per GPU, e.g. 16GB (decimal, as 0.x read it) or 15GiB.', { type: 'string', pattern: SIZE }, ['16GB'])
      },
      additionalProperties: false
    }, [1, { name: 'A100', count: 2 }, 'A10G:1']),
    memory: d('Minimum RAM, e.g. 64GB (decimal: 64·10⁹ bytes, as 0.x read it) or 60GiB.', { type: 'string', pattern: SIZE }, ['64GB']),
    shm_size: d('Size of /dev/shm, e.g. 16GB.', { type: 'string', pattern: SIZE }, ['16GB']),
    cpu: d('Minimum number of vCPUs.', { type: 'integer', minimum: 1 }, [8]),
    interruptible: d('true: run on a spot instance (spot_policy spot); false: on-demand.', { type: 'boolean' }),
    local: d('dstack 0.0.10+: run on the local machine. Accepted and ignored: the backend is chosen by the CI step.', { type: 'boolean' })
  },
  patternProperties: {
    '^[A-Za-z][A-Za-z0-9_-]*/gpu$': d('Legacy `<NAME>/gpu: N`, e.g. `V100/gpu: 2`.', { type: 'integer', minimum: 1 })
  },
  additionalProperties: false
}, [{ gpu: 1, interruptible: true }, { gpu: { name: 'A100', count: 2 }, memory: '64GB', shm_size: '16GB' }])

const workflow: JsonSchema = d('One workflow, started with `dstack-run NAME` or the action input `workflow: NAME`.', {
  type: 'object',
  properties: {
    name: d('Workflow name: letters, digits, `.`, `_`, `-`.', { type: 'string' }, ['train']),
    provider: d('How the workflow runs. `bash`, `docker` and the early `python` run in CI; `code`, `lab`, `notebook`, `ssh` (interactive), `streamlit`, `gradio`, `fastapi`, `tensorboard` (apps), `curl` and `torchrun` are skipped with a reason.', {
      type: 'string',
      enum: ['bash', 'docker', 'python', 'code', 'lab', 'notebook', 'ssh', 'torchrun', 'curl', 'streamlit', 'gradio', 'fastapi', 'tensorboard']
    }, ['bash']),
    help: d('Description shown in the list of workflows.', { type: 'string' }),
    commands: script('Commands (required for bash)', [['pip install -r requirements.txt', 'python train.py ${{ run.args }}']]),
    setup: script('Commands run before `commands`', [['pip install -r requirements.txt']]),
    before_run: script('0.0.x name of `setup`', [['pip install -r requirements.txt']]),
    requirements: d('0.0.x: a requirements.txt installed with pip before `commands`.', { type: 'string' }, ['requirements.txt']),
    python,
    env: d('Environment variables: `NAME=VALUE`, or a bare `NAME` taken from the CI environment at launch; values may use ${{ secrets.NAME }} / ${{ env.NAME }}.', {
      type: 'array',
      items: { type: 'string' }
    }, [['PYTHONUNBUFFERED=1', 'HF_TOKEN']]),
    artifacts,
    deps,
    ports: d('A count of ports to allocate (0.0.x, exported as $PORT_0 …) or a list of port numbers / "local:container".', {
      type: ['integer', 'array'],
      minimum: 0,
      items: { type: ['integer', 'string'] }
    }, [1, [8080]]),
    working_dir: d('Folder to run in, relative to the repository root.', { type: 'string' }, ['src']),
    image: d('Docker image (required for the docker provider).', { type: 'string' }, ['ubuntu:22.04']),
    entrypoint: d('Docker entrypoint (docker provider).', { type: 'string' }, ['/bin/sh -c']),
    registry_auth: registryAuth,
    home_dir: d('Home folder in the container (docker provider); ignored.', { type: 'string' }),
    cache,
    resources,
    ssh: d('Run an SSH server in the container (interactive); ignored in CI.', { type: 'boolean' }),
    build: d('Prebuilt-image mode of dstack 0.10; ignored.', { type: 'string', enum: ['use-build', 'build', 'force-build', 'build-only'] }),
    version: d('openvscode-server version (code provider), or the Python version (early python provider).', { type: ['string', 'number'] }),
    code: d('Print a VS Code URI (ssh provider).', { type: 'boolean' }),
    file: d('Script to run (python and torchrun providers).', { type: 'string' }),
    script: d('Script to run (early python provider; same as `file`).', { type: 'string' }),
    args: d('Script arguments (python and torchrun providers).', { type: ['string', 'array'], items: { type: ['string', 'number'] } }),
    environment: d('Environment variables as a mapping (early python provider; `env` elsewhere).', { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } }),
    nodes: d('Number of nodes (torchrun provider).', { type: 'integer', minimum: 1 })
  },
  required: ['name', 'provider'],
  additionalProperties: false
}, [{ name: 'train', provider: 'bash', commands: ['python train.py'], artifacts: [{ path: 'output' }], resources: { gpu: 1, interruptible: true } }])

export const workflowsSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${SCHEMA_BASE}workflows.schema.json`,
  title: 'dstack workflows (.dstack/workflows.yaml)',
  description: 'Seed-era dstack workflow definitions (dstack 0.0.7 – 0.10.4) as run by dstack/run-action: a list of named workflows.',
  type: 'object',
  properties: {
    workflows: d('The workflows of this file; names are unique across all workflow files of the repository.', {
      type: 'array',
      items: workflow
    })
  },
  required: ['workflows'],
  additionalProperties: false,
  examples: [{ workflows: [{ name: 'train', provider: 'bash', python: '3.10', commands: ['pip install -r requirements.txt', 'python src/train.py'], artifacts: [{ path: 'checkpoint' }], resources: { interruptible: true, gpu: 1 } }] }]
}
