/**
 * JSON Schema of a current-format `*.dstack.yml` task (dstack 0.18 – 0.21), as run by run-action.
 * Published as schemas/dstack-task.schema.json (kept equal by a test). Keys that dstack knows but
 * run-action ignores or refuses are listed loosely so the TypeScript checks can explain them.
 */
import { SCHEMA_BASE, artifacts, cache, d, deps, python, registryAuth, type JsonSchema } from './common.js'

const RANGE = '`N`, `N..`, `..M`, `N..M` or `{min: N, max: M}`'
const rangeObject = (bound: JsonSchema): JsonSchema => ({
  min: d('Lower bound (inclusive); leave out for none.', { ...bound }),
  max: d('Upper bound (inclusive); leave out for none.', { ...bound })
})
const sizeRange = (what: string, examples: unknown[]): JsonSchema =>
  d(`${what}: a size or range (${RANGE}) in MB, GB or TB; a bare number is GB.`, {
    type: ['string', 'number', 'object'],
    properties: rangeObject({ type: ['string', 'number', 'null'] }),
    additionalProperties: false
  }, examples)
const countRange = (what: string, examples: unknown[]): JsonSchema =>
  d(`${what}: ${RANGE}.`, {
    type: ['integer', 'string', 'object'],
    properties: rangeObject({ type: ['integer', 'string', 'null'] }),
    additionalProperties: false
  }, examples)
const portList = (what: string): JsonSchema =>
  d(`${what}: \`8080\`, \`"80:8080"\`, \`"*:8080"\` (local:container) or \`{container_port, local_port}\`.`, {
    type: 'array',
    items: {
      type: ['integer', 'string', 'object'],
      properties: {
        container_port: d('Port the job listens on.', { type: 'integer', minimum: 1, maximum: 65535 }),
        local_port: d('Port on the machine running `dstack apply` (not used in CI).', { type: ['integer', 'null'] })
      },
      required: ['container_port'],
      additionalProperties: false
    }
  }, [[6006, '8080:8080', { container_port: 8000 }]])
/** dstack's `List[str]`: a list only (a string is refused, as pydantic refuses it); numbers become text (`coerce_numbers_to_str`) */
const strings = (what: string, examples: unknown[]): JsonSchema => d(what, { type: 'array', items: { type: ['string', 'number'] } }, examples)
/** dstack's task `commands` (`CommandsList = List[str]`): a list; numbers are text, booleans are refused */
const commandList = (what: string, examples: unknown[]): JsonSchema =>
  d(`${what}: a list of shell commands, joined with \`&&\` as dstack joins them. \${{ run.args }} reaches the job as data (a reference to quoted values), never as shell.`, {
    type: 'array',
    items: { type: ['string', 'number'] }
  }, examples)
const durationOrOff = (what: string): JsonSchema => d(`${what}: \`90m\`, \`2h\`, seconds, or \`off\`.`, { type: ['string', 'integer', 'boolean'] })
const duration = (what: string, examples: unknown[]): JsonSchema => d(`${what}: \`90m\`, \`2h\`, \`1d\`, or seconds.`, { type: ['string', 'integer'] }, examples)
const ignored = (what: string): JsonSchema => d(`${what} (dstack; ignored or refused by run-action, which says why).`)

const resourcesSchema = (description: string): JsonSchema => d(description, {
  type: 'object',
  properties: {
    gpu: d('GPUs: a count (`1`, `1..8`), colon-separated tokens in any order — vendor, names (comma = alternatives; spaces are dropped, `RTX 4090` = `RTX4090`), memory per GPU, count — or an object. Without a count: `1..` (one or more; the cheapest machine that fits is chosen).', {
      type: ['integer', 'string', 'object'],
      minimum: 0,
      properties: {
        vendor: d('nvidia, amd, google (alias tpu), intel or tenstorrent (alias tt); any but nvidia and google needs `image`.', { type: 'string' }, ['nvidia']),
        name: d('GPU model or alternatives.', { type: ['string', 'array'], items: { type: 'string' } }, ['A100', ['A10G', 'L4']]),
        count: countRange('Number of GPUs (default `1..`)', [2, '1..2', { min: 1, max: 4 }]),
        memory: sizeRange('Memory per GPU', ['24GB', '40GB..80GB']),
        total_memory: sizeRange('Total GPU memory', ['80GB..']),
        compute_capability: d('Minimum CUDA compute capability: `7.5`, `"8.0"` or `[8, 6]`.', { type: ['number', 'string', 'array'], items: { type: 'integer' } }, [7.5, '8.0'])
      },
      additionalProperties: false
    }, [1, 'A100:2', '24GB..40GB:2', 'H100:1..2', 'nvidia', 'A10G,A100', 'RTX 4090:2', { name: ['A10G', 'A100'], count: { min: 1, max: 2 }, compute_capability: 8.0 }]),
    cpu: d('vCPUs: a count or range, optionally with an architecture (`x86:16`, `arm:8..`; arm needs `image`), `{arch, count}` or `{min, max}`. Default 2..', {
      type: ['integer', 'string', 'object'],
      minimum: 1,
      properties: {
        arch: d('x86 or arm (any case, as gpuhunt casts it).', { type: 'string' }),
        count: countRange('vCPU count', ['16..']),
        ...rangeObject({ type: ['integer', 'string', 'null'] })
      },
      additionalProperties: false
    }, [4, '16..', 'x86:16', { min: 4, max: 16 }]),
    memory: sizeRange('RAM (default 8GB..)', ['64GB', '200GB..', { min: '64GB' }]),
    disk: d('Disk size or range (default 100GB..), or {size}.', {
      type: ['string', 'number', 'object'],
      properties: { size: sizeRange('Disk size', ['500GB', { min: '200GB' }]), ...rangeObject({ type: ['string', 'number', 'null'] }) },
      additionalProperties: false
    }, ['500GB', { size: '200GB..' }]),
    shm_size: d('Size of /dev/shm (one size, e.g. 16GB); needed by multi-GPU training.', { type: ['string', 'number'] }, ['16GB'])
  },
  additionalProperties: false
}, [{ gpu: '24GB..40GB:2', memory: '64GB..', disk: '200GB', shm_size: '16GB' }])
const resources = resourcesSchema('What the job needs from the machine (dstack resources grammar).')

