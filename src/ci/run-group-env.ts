/**
 * Which group a run belongs to, from the inputs and the CI's variables (docs/seed-groups.md):
 * - `group` (input / `--group`): the group's name; the pipeline (GITHUB_RUN_ID, CI_PIPELINE_ID)
 *   is added so a re-run pipeline makes a new group;
 * - a GitLab `parallel` / `parallel:matrix` job is a group without being asked: its name is the
 *   job's name without GitLab's ` 2/5` / `: [3]` suffix, its size CI_NODE_TOTAL;
 * - `group-size` (GitHub: `${{ strategy.job-total }}`) and `group-member` (e.g. the seed) say how
 *   many runs the group has and which one this is.
 */
import type { RunGroup } from '../model/index.js'
import { UserError } from '../model/errors.js'

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export interface GroupInputs {
  name?: string
  size?: string
  member?: string
}

function gitlabJobBase(jobName: string): string {
  return jobName.replace(/(: \[[^\]]*\]| \d+\/\d+)$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'matrix'
}

export function runGroupFrom(environ: Record<string, string | undefined>, i: GroupInputs, field = 'input `group`'): RunGroup | undefined {
  // a GitLab job (gitlab-ci-local runs them with GITLAB_CI=false, but with GitLab's job variables)
  const gitlab = environ.GITLAB_CI === 'true' || Boolean(environ.CI_JOB_NAME && environ.CI_PIPELINE_ID)
  const gitlabTotal = gitlab ? Number(environ.CI_NODE_TOTAL) : NaN
  const gitlabParallel = Number.isInteger(gitlabTotal) && gitlabTotal > 1
  let name = (i.name ?? '').trim()
  if (!name && gitlabParallel && environ.CI_JOB_NAME) name = gitlabJobBase(environ.CI_JOB_NAME)
  if (!name) return undefined
  if (!NAME.test(name)) throw new UserError(`${field} is ${JSON.stringify(i.name)}`, 'use letters, digits, `.`, `_` and `-` (up to 64 characters), e.g. `seeds`')
  const sizeText = (i.size ?? '').trim()
  const size = sizeText ? Number(sizeText) : gitlabParallel ? gitlabTotal : undefined
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 1000)) {
    throw new UserError(`${field.replace('group', 'group-size')} is ${JSON.stringify(i.size)}`, 'give the number of runs in the group, e.g. `${{ strategy.job-total }}`')
  }
  const member = (i.member ?? '').trim().slice(0, 64) || (gitlabParallel ? (/: \[([^\]]*)\]$/.exec(environ.CI_JOB_NAME ?? '')?.[1] ?? environ.CI_NODE_INDEX) : undefined)
  const pipeline = environ.GITHUB_ACTIONS === 'true' ? environ.GITHUB_RUN_ID : gitlab ? environ.CI_PIPELINE_ID : undefined
  return { name, ...(pipeline ? { pipeline } : {}), ...(size !== undefined ? { size } : {}), ...(member ? { member } : {}) }
}
