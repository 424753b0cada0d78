/**
 * What the billed-overhead bench (billed-overhead.ts) charges for each AWS call, and the fixed
 * figures of EC2 itself that a run's billed seconds sit on. The calls are answered by the EC2/SSM
 * double (fake-cloud.ts); each one first waits its latency from this table, in real time (times
 * `BENCH_LATENCY_SCALE`), so what our code does between, around and in parallel with the calls is
 * measured as it runs.
 *
 * Sources (each row names one; "estimate" where no published figure was found — the middle of the
 * range an SDK call from a CI runner in the same region usually takes):
 *   [boot]    Colin Percival, "EC2 boot time benchmarking" (2021), daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html:
 *             RunInstances 1.5 s; pending → running 4.9 s; running → sshd answering 17.2 + 5.6 s (c5.xlarge, Linux)
 *   [cold]    brevdev/ec2-coldboot-research (2025, github.com/brevdev/ec2-coldboot-research): launch → SSH 25.8 s
 *             on average, pending → running ~16–18 s of it, boot → SSH 3.2 s (current instance types)
 *   [billing] Amazon EC2 User Guide, "Amazon EC2 instance state changes" (ec2-instance-lifecycle):
 *             `running` is billed; `pending` and `shutting-down` are not
 *   [s3]      Amazon S3 User Guide / whitepaper "Best Practices Design Patterns: Optimizing Amazon S3 Performance":
 *             first-byte latency of small requests in the region 100–200 ms
 *   [brief]   the band for EC2 read calls, ~100–300 ms (estimate)
 */

export interface LatencyRow {
  /** the SDK command's name without `Command` (`DescribeInstances`), or `S3:<command>` */
  call: string
  ms: number
  source: string
}

/** per-call latency (ms) of the AWS APIs the action calls */
export const LATENCY: LatencyRow[] = [
  { call: 'RunInstances', ms: 1500, source: '[boot] RunInstances API call 1.54 s' },
  { call: 'TerminateInstances', ms: 300, source: 'estimate [brief]' },
  { call: 'DescribeInstances', ms: 200, source: 'estimate [brief]' },
  { call: 'DescribeInstanceTypes', ms: 300, source: 'estimate [brief]; one page of up to 100 types' },
  { call: 'DescribeInstanceTypeOfferings', ms: 250, source: 'estimate [brief]' },
  { call: 'DescribeSpotPriceHistory', ms: 300, source: 'estimate [brief]' },
  { call: 'DescribeImages', ms: 200, source: 'estimate [brief]' },
  { call: 'DescribeSubnets', ms: 150, source: 'estimate [brief]' },
  { call: 'DescribeVpcs', ms: 150, source: 'estimate [brief]' },
  { call: 'DescribeSecurityGroups', ms: 150, source: 'estimate [brief]' },
  { call: 'DescribeKeyPairs', ms: 150, source: 'estimate [brief]' },
  { call: 'CreatePlacementGroup', ms: 300, source: 'estimate [brief]' },
  { call: 'CreateSecurityGroup', ms: 300, source: 'estimate [brief]' },
  { call: 'AuthorizeSecurityGroupIngress', ms: 250, source: 'estimate [brief]' },
  { call: 'AuthorizeSecurityGroupEgress', ms: 250, source: 'estimate [brief]' },
  { call: 'DeletePlacementGroup', ms: 250, source: 'estimate [brief]' },
  { call: 'DeleteSecurityGroup', ms: 250, source: 'estimate [brief]' },
  { call: 'DescribePlacementGroups', ms: 150, source: 'estimate [brief]' },
  // SSM
  { call: 'GetParameter', ms: 100, source: 'estimate' },
  { call: 'PutParameter', ms: 150, source: 'estimate' },
  { call: 'DeleteParameter', ms: 100, source: 'estimate' },
  { call: 'DeleteParameters', ms: 100, source: 'estimate' },
  { call: 'GetParametersByPath', ms: 150, source: 'estimate' },
  { call: 'DescribeInstanceInformation', ms: 150, source: 'estimate' },
  { call: 'SendCommand', ms: 250, source: 'estimate' },
  { call: 'GetCommandInvocation', ms: 120, source: 'estimate' },
  { call: 'ListCommandInvocations', ms: 150, source: 'estimate' },
  { call: 'ListCommands', ms: 150, source: 'estimate' },
  { call: 'CancelCommand', ms: 150, source: 'estimate' },
  // account-wide and pricing (global endpoints in us-east-1)
  { call: 'GetCallerIdentity', ms: 100, source: 'estimate' },
  { call: 'GetInstanceProfile', ms: 200, source: 'estimate (IAM is a global endpoint)' },
  { call: 'SimulatePrincipalPolicy', ms: 300, source: 'estimate (IAM is a global endpoint)' },
  { call: 'GetServiceQuota', ms: 200, source: 'estimate' },
  { call: 'GetProducts', ms: 400, source: 'estimate (the Pricing API answers from us-east-1 only)' },
  // the run store, from the action's side (the instance's S3 requests go to the loopback S3 server as they are)
  { call: 'S3', ms: 150, source: '[s3] 100–200 ms first-byte latency of small requests' }
]

const DEFAULT_MS = 200

/** the latency of one call (ms, before scaling); an S3 command is `S3:<name>` */
export function latencyOf(call: string): number {
  if (call.startsWith('S3:')) return LATENCY.find((r) => r.call === 'S3')!.ms
  return LATENCY.find((r) => r.call === call)?.ms ?? DEFAULT_MS
}

/** EC2's own figures, fixed: what a run's billed seconds sit on (ms) */
export const EC2_FIGURES = {
  /** RunInstances answered → `running` (not billed) [boot] */
  pendingMs: 4_900,
  /** `running` → the instance has booted and its SSM agent is Online: sshd answers 22.8 s after `running` [boot]; the agent starts beside it */
  bootMs: 22_800,
  source: 'EC2 boot figures: C. Percival, daemonology.net 2021-08-12 (pending → running 4.9 s; running → booted 22.8 s); billed from `running` to `shutting-down` (EC2 User Guide, instance state changes)'
}

/** one line naming where the latencies come from (printed by `npm run bench`) */
export const LATENCY_SOURCE = 'AWS call latencies: bench/parts/aws-latency.ts (RunInstances 1.5 s, EC2 reads 150–300 ms, SSM 100–250 ms, S3 150 ms; sources there)'