export const dstackTaskSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${SCHEMA_BASE}dstack-task.schema.json`,
  title: 'dstack task (*.dstack.yml)',
  description: 'A dstack run configuration of `type: task` (dstack 0.18 – 0.21) as run by dstack/run-action in CI. One task per file. Other types (service, dev-environment, fleet, gateway, volume) are skipped. `artifacts`, `deps` and `cache` are run-action extensions.',
  type: 'object',
  properties: {
    type: d('Configuration type. Only `task` runs in CI.', { type: 'string', enum: ['task'] }, ['task']),
    name: d('Workflow name, as dstack names runs: `^[a-z][a-z0-9-]{1,40}$` (default: the file name without .dstack.yml, or the folder name for a bare .dstack.yml).', { type: 'string' }, ['train']),
    commands: commandList('Commands', [['uv pip install -r requirements.txt', 'python train.py ${{ run.args }}']]),
    setup: commandList('Deprecated in dstack, where it has no effect for tasks; run-action runs it before `commands` (with a warning), as dstack did when such files were written', [['pip install -r requirements.txt']]),
    image: d('Docker image; without it the default image with `python` is used.', { type: 'string' }, ['pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime']),
    entrypoint: d('Docker entrypoint.', { type: 'string' }),
    python,
    env: d('Environment variables: a list of `NAME=VALUE` / bare `NAME` (from the CI environment at launch), or a mapping; values may use ${{ secrets.NAME }} and ${{ env.NAME }}.', {
      type: ['array', 'object'],
      items: { type: 'string' },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] }
    }, [['HF_TOKEN', 'NCCL_DEBUG=INFO'], { WANDB_API_KEY: '${{ secrets.WANDB_API_KEY }}' }]),
    working_dir: d('Folder to run in. Absolute (dstack\'s current form, `~` = /root): the checkout is placed there and the job starts there. Relative (legacy): relative to the repository root.', { type: 'string' }, ['/workflow', 'src']),
    ports: portList('Ports the job listens on'),
    resources,
    spot_policy: d('spot, on-demand, or auto (spot first, on-demand when spot has no capacity). Default auto.', { type: 'string', enum: ['spot', 'on-demand', 'auto'] }, ['auto']),
    max_price: d('Maximum price, USD per hour (above 0; a number, or a string holding one, as pydantic reads a float).', { type: ['number', 'string'] }, [2.5]),
    max_duration: d('Time limit of a run: `90m`, `2h`, `1d`, seconds; `true` = the default (6h); `off` or `false` keep the 6h hard cap of a CI run (with a warning).', { type: ['string', 'integer', 'boolean'] }, ['2h', 'off', true]),
    retry: d('Retry on events: true (no-capacity, interruption, error for 1h), false, or {on_events, duration}.', {
      type: ['boolean', 'object'],
      properties: {
        on_events: d('Events to retry on (default all).', { type: 'array', items: { type: 'string', enum: ['no-capacity', 'interruption', 'error'] } }, [['no-capacity', 'interruption']]),
        duration: duration('How long to keep retrying', ['1h'])
      },
      additionalProperties: false
    }, [true, { on_events: ['no-capacity', 'interruption'], duration: '1h' }]),
    instance_types: strings('EC2 instance types to consider.', [['g5.xlarge', 'g6.xlarge']]),
    regions: strings('Regions to consider.', [['us-east-1', 'us-west-2']]),
    availability_zones: strings('Availability zones to consider.', [['us-east-1a']]),
    nodes: d('Number of nodes: one machine each (a cluster in one availability zone on AWS, runner processes on the local backend), with DSTACK_NODE_RANK, DSTACK_MASTER_NODE_IP, DSTACK_NODES_IPS and the other node variables.', { type: 'integer', minimum: 1 }, [1]),
    groups: d('Node groups of a heterogeneous multi-node task: each group its own nodes, resources and commands; ranks follow the list (groups[0].nodes[0] is the master). Cannot be combined with nodes or top-level commands.', {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: d('Group name, `^[a-z0-9][a-z0-9-]{0,39}$` (default: its position).', { type: 'string' }),
          nodes: d('Nodes in this group.', { type: 'integer', minimum: 1 }),
          resources: resourcesSchema('What each node of this group needs.'),
          commands: commandList('Commands of this group (optional when the task has an `image`); ${{ groups[i].nodes[j].IP_ADDRESS }} is the address of another node', [['python worker.py']]),
          ports: portList('Ports of this group')
        },
        additionalProperties: false
      }
    }),
    startup_order: d('Multi-node: which nodes start their commands first: any (default), master-first (workers wait for the master), workers-first (the master waits for every worker). Ignored with one node.', { type: 'string', enum: ['any', 'master-first', 'workers-first'] }),
    stop_criteria: d('Multi-node: all-done (default: the run ends when every node is done) or master-done (when the master is done, the other nodes are stopped). A failed node always fails the run and stops the others. Ignored with one node.', { type: 'string', enum: ['all-done', 'master-done'] }),
    artifacts: { ...artifacts, description: `run-action extension (not in dstack): ${String(artifacts.description)}` },
    deps: { ...deps, description: `run-action extension (not in dstack): ${String(deps.description)}` },
    cache: { ...cache, description: `run-action extension (not in dstack): ${String(cache.description)}` },
    registry_auth: registryAuth,
    files: ignored('Local files to upload; the repository is already checked out'),
    repos: ignored('Repositories to clone; the CI repository is already checked out'),
    volumes: ignored('Volumes to attach'),
    nvcc: { ...ignored('Default image with the CUDA compiler'), type: ['boolean', 'null'] },
    shell: d('Shell that runs the commands: `sh`, `bash` or an absolute path (dstack\'s default: /bin/bash without `image`, /bin/sh with one).', { type: 'string' }, ['bash']),
    user: { ...ignored('User to run as, `name_or_id[:group]`'), type: ['string', 'integer', 'null'] },
    privileged: { ...ignored('Privileged container'), type: ['boolean', 'null'] },
    docker: { ...ignored('Docker-in-Docker'), type: ['boolean', 'null'] },
    home_dir: { ...ignored('Home folder (deprecated)'), type: ['string', 'number', 'null'] },
    priority: { ...ignored('Run priority, 0–100'), type: ['integer', 'null'], minimum: 0, maximum: 100 },
    single_branch: { ...ignored('Clone a single branch'), type: ['boolean', 'null'] },
    dstack: { ...ignored('Expose the dstack server'), type: ['boolean', 'null'] },
    backends: { ...ignored('Backends to consider'), type: ['array', 'null'], items: { type: 'string' } },
    reservation: { ...ignored('Capacity reservation'), type: ['string', 'number', 'null'] },
    stop_duration: { ...durationOrOff('Grace period on stop (dstack; ignored by run-action)'), type: ['string', 'integer', 'boolean', 'null'] },
    idle_duration: { ...durationOrOff('Fleet idle time (dstack; ignored by run-action)'), type: ['string', 'integer', 'boolean', 'null'] },
    creation_policy: { ...ignored('Fleet reuse policy'), enum: ['reuse', 'reuse-or-create', null] },
    fleets: { ...ignored('Fleets to use'), type: ['array', 'null'] },
    instances: { ...ignored('Instances to use'), type: ['array', 'null'], minItems: 1 },
    utilization_policy: {
      ...ignored('Stop on low GPU utilisation'),
      type: ['object', 'null'],
      properties: {
        min_gpu_utilization: d('Percent, 0–100.', { type: 'integer', minimum: 0, maximum: 100 }),
        time_window: d('At least 5m.', { type: ['string', 'integer'] })
      },
      required: ['min_gpu_utilization', 'time_window'],
      additionalProperties: false
    },
    schedule: {
      ...ignored('Cron schedule'),
      type: ['object', 'null'],
      properties: { cron: d('A cron expression (5 fields, UTC) or a list of them.', { type: ['string', 'array'], items: { type: 'string' } }) },
      required: ['cron'],
      additionalProperties: false
    },
    tags: { ...ignored('Resource tags'), type: ['object', 'null'], additionalProperties: { type: ['string', 'number'] } },
    backend_options: { ...ignored('Backend options'), type: ['array', 'null'] }
  },
  required: ['type'],
  additionalProperties: false,
  examples: [{ type: 'task', name: 'train', python: '3.12', env: ['HF_TOKEN'], commands: ['pip install -r requirements.txt', 'python train.py'], resources: { gpu: '24GB..:1' }, spot_policy: 'auto', max_duration: '2h' }]
}
