/** Schema pieces shared by both published schemas (each schema file stays self-contained). */
export type JsonSchema = Record<string, unknown>

export const SCHEMA_BASE = 'https://raw.githubusercontent.com/dstack/run-action/v1/schemas/'

export const d = (description: string, schema: JsonSchema = {}, examples?: unknown[]): JsonSchema =>
  examples ? { description, ...schema, examples } : { description, ...schema }

export const script = (what: string, examples: unknown[]): JsonSchema =>
  d(`${what}: a list of shell commands, or one multi-line string run as one script block. \${{ run.args }} and \${{ run.name }} reach the job as data (references to quoted values), never as shell.`, {
    type: ['array', 'string'],
    items: { type: 'string' }
  }, examples)

export const python = d('Python version of the default image (3.7 … 3.14). Quote it: YAML reads 3.10 as 3.1 (which is taken as 3.10).', {
  type: ['string', 'number'],
  pattern: '^\\d+(\\.\\d+)?$'
}, ['3.12', 3.11])

export const artifacts = d('Folders or files saved to the run store when the run ends; dependants and tags get them. A relative path is relative to the working directory; an absolute path (`/opt/conda/envs/myenv`, `/root/.cache/huggingface`) is a folder of the machine or container the run owns, restored at the same path by dependants (refused on the local backend without `image`).', {
  type: 'array',
  items: {
    type: ['string', 'object'],
    properties: {
      path: d('Path relative to the working directory, or absolute.', { type: 'string' }, ['output', 'checkpoints/final', '/root/.cache/huggingface']),
      mount: d('Save in real time while the job runs (dstack\'s real-time artifacts).', { type: 'boolean' })
    },
    required: ['path'],
    additionalProperties: false
  }
}, [[{ path: 'output' }, 'checkpoints']])

export const deps = d('Runs whose artifacts are placed into the working tree before the job starts: a tag, or the latest succeeded run of a workflow; `owner/repo/name` reads another repository.', {
  type: 'array',
  items: {
    type: ['string', 'object'],
    properties: {
      tag: d('Tag name, or owner/repo/tag for another GitHub repository.', { type: 'string' }, ['my-model', 'acme/data/latest']),
      workflow: d('Workflow name: its most recent succeeded run.', { type: 'string' }, ['prepare-data']),
      mount: d('Accepted for compatibility and ignored: artifacts are always downloaded.', { type: 'boolean' })
    },
    additionalProperties: false
  }
}, [[{ tag: 'my-model' }, { workflow: 'prepare-data' }, ':my-tag']])

export const cache = d('Folders kept between runs of the same workflow (docs/cache.md): restored before the job, saved after it succeeds, in the run store.', {
  type: 'array',
  items: {
    type: ['string', 'object'],
    properties: {
      path: d('Folder to cache (`~/…`, absolute, or relative to the working directory).', { type: 'string' }),
      key: d('The entry\'s key: restored when an entry has exactly this key, else saved under it. Default: the commit, with every earlier entry as the fall-back.', { type: 'string' }, ['pip-v1']),
      restore_keys: d('Fall-back keys, in order: the newest entry whose key starts with one is restored when the key has none. Default with `key`: none.', { type: 'array', items: { type: 'string' } }, [['pip-']])
    },
    required: ['path'],
    additionalProperties: false
  }
}, [[{ path: '~/.cache/pip' }, { path: '~/.cache/huggingface', key: 'hf-v1', restore_keys: ['hf-'] }]])

export const registryAuth = d('Credentials for pulling a private `image`: run-action logs in to the image\'s registry before pulling it, with the credentials held in memory only.', {
  type: 'object',
  properties: {
    username: d('Registry user name (a literal, or ${{ secrets.NAME }} / ${{ env.NAME }}).', { type: 'string' }, ['${{ secrets.REGISTRY_USER }}']),
    password: d('Registry password or token: always ${{ secrets.NAME }} or ${{ env.NAME }}, read from the CI environment at launch.', { type: 'string' }, ['${{ secrets.REGISTRY_TOKEN }}'])
  },
  required: ['username', 'password'],
  additionalProperties: false
})
