/**
 * Pure: the few-line script SSM runs (AWS-RunShellScript parameters are size-limited and kept in
 * command history for 30 days). It fetches the stored runner script with the instance profile,
 * reads the secret environment from a SecureString parameter straight into the environment
 * (never to disk, never in SendCommand parameters), and runs the runner — once per instance —
 * with only the end of its stderr passed on to SSM.
 * Every interpolated
 * value is shell-quoted.
 */
import { createHash } from 'node:crypto'
import { UserError } from '../../model/index.js'

export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`
}

/** where the bootstrap keeps runner.sh and runner.pid on the instance */
export const INSTANCE_DIR = '/opt/dstack'

export interface BootstrapInput {
  bucket: string
  /** full object key of runner.sh */
  scriptKey: string
  /** sha256 of runner.sh as the CI rendered it: the instance refuses other bytes */
  scriptSha256: string
  /** region of the bucket (for `aws s3 cp`) */
  s3Region: string
  /** a non-AWS S3 endpoint (MinIO…), when the store has one */
  s3Endpoint?: string
  /** region of the SSM parameter */
  region: string
  /** the SecureString parameter with the secret env, when there are secrets (a cluster: one per node, `<name>-<rank>`) */
  secretParameter?: string
  /** a multi-node attempt: every node by rank (one command goes to all of them) */
  cluster?: ClusterNodes
  /**
   * a detached run (docs/long-runs.md): the runner runs in its own session, the command returns
   * once it started, and the machine shuts down (and so terminates) when the runner ends
   */
  detached?: boolean
  /** keep-on-failure: seconds a failed run's instance stays up (the runner re-arms its shutdown; body/keep.sh) */
  keepOnFailureSec?: number
}

export interface ClusterNodes {
  /** instance ids by rank */
  instanceIds: string[]
  /** private IPv4 addresses by rank */
  privateIps: string[]
  /** GPUs of each node's instance type, by rank */
  gpusPerNode: number[]
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/** the secret env parameter of one node of a cluster */
export function nodeSecretParameterName(name: string, rank: number): string {
  return `${name}-${rank}`
}

/**
 * Pure: the bootstrap lines that make one SSM command serve every node: SSM Run Command sets
 * `AWS_SSM_INSTANCE_ID` on each instance; a `case` maps it to the node's rank and GPU count (an
 * instance not in the list refuses to start), and the address list is the same for all.
 */
export function clusterBootstrapLines(c: ClusterNodes, secretParameter: string | undefined): string[] {
  const n = c.instanceIds.length
  if (n < 2 || c.privateIps.length !== n || c.gpusPerNode.length !== n) throw new Error(`renderBootstrap: a cluster needs ids, addresses and GPU counts for each of its ${n} nodes`)
  for (const id of c.instanceIds) if (!INSTANCE_ID.test(id)) throw new Error(`renderBootstrap: invalid instance id ${JSON.stringify(id)}`)
  for (const ip of c.privateIps) if (!IPV4.test(ip)) throw new Error(`renderBootstrap: invalid private IPv4 address ${JSON.stringify(ip)}`)
  for (const g of c.gpusPerNode) if (!Number.isSafeInteger(g) || g < 0) throw new Error(`renderBootstrap: invalid GPU count ${JSON.stringify(g)}`)
  if (new Set(c.instanceIds).size !== n) throw new Error('renderBootstrap: an instance id appears twice')
  const branch = (id: string, rank: number): string =>
    `  ${id}) export DSTACK_NODE_RANK=${rank} DSTACK_GPUS_PER_NODE=${c.gpusPerNode[rank]}${secretParameter ? `; P=${shellQuote(nodeSecretParameterName(secretParameter, rank))}` : ''} ;;`
  return [
    'case "${AWS_SSM_INSTANCE_ID:-}" in',
    ...c.instanceIds.map(branch),
    '  *) echo "dstack: instance ${AWS_SSM_INSTANCE_ID:-?} is not a node of this cluster; refusing to start" >&2; exit 1 ;;',
    'esac',
    `DSTACK_NODES_IPS="$(printf '%s\\n' ${c.privateIps.map(shellQuote).join(' ')})"`,
    'export DSTACK_NODES_IPS',
    // every node's GPU count in rank order: DSTACK_GPUS_NUM and the MPI hostfile of groups of different machines
    `export DSTACK_GPUS_BY_RANK=${c.gpusPerNode.join(',')}`
  ]
}

export function renderBootstrap(b: BootstrapInput): string[] {
  if (!/^[0-9a-f]{64}$/.test(b.scriptSha256)) throw new Error(`renderBootstrap: invalid runner script sha256 ${JSON.stringify(b.scriptSha256)}`)
  const endpoint = b.s3Endpoint ? ` --endpoint-url ${shellQuote(b.s3Endpoint)}` : ''
  const lines = [
    '#!/bin/bash',
    'set -euo pipefail',
    'export HOME=/root',
    `D="\${DSTACK_INSTANCE_DIR:-${INSTANCE_DIR}}"`,
    'mkdir -p "$D"',
    ...(b.cluster ? clusterBootstrapLines(b.cluster, b.secretParameter) : []),
    // one runner per instance (one attempt each): a repeated SendCommand must not start a second one
    'mkdir "$D/started" 2>/dev/null || { echo "[dstack] a runner was already started on this instance: not starting a second one" >&2; exit 3; }',
    `aws s3 cp --only-show-errors --region ${shellQuote(b.s3Region)}${endpoint} ${shellQuote(`s3://${b.bucket}/${b.scriptKey}`)} "$D/runner.sh"`,
    // integrity: run only the bytes the CI rendered (the instance role can write the bucket)
    `S="$(sha256sum "$D/runner.sh" | cut -d' ' -f1)"`,
    `if [ "$S" != ${b.scriptSha256} ]; then echo "dstack: runner.sh from the store has sha256 $S, not ${b.scriptSha256} as sent by the CI: it was changed after upload; refusing to run it" >&2; exit 1; fi`
  ]
  if (b.secretParameter) {
    lines.push(
      `DSTACK_SECRET_ENV="$(aws ssm get-parameter --region ${shellQuote(b.region)} --name ${b.cluster ? '"$P"' : shellQuote(b.secretParameter)} --with-decryption --query Parameter.Value --output text)"`,
      'eval "$(printf %s "$DSTACK_SECRET_ENV" | base64 -d)"',
      'unset DSTACK_SECRET_ENV'
    )
  }
  if (b.keepOnFailureSec) {
    if (!Number.isSafeInteger(b.keepOnFailureSec) || b.keepOnFailureSec < 0) throw new Error(`renderBootstrap: invalid keep-on-failure ${JSON.stringify(b.keepOnFailureSec)}`)
    lines.push(`export DSTACK_KEEP_ON_FAILURE=${b.keepOnFailureSec} DSTACK_KEEP_REGION=${shellQuote(b.region)}`)
  }
  if (b.detached) {
    lines.push(...detachedRunnerLines())
    return lines
  }
  // SSM keeps only the first 8,000 characters of a command's stderr: pass on the runner's last
  // 8,000 (where its error is), kept in memory by tail, never on disk; stdout goes straight through
  lines.push(
    'exec 3>&1',
    '{ echo "$BASHPID" > "$D/runner.pid"; exec bash "$D/runner.sh" 2>&1 1>&3 3>&-; } | tail -c 8000 >&2'
  )
  return lines
}

/**
 * Pure: the end of a detached bootstrap. The runner starts in a session of its own, with no tie to
 * the SSM command's pipes, so SSM's executionTimeout and CancelCommand do not reach it; the command
 * returns once the runner's pid is noted. When the runner ends the machine shuts down (launched
 * with shutdown behaviour `terminate`); the runner's own self-destruct still bounds it by max_duration.
 */
export function detachedRunnerLines(): string[] {
  return [
    'rm -f "$D/runner.pid"',
    `setsid bash -c 'bash "$1/runner.sh" & echo "$!" > "$1/runner.pid"; wait "$!"; shutdown -h now "dstack: the run ended" || true' dstack-runner "$D" </dev/null >>"$D/runner.out" 2>&1 &`,
    'for _ in $(seq 1 300); do [ -s "$D/runner.pid" ] && break; sleep 0.1; done',
    '[ -s "$D/runner.pid" ] || { echo "dstack: the detached runner did not start (see $D/runner.out)" >&2; exit 1; }',
    'echo "[dstack] runner $(cat "$D/runner.pid") started detached: it goes on without this command"'
  ]
}

/** The small command `cancel()` sends: SIGTERM to the runner (it still saves artifacts, logs, status). */
export function renderStopScript(): string[] {
  return [
    '#!/bin/bash',
    `D="\${DSTACK_INSTANCE_DIR:-${INSTANCE_DIR}}"`,
    'if [ -s "$D/runner.pid" ] && kill -0 "$(cat "$D/runner.pid")" 2>/dev/null; then kill -TERM "$(cat "$D/runner.pid")"; else pkill -TERM -o -f "$D/runner.sh" || true; fi'
  ]
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Advanced-tier SecureString limit (bytes); Intelligent-Tiering picks the tier */
export const SECRET_PARAMETER_MAX = 8192

/** Pure: the parameter value: base64 of `export NAME='value'` lines (eval'd by the bootstrap). */
export function secretEnvPayload(env: Record<string, string>): string {
  const lines = Object.keys(env).sort().map((k) => {
    if (!ENV_NAME.test(k)) throw new UserError(`secret environment variable name is not valid: ${JSON.stringify(k)}`)
    return `export ${k}=${shellQuote(env[k] ?? '')}`
  })
  const value = Buffer.from(lines.join('\n') + '\n', 'utf8').toString('base64')
  if (value.length > SECRET_PARAMETER_MAX) {
    throw new UserError(`the secret environment is ${value.length} bytes once encoded; SSM Parameter Store holds at most ${SECRET_PARAMETER_MAX}`, 'pass fewer or smaller secrets (store large ones in S3 or Secrets Manager and fetch them in setup)')
  }
  return value
}

/** `/dstack/<repo hash>/<run>/<attempt>/env` (the CI role may write `/dstack/*`, the instance read it) */
export function secretParameterName(repoId: string, runName: string, attempt: number): string {
  const repo = createHash('sha256').update(repoId).digest('hex').slice(0, 12)
  return `/dstack/${repo}/${runName}/${attempt}/env`
}
