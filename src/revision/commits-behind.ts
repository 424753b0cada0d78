/**
 * How many commits a baseline's commit is behind the base branch, asked of the job's own checkout:
 * `git rev-list --count <baseline>..<base>`. Undefined when git cannot tell (a shallow clone that
 * lacks the commit, no such branch): then only the baseline's age says whether it is stale.
 */
import type { Git } from './git.js'

const SHA = /^[0-9a-f]{7,64}$/
const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/

/** `base`: the base commit (a PR's base sha) or branch name (looked up as `origin/<branch>`, then `<branch>`) */
export function commitsBehind(git: Git, base: { sha?: string; branch?: string }): (sha: string) => Promise<number | undefined> {
  return async (sha) => {
    if (!SHA.test(sha)) return undefined
    const targets = [base.sha && SHA.test(base.sha) ? base.sha : undefined, ...(base.branch && BRANCH.test(base.branch) ? [`refs/remotes/origin/${base.branch}`, `refs/heads/${base.branch}`] : [])]
    for (const target of targets) {
      if (!target) continue
      const out = await git.tryText(['rev-list', '--count', `${sha}..${target}`, '--'])
      if (out !== undefined && /^\d+$/.test(out)) return Number(out)
    }
    return undefined
  }
}
