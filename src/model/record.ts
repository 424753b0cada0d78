/** What the store keeps about runs (DESIGN.md "Store layout"). */
import type { Revision } from './revision.js'
import type { RunSpec } from './spec.js'
import type { RunStatus, TerminalStatus } from './status.js'

export interface MachineInfo {
  /** instance id, or `local:<pid>` */
  id: string
  backend: 'local' | 'aws'
  instanceType?: string
  market?: 'spot' | 'on-demand'
  region?: string
  zone?: string
  /** USD per hour at launch; `priceSource` says where it came from */
  pricePerHour?: number
  priceSource?: string
  launchedAt?: string
  /** the image the machine booted (AWS) */
  amiId?: string
  /** AWS: the root EBS volume's size (billed per second while the instance lives, like the instance) */
  volumeGiB?: number
  /** AWS: the root volume's EBS type (gp3 when absent), provisioned IOPS and throughput in MiB/s */
  volumeType?: string
  volumeIops?: number
  volumeThroughput?: number
  /** AWS: the instance has a public IPv4 address (billed per hour since 2024) */
  publicIpv4?: boolean
  /** local backend: the host the runner runs on (its pid means something only there) */
  host?: string
  /** multi-node: the node's rank (0 = master) */
  rank?: number
  /** the address the other nodes reach this one at (AWS: the private IPv4; local: 127.0.0.1) */
  privateIp?: string
  /** AWS, a run with several regions: the regions launches were tried in, in order, the last one where it was placed */
  regionsTried?: string[]
}

/** one node of a multi-node attempt, as the orchestrator saw it end */
export interface NodeRecord {
  rank: number
  /** the node group (`groups[].name`) when the task has groups */
  group?: string
  machine?: MachineInfo
  status?: TerminalStatus
  exitCode?: number
  reason?: string
}

export interface AttemptRecord {
  n: number
  /** the machine (multi-node: the master's; every node's is in `nodes`) */
  machine?: MachineInfo
  /** multi-node attempts: every node by rank, with its own result */
  nodes?: NodeRecord[]
  startedAt: string
  endedAt?: string
  status?: TerminalStatus
  exitCode?: number
  reason?: string
  /** USD, from price × billed duration */
  costUsd?: number
  /** sha256 of this attempt's runner.sh, as rendered (the bootstrap refuses other bytes) */
  runnerScriptSha256?: string
}

/**
 * What a run was made from (its last attempt). A field a backend cannot know is null, never
 * omitted: a local run has no AMI, a run without an image no image digest.
 */
export interface RunProvenance {
  runnerScriptSha256: string | null
  snapshotSha256: string | null
  /** `trusted`: the dep run's own trust; `via`: how it was found (`tag data`, `latest trusted run of train`) */
  deps: { label: string; repoId: string; run: string; manifestSha256: string | null; trusted?: boolean; via?: string }[]
  amiId: string | null
  /** `repo@sha256:…` of the image the job ran in, as docker reported it */
  imageDigest: string | null
  instanceType: string | null
  /** store key of the in-toto statement for the artifacts (SLSA provenance v1), when there are artifacts */
  statementKey: string | null
  /** sha256 of the run's artifacts.json as its run ended: consumers check the store against it (store/integrity.ts) */
  manifestSha256?: string
}

/**
 * Whether a run's code is trusted (docs/trust-model.md): trusted = a push, a schedule or a manual
 * dispatch on the default branch or a protected branch; everything else (pull / merge requests,
 * forks, a laptop) is untrusted. Set by the orchestrator from the CI's own variables at submit.
 */
export interface RunTrust {
  trusted: boolean
  /** how it was triggered, one line: `push to main`, `pull_request #7 from feature`, `local (not in CI)` */
  trigger: string
  /** why it is (not) trusted, one line */
  why: string
}

export interface RunRecord {
  run: string
  repoId: string
  workflow: string
  spec: RunSpec
  revision: Revision
  backend: 'local' | 'aws'
  args: string[]
  status: RunStatus
  reason?: string
  exitCode?: number
  submittedAt: string
  endedAt?: string
  attempts: AttemptRecord[]
  /** tag requested at launch (`--tag`): applied when the run succeeds */
  requestedTag?: string
  tags: string[]
  costUsd?: number
  /** the CI job that started it (URL), when known */
  ciUrl?: string
  provenance?: RunProvenance
  /** absent in records written before trust was recorded: such runs count as untrusted */
  trust?: RunTrust
  /** runs of one workflow at one commit started together (a CI matrix over seeds): docs/seed-groups.md */
  group?: RunGroup
}

/**
 * The group a run belongs to. Runs with the same workflow, commit (`revision.sha`), `name` and
 * `pipeline` form one group; `size` is how many runs the matrix starts ("3 of 5 done").
 */
export interface RunGroup {
  /** a name: letters, digits, `.`, `_`, `-` (input `group`, or the GitLab job name of a `parallel` job) */
  name: string
  /** the CI pipeline that started it (GITHUB_RUN_ID, CI_PIPELINE_ID), so a re-run pipeline is a new group */
  pipeline?: string
  /** how many runs the group has when complete (input `group-size`, CI_NODE_TOTAL) */
  size?: number
  /** this run's place in it (a matrix value such as the seed, or CI_NODE_INDEX) */
  member?: string
}

export interface ManifestEntry {
  /** relative to the run's artifacts root, forward slashes */
  path: string
  size: number
  sha256: string
  /** the exact name bytes (base64) when they are not valid UTF-8; `path` then shows them as `?` */
  rawPath?: string
}

export interface TagRecord {
  tag: string
  run: string
  workflow: string
  repoId: string
  revision: Pick<Revision, 'sha' | 'branch' | 'ref'>
  created_at: string
  /** sha256 of the run's artifacts.json at the time of tagging */
  manifest_sha256: string
  /** the namespace the tag lives in: trusted (`tags/`) or untrusted (`untrusted-tags/`); set on reading */
  trusted?: boolean
}
