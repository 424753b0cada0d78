/** The run revision (DESIGN.md "Revision"): what code a run ran. */
export type CiEvent =
  | 'push'
  | 'pull_request'
  | 'schedule'
  | 'workflow_dispatch'
  | 'merge_request_event'
  | 'local'
  | string

export interface Revision {
  /** `github.com/owner/repo`; validated by `assertRepoId` */
  repoId: string
  repoUrl?: string
  ref?: string
  branch?: string
  /** the commit CI checked out (for pull_request: the merge commit) */
  sha: string
  /** pull request / merge request head commit */
  headSha?: string
  baseSha?: string
  pr?: number
  event: CiEvent
  /** sha256 of the binary patch of local changes; undefined when the tree is clean */
  diffSha256?: string
  /** sha256 of the code snapshot tar.gz (its content address) */
  snapshotSha256: string
}
