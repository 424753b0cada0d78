/**
 * Checks of a run request that need no machine, made before the run is submitted, so a bad tag
 * or environment never leaves a run behind in `submitted` (or runs a job whose result cannot be
 * kept). The tag is checked once more when it is applied, at the end (the store write is
 * create-only, so a tag taken meanwhile still fails then).
 */
import { UserError, type RunSpec } from '../model/index.js'
import { assertName } from '../model/names.js'
import type { RunStore } from '../store/index.js'
import { MOVE_TAG_HINT } from '../store/run-store.js'

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Names the runner sets or depends on: `DSTACK_*` (run identity, runner settings such as
 * DSTACK_WORK_ROOT or DSTACK_AWS_CLI), PATH and HOME (set by the runner), and the variables that
 * change how bash itself starts or runs commands.
 */
const RESERVED_ENV = /^(DSTACK_.*|PATH|HOME|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|IFS|PS4|PROMPT_COMMAND|LD_PRELOAD|LD_AUDIT|BASH_FUNC_.*)$/

export function checkEnvNames(spec: Pick<RunSpec, 'workflow' | 'source' | 'env' | 'secretEnv'>): void {
  const where = `workflow \`${spec.workflow}\` (${spec.source.file}:${spec.source.line})`
  for (const name of [...Object.keys(spec.env), ...Object.keys(spec.secretEnv)]) {
    if (!ENV_NAME_RE.test(name)) {
      throw new UserError(`${where}: invalid env name ${JSON.stringify(name)}`, 'use letters, digits and _, not starting with a digit')
    }
    if (RESERVED_ENV.test(name)) {
      throw new UserError(`${where}: env name ${name} is reserved by the runner`, 'rename the variable (DSTACK_*, PATH, HOME and bash\'s own start-up variables are set by the runner)')
    }
  }
}

/** the tag is a valid name and free in the store (or `force` moves it) */
export async function checkTag(store: RunStore, repoId: string, tag: string | undefined, force: boolean, trusted = true): Promise<void> {
  if (tag === undefined) return
  assertName('tag', tag)
  if (force) return
  // an untrusted run's tag goes to the untrusted namespace (RunStore.addTag)
  const existing = await store.getTag(repoId, tag, trusted)
  if (existing) throw new UserError(`tag \`${tag}\` already exists in ${repoId}${trusted ? '' : ' among the untrusted runs\' tags'} (run ${existing.run})`, MOVE_TAG_HINT)
}
