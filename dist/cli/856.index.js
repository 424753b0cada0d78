export const id = 856;
export const ids = [856];
export const modules = {

/***/ 14856:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  AwsBackend: () => (/* reexport */ AwsBackend),
  CANCEL_GRACE_SEC: () => (/* reexport */ CANCEL_GRACE_SEC),
  CancelledError: () => (/* reexport */ CancelledError),
  DEFAULT_AMI_FAMILIES: () => (/* reexport */ DEFAULT_AMI_FAMILIES),
  DEFAULT_AMI_PARAMETER: () => (/* reexport */ DEFAULT_AMI_PARAMETER),
  DEFAULT_AMI_PARAMETERS: () => (/* reexport */ DEFAULT_AMI_PARAMETERS),
  ExpiredCredentialsError: () => (/* reexport */ ExpiredCredentialsError),
  ON_DEMAND_FALLBACK: () => (/* reexport */ ON_DEMAND_FALLBACK),
  PRICE_SOURCE: () => (/* reexport */ PRICE_SOURCE),
  QuotaError: () => (/* reexport */ QuotaError),
  RUNNER_KILL_AFTER_SEC: () => (/* reexport */ RUNNER_KILL_AFTER_SEC),
  RUNNER_SAVE_SEC: () => (/* reexport */ RUNNER_SAVE_SEC),
  TAG: () => (/* reexport */ TAG),
  classifyLaunchError: () => (/* reexport */ classifyLaunchError),
  clientToken: () => (/* reexport */ clientToken),
  createAwsBackend: () => (/* binding */ createAwsBackend),
  defaultClientFactory: () => (/* reexport */ defaultClientFactory),
  describeCandidate: () => (/* reexport */ describeCandidate),
  execState: () => (/* reexport */ execState),
  findCandidates: () => (/* reexport */ findCandidates),
  formatRows: () => (/* reexport */ check_rows/* formatRows */.d),
  fullKey: () => (/* reexport */ fullKey),
  instanceTags: () => (/* reexport */ instanceTags),
  isExpiredCredentials: () => (/* reexport */ isExpiredCredentials),
  isThrottling: () => (/* reexport */ isThrottling),
  launchFailure: () => (/* reexport */ launchFailure),
  noCapacityMessage: () => (/* reexport */ noCapacityMessage),
  quotaFor: () => (/* reexport */ quotaFor),
  quotaIncreaseCommand: () => (/* reexport */ quotaIncreaseCommand),
  rankCandidates: () => (/* reexport */ rankCandidates),
  renderBootstrap: () => (/* reexport */ renderBootstrap),
  renderStopScript: () => (/* reexport */ renderStopScript),
  resolveOptions: () => (/* reexport */ resolveOptions),
  runInstancesInput: () => (/* reexport */ runInstancesInput),
  secretEnvPayload: () => (/* reexport */ secretEnvPayload),
  secretParameterName: () => (/* reexport */ secretParameterName),
  shellQuote: () => (/* reexport */ shellQuote)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ssm/dist-cjs/index.js
var dist_cjs = __webpack_require__(34736);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ec2/dist-cjs/index.js
var client_ec2_dist_cjs = __webpack_require__(35193);
// EXTERNAL MODULE: ./src/model/index.ts + 4 modules
var model = __webpack_require__(53876);
// EXTERNAL MODULE: ./src/workflows/units.ts
var units = __webpack_require__(48469);
// EXTERNAL MODULE: ./src/model/volume.ts
var volume = __webpack_require__(79915);
;// CONCATENATED MODULE: ./src/backends/aws/disk-options.ts
/**
 * Pure: the root EBS volume's type, IOPS and throughput (inputs `disk-type`, `disk-iops`,
 * `disk-throughput`; CLI `--disk-type`, `--disk-iops`, `--disk-throughput`), checked against EBS's
 * rules before anything is launched, and what that volume costs.
 *
 * A boot volume can be gp3 (default), gp2, io1 or io2: st1 and sc1 cannot boot, `standard`
 * (magnetic) is a previous generation. gp3 has 3,000 IOPS and 125 MiB/s included and takes up to
 * 16,000 IOPS (at most 500 per GiB) and 1,000 MiB/s (at most 0.25 MiB/s per IOPS); io1 and io2 need
 * their IOPS (io1: 100–64,000 at most 50 per GiB; io2: 100–256,000 at most 1,000 per GiB) and take no
 * throughput; gp2 takes neither (its IOPS follow its size).
 */


const DISK_TYPES = ['gp3', 'gp2', 'io1', 'io2'];
const RULES = {
    gp3: { iops: [3000, 16000], perGiB: 500, throughput: [125, 1000] },
    gp2: {},
    io1: { iops: [100, 64000], perGiB: 50 },
    io2: { iops: [100, 256000], perGiB: 1000 }
};
function whole(v, what) {
    if (v === undefined || v === null || v === '')
        return undefined;
    const n = typeof v === 'number' ? v : Number(String(v).trim());
    if (!Number.isInteger(n) || n <= 0)
        throw new model/* UserError */.yo(`${what} must be a whole positive number, got ${JSON.stringify(v)}`);
    return n;
}
/** Validates the inputs alone (no volume size yet): a clear error before any AWS call. */
function resolveDiskOptions(o) {
    const raw = String(o.diskType ?? '').trim().toLowerCase() || 'gp3';
    if (raw === 'st1' || raw === 'sc1' || raw === 'standard') {
        throw new model/* UserError */.yo(`disk type ${raw} cannot be a boot volume`, `use one of ${DISK_TYPES.join(', ')} (gp3 is the default: 3,000 IOPS and 125 MiB/s included, more with disk-iops and disk-throughput)`);
    }
    if (!DISK_TYPES.includes(raw))
        throw new model/* UserError */.yo(`disk type must be one of ${DISK_TYPES.join(', ')}, got ${JSON.stringify(o.diskType)}`);
    const type = raw;
    const iops = whole(o.diskIops, 'disk iops');
    const throughput = whole(o.diskThroughput, 'disk throughput');
    const rule = RULES[type];
    if (iops !== undefined && !rule.iops)
        throw new model/* UserError */.yo(`disk iops cannot be set for ${type}: its IOPS follow its size (3 per GiB)`, 'use disk-type gp3 (3,000–16,000 IOPS) or io1 / io2 to provision IOPS');
    if (throughput !== undefined && !rule.throughput)
        throw new model/* UserError */.yo(`disk throughput can only be set for gp3, not ${type}`, 'leave disk-throughput empty, or use disk-type gp3 (125–1,000 MiB/s)');
    if ((type === 'io1' || type === 'io2') && iops === undefined)
        throw new model/* UserError */.yo(`disk type ${type} needs disk-iops`, `give the IOPS to provision (${rule.iops[0]}–${rule.iops[1].toLocaleString('en-US')}), or use gp3`);
    if (iops !== undefined && rule.iops && (iops < rule.iops[0] || iops > rule.iops[1]))
        throw new model/* UserError */.yo(`disk iops for ${type} must be ${rule.iops[0].toLocaleString('en-US')}–${rule.iops[1].toLocaleString('en-US')}, got ${iops}`);
    if (throughput !== undefined && rule.throughput && (throughput < rule.throughput[0] || throughput > rule.throughput[1]))
        throw new model/* UserError */.yo(`disk throughput for ${type} must be ${rule.throughput[0]}–${rule.throughput[1].toLocaleString('en-US')} MiB/s, got ${throughput}`);
    if (type === 'gp3' && throughput !== undefined && throughput > (iops ?? volume/* GP3_BASE_IOPS */.Lm) / 4) {
        throw new model/* UserError */.yo(`disk throughput ${throughput} MiB/s needs at least ${throughput * 4} IOPS on gp3 (0.25 MiB/s per IOPS), got ${iops ?? volume/* GP3_BASE_IOPS */.Lm}`, `set disk-iops to ${Math.max(volume/* GP3_BASE_IOPS */.Lm, throughput * 4)} or more`);
    }
    return { type, ...(iops !== undefined ? { iops } : {}), ...(throughput !== undefined ? { throughput } : {}) };
}
/** Checks what depends on the volume's size (IOPS per GiB), at launch. */
function checkDiskSize(d, sizeGiB) {
    const perGiB = RULES[d.type].perGiB;
    if (perGiB && d.iops !== undefined && d.iops > sizeGiB * perGiB) {
        throw new model/* UserError */.yo(`disk iops ${d.iops} is more than ${d.type} allows on ${sizeGiB} GiB (${perGiB} IOPS per GiB)`, `ask for at least ${Math.ceil(d.iops / perGiB)} GiB of disk in the workflow (resources: disk), or fewer IOPS`);
    }
}
/** the BlockDeviceMappings Ebs fields of the type (gp3 at its included IOPS and throughput sends none) */
function ebsFields(d) {
    return { VolumeType: d.type, ...(d.iops !== undefined ? { Iops: d.iops } : {}), ...(d.throughput !== undefined ? { Throughput: d.throughput } : {}) };
}

;// CONCATENATED MODULE: ./src/backends/aws/launch-input.ts
/** Pure: the RunInstances input for one candidate, its tags and its idempotency token. */


const TAG = { run: 'dstack:run', repo: 'dstack:repo', attempt: 'dstack:attempt', expiresAt: 'dstack:expires-at' };
/** ≤ 64 ASCII chars, unique per (repo, run, attempt, candidate): a retried call cannot launch twice */
function clientToken(ctx, c) {
    const h = (0,external_node_crypto_.createHash)('sha256').update([ctx.repoId, ctx.runName, ctx.attempt, c.region, c.instanceType, c.zone, c.subnetId ?? '', c.market].join('|')).digest('hex');
    return `dstack-${h.slice(0, 48)}`;
}
function expiresAt(now, maxDurationSec, marginSec) {
    return new Date(now + (maxDurationSec + marginSec) * 1000).toISOString();
}
function instanceTags(ctx) {
    const t = {
        ...ctx.tags,
        Name: `dstack-${ctx.runName}-${ctx.attempt}`,
        [TAG.run]: ctx.runName,
        [TAG.repo]: ctx.repoId,
        [TAG.attempt]: String(ctx.attempt),
        [TAG.expiresAt]: expiresAt(ctx.now, ctx.maxDurationSec, ctx.marginSec)
    };
    return Object.entries(t).map(([Key, Value]) => ({ Key, Value: Value.slice(0, 256) }));
}
function rootVolumeGiB(diskMiB, snapshotGiB) {
    return Math.max(Math.ceil((diskMiB ?? 100 * 1024) / 1024), snapshotGiB ?? 8);
}
function runInstancesInput(ctx, c) {
    const tags = instanceTags(ctx);
    const sizeGiB = rootVolumeGiB(ctx.diskMiB, ctx.ami.rootSnapshotGiB);
    if (ctx.disk)
        checkDiskSize(ctx.disk, sizeGiB);
    const profile = ctx.instanceProfile ? (ctx.instanceProfile.startsWith('arn:') ? { Arn: ctx.instanceProfile } : { Name: ctx.instanceProfile }) : undefined;
    return {
        ImageId: ctx.ami.imageId,
        InstanceType: c.instanceType,
        MinCount: 1,
        MaxCount: 1,
        ClientToken: clientToken(ctx, c),
        InstanceInitiatedShutdownBehavior: 'terminate',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [{ DeviceName: ctx.ami.rootDeviceName, Ebs: { VolumeSize: sizeGiB, ...ebsFields(ctx.disk ?? { type: 'gp3' }), DeleteOnTermination: true } }],
        ...(profile ? { IamInstanceProfile: profile } : {}),
        ...(ctx.publicIp === false
            ? {
                // without a public address: the subnet and security groups belong to the primary interface
                ...(c.subnetId ? {} : { Placement: { AvailabilityZone: c.zone } }),
                NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, ...(c.subnetId ? { SubnetId: c.subnetId } : {}), ...(ctx.securityGroupIds.length ? { Groups: ctx.securityGroupIds } : {}) }]
            }
            : {
                ...(c.subnetId ? { SubnetId: c.subnetId } : { Placement: { AvailabilityZone: c.zone } }),
                ...(ctx.securityGroupIds.length ? { SecurityGroupIds: ctx.securityGroupIds } : {})
            }),
        ...(ctx.keyName ? { KeyName: ctx.keyName } : {}),
        ...(c.market === 'spot'
            ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', ...(ctx.maxPrice !== undefined ? { MaxPrice: String(ctx.maxPrice) } : {}) } } }
            : {}),
        TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags }
        ]
    };
}
/**
 * Pure: what a launch adds to the instance's bill: its root volume (size, type, IOPS, throughput),
 * and a public IPv4 address when it lands in a default VPC's subnet (no `subnet-ids`: default
 * subnets give every instance one) and was not launched without one (`public-ip: false`).
 */
function launchBilling(input, subnetIds) {
    const ebs = input.BlockDeviceMappings?.[0]?.Ebs;
    const noAddress = input.NetworkInterfaces?.[0]?.AssociatePublicIpAddress === false;
    return {
        ...(ebs?.VolumeSize !== undefined ? { volumeGiB: ebs.VolumeSize } : {}),
        ...(ebs?.VolumeType ? { volumeType: ebs.VolumeType } : {}),
        ...(ebs?.Iops !== undefined ? { volumeIops: ebs.Iops } : {}),
        ...(ebs?.Throughput !== undefined ? { volumeThroughput: ebs.Throughput } : {}),
        ...(subnetIds.length === 0 && !noAddress ? { publicIpv4: true } : {})
    };
}

;// CONCATENATED MODULE: ./src/backends/aws/keep.ts
/**
 * keep-on-failure: a failed run's instance stays up for a while so one can step into it with an SSM
 * session. The runner re-arms the instance's shutdown to the kept deadline (src/runner/body/keep.sh);
 * here: the deadline (never past the hard lifetime), the tags that say it (the post step, `cleanup`
 * and the console read them), and the line to type.
 */




/** the tag with the kept deadline (ISO 8601); `dstack:expires-at` is moved to the same time */
const KEPT_UNTIL_TAG = 'dstack:kept-until';
/** the runner re-arms `shutdown -h +<minutes>`: less than a minute cannot be kept */
const KEEP_MIN_SEC = 60;
/** `30m`, `2h`, `1800`; empty, `0`, `off` or `false`: not kept */
function keepOnFailureSeconds(v) {
    if (v === undefined || v === 0)
        return 0;
    const s = String(v).trim();
    if (['', '0', 'off', 'false', 'no'].includes(s.toLowerCase()))
        return 0;
    const r = (0,units/* tryParseDuration */.HZ)(typeof v === 'number' ? v : s);
    if (!r.ok)
        throw new model/* UserError */.yo(`keep-on-failure: ${r.message}`, `expected ${units/* DURATION_FORMS */.nv}, or 0 to terminate a failed run's machine at once`);
    return r.value;
}
/** Pure: when a kept instance must be gone: `keepSec` from now, never past its hard lifetime */
function keptDeadline(now, keepSec, hardEndMs) {
    return Math.min(now + keepSec * 1000, hardEndMs);
}
/** Pure: the command that opens a shell on the instance */
function sessionCommand(instanceId, region) {
    return `aws ssm start-session --target ${instanceId} --region ${region}`;
}
/** Pure: the kept deadline of an instance's tags, when it is still ahead of `now` */
function keptUntil(tags, now) {
    const t = Date.parse(tags[KEPT_UNTIL_TAG] ?? '');
    return Number.isFinite(t) && t > now ? t : undefined;
}
/** I/O: tags the kept deadline, and moves `dstack:expires-at` to it (so `cleanup` ends the instance on time) */
async function tagKept(ec2, instanceId, until) {
    const at = new Date(until).toISOString();
    await ec2.send(new client_ec2_dist_cjs/* CreateTagsCommand */.RmG({ Resources: [instanceId], Tags: [{ Key: KEPT_UNTIL_TAG, Value: at }, { Key: TAG.expiresAt, Value: at }] }));
}

;// CONCATENATED MODULE: ./src/backends/aws/bootstrap.ts
/**
 * Pure: the few-line script SSM runs (AWS-RunShellScript parameters are size-limited and kept in
 * command history for 30 days). It fetches the stored runner script with the instance profile,
 * reads the secret environment from a SecureString parameter straight into the environment
 * (never to disk, never in SendCommand parameters), and runs the runner — once per instance —
 * with only the end of its stderr passed on to SSM.
 * Every interpolated
 * value is shell-quoted.
 */


function shellQuote(v) {
    return `'${v.replace(/'/g, `'\\''`)}'`;
}
/** where the bootstrap keeps runner.sh and runner.pid on the instance */
const INSTANCE_DIR = '/opt/dstack';
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** the secret env parameter of one node of a cluster */
function nodeSecretParameterName(name, rank) {
    return `${name}-${rank}`;
}
/**
 * Pure: the bootstrap lines that make one SSM command serve every node: SSM Run Command sets
 * `AWS_SSM_INSTANCE_ID` on each instance; a `case` maps it to the node's rank and GPU count (an
 * instance not in the list refuses to start), and the address list is the same for all.
 */
function clusterBootstrapLines(c, secretParameter) {
    const n = c.instanceIds.length;
    if (n < 2 || c.privateIps.length !== n || c.gpusPerNode.length !== n)
        throw new Error(`renderBootstrap: a cluster needs ids, addresses and GPU counts for each of its ${n} nodes`);
    for (const id of c.instanceIds)
        if (!INSTANCE_ID.test(id))
            throw new Error(`renderBootstrap: invalid instance id ${JSON.stringify(id)}`);
    for (const ip of c.privateIps)
        if (!IPV4.test(ip))
            throw new Error(`renderBootstrap: invalid private IPv4 address ${JSON.stringify(ip)}`);
    for (const g of c.gpusPerNode)
        if (!Number.isSafeInteger(g) || g < 0)
            throw new Error(`renderBootstrap: invalid GPU count ${JSON.stringify(g)}`);
    if (new Set(c.instanceIds).size !== n)
        throw new Error('renderBootstrap: an instance id appears twice');
    const branch = (id, rank) => `  ${id}) export DSTACK_NODE_RANK=${rank} DSTACK_GPUS_PER_NODE=${c.gpusPerNode[rank]}${secretParameter ? `; P=${shellQuote(nodeSecretParameterName(secretParameter, rank))}` : ''} ;;`;
    return [
        'case "${AWS_SSM_INSTANCE_ID:-}" in',
        ...c.instanceIds.map(branch),
        '  *) echo "dstack: instance ${AWS_SSM_INSTANCE_ID:-?} is not a node of this cluster; refusing to start" >&2; exit 1 ;;',
        'esac',
        `DSTACK_NODES_IPS="$(printf '%s\\n' ${c.privateIps.map(shellQuote).join(' ')})"`,
        'export DSTACK_NODES_IPS',
        // every node's GPU count in rank order: DSTACK_GPUS_NUM and the MPI hostfile of groups of different machines
        `export DSTACK_GPUS_BY_RANK=${c.gpusPerNode.join(',')}`
    ];
}
function renderBootstrap(b) {
    if (!/^[0-9a-f]{64}$/.test(b.scriptSha256))
        throw new Error(`renderBootstrap: invalid runner script sha256 ${JSON.stringify(b.scriptSha256)}`);
    const endpoint = b.s3Endpoint ? ` --endpoint-url ${shellQuote(b.s3Endpoint)}` : '';
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
    ];
    if (b.secretParameter) {
        lines.push(`DSTACK_SECRET_ENV="$(aws ssm get-parameter --region ${shellQuote(b.region)} --name ${b.cluster ? '"$P"' : shellQuote(b.secretParameter)} --with-decryption --query Parameter.Value --output text)"`, 'eval "$(printf %s "$DSTACK_SECRET_ENV" | base64 -d)"', 'unset DSTACK_SECRET_ENV');
    }
    if (b.keepOnFailureSec) {
        if (!Number.isSafeInteger(b.keepOnFailureSec) || b.keepOnFailureSec < 0)
            throw new Error(`renderBootstrap: invalid keep-on-failure ${JSON.stringify(b.keepOnFailureSec)}`);
        lines.push(`export DSTACK_KEEP_ON_FAILURE=${b.keepOnFailureSec} DSTACK_KEEP_REGION=${shellQuote(b.region)}`);
    }
    if (b.detached) {
        lines.push(...detachedRunnerLines());
        return lines;
    }
    // SSM keeps only the first 8,000 characters of a command's stderr: pass on the runner's last
    // 8,000 (where its error is), kept in memory by tail, never on disk; stdout goes straight through
    lines.push('exec 3>&1', '{ echo "$BASHPID" > "$D/runner.pid"; exec bash "$D/runner.sh" 2>&1 1>&3 3>&-; } | tail -c 8000 >&2');
    return lines;
}
/**
 * Pure: the end of a detached bootstrap. The runner starts in a session of its own, with no tie to
 * the SSM command's pipes, so SSM's executionTimeout and CancelCommand do not reach it; the command
 * returns once the runner's pid is noted. When the runner ends the machine shuts down (launched
 * with shutdown behaviour `terminate`); the runner's own self-destruct still bounds it by max_duration.
 */
function detachedRunnerLines() {
    return [
        'rm -f "$D/runner.pid"',
        `setsid bash -c 'bash "$1/runner.sh" & echo "$!" > "$1/runner.pid"; wait "$!"; shutdown -h now "dstack: the run ended" || true' dstack-runner "$D" </dev/null >>"$D/runner.out" 2>&1 &`,
        'for _ in $(seq 1 300); do [ -s "$D/runner.pid" ] && break; sleep 0.1; done',
        '[ -s "$D/runner.pid" ] || { echo "dstack: the detached runner did not start (see $D/runner.out)" >&2; exit 1; }',
        'echo "[dstack] runner $(cat "$D/runner.pid") started detached: it goes on without this command"'
    ];
}
/** The small command `cancel()` sends: SIGTERM to the runner (it still saves artifacts, logs, status). */
function renderStopScript() {
    return [
        '#!/bin/bash',
        `D="\${DSTACK_INSTANCE_DIR:-${INSTANCE_DIR}}"`,
        'if [ -s "$D/runner.pid" ] && kill -0 "$(cat "$D/runner.pid")" 2>/dev/null; then kill -TERM "$(cat "$D/runner.pid")"; else pkill -TERM -o -f "$D/runner.sh" || true; fi'
    ];
}
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Advanced-tier SecureString limit (bytes); Intelligent-Tiering picks the tier */
const SECRET_PARAMETER_MAX = 8192;
/** Pure: the parameter value: base64 of `export NAME='value'` lines (eval'd by the bootstrap). */
function secretEnvPayload(env) {
    const lines = Object.keys(env).sort().map((k) => {
        if (!ENV_NAME.test(k))
            throw new model/* UserError */.yo(`secret environment variable name is not valid: ${JSON.stringify(k)}`);
        return `export ${k}=${shellQuote(env[k] ?? '')}`;
    });
    const value = Buffer.from(lines.join('\n') + '\n', 'utf8').toString('base64');
    if (value.length > SECRET_PARAMETER_MAX) {
        throw new model/* UserError */.yo(`the secret environment is ${value.length} bytes once encoded; SSM Parameter Store holds at most ${SECRET_PARAMETER_MAX}`, 'pass fewer or smaller secrets (store large ones in S3 or Secrets Manager and fetch them in setup)');
    }
    return value;
}
/** `/dstack/<repo hash>/<run>/<attempt>/env` (the CI role may write `/dstack/*`, the instance read it) */
function secretParameterName(repoId, runName, attempt) {
    const repo = (0,external_node_crypto_.createHash)('sha256').update(repoId).digest('hex').slice(0, 12);
    return `/dstack/${repo}/${runName}/${attempt}/env`;
}

;// CONCATENATED MODULE: ./src/backends/aws/errors.ts
/**
 * Pure classification of AWS errors (peers-and-aws-facts §4.5, §4.6, §4.9): what a launch error
 * means for the candidate list, which quota to raise, and which errors are throttling or expired
 * credentials.
 */
/** The EC2/SSM error code of an SDK v3 error (its `name`), or `Code`/`code` for hand-made errors. */
function errorCode(err) {
    const e = (err ?? {});
    return String(e.Code ?? e.name ?? e.code ?? 'Error');
}
function errorMessage(err) {
    const e = (err ?? {});
    return String(e.message ?? err);
}
const THROTTLING = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'ThrottledException', 'SlowDown', 'RequestThrottled', 'RequestThrottledException', 'PriorRequestNotComplete']);
const TRANSIENT = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'NetworkingError']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);
const CAPACITY = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'UnfulfillableCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity', 'InsufficientCapacityOnHost']);
const FATAL = new Set(['UnauthorizedOperation', 'AuthFailure', 'AccessDenied', 'AccessDeniedException', 'InvalidParameterValue', 'InvalidParameterCombination', 'InvalidParameter', 'MissingParameter', 'IdempotentParameterMismatch', 'OptInRequired', 'PendingVerification', 'Blocked', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'UnrecognizedClientException']);
function isThrottling(err) {
    return THROTTLING.has(errorCode(err));
}
function isExpiredCredentials(err) {
    return EXPIRED.has(errorCode(err));
}
/** throttling, 5xx without a capacity meaning, network resets: retry the same call after a pause */
function isRetryable(err) {
    const code = errorCode(err);
    if (CAPACITY.has(code))
        return false;
    if (THROTTLING.has(code) || TRANSIENT.has(code))
        return true;
    const status = err?.$metadata?.httpStatusCode;
    return status !== undefined && status >= 500;
}
const QUOTAS = [
    { prefixes: ['g', 'vt'], info: { group: 'G and VT', onDemand: { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances' }, spot: { code: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests' } } },
    { prefixes: ['p'], info: { group: 'P', onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-7212CCBC', name: 'All P4, P3 and P2 Spot Instance Requests' } } },
    { prefixes: ['inf'], info: { group: 'Inf', onDemand: { code: 'L-1945791B', name: 'Running On-Demand Inf instances' }, spot: { code: 'L-B5D1601B', name: 'All Inf Spot Instance Requests' } } },
    { prefixes: ['f'], info: { group: 'F', onDemand: { code: 'L-74FC7D96', name: 'Running On-Demand F instances' }, spot: { code: 'L-88CF9481', name: 'All F Spot Instance Requests' } } },
    { prefixes: ['x'], info: { group: 'X', onDemand: { code: 'L-7295265B', name: 'Running On-Demand X instances' }, spot: { code: 'L-E3A00192', name: 'All X Spot Instance Requests' } } },
    { prefixes: ['trn', 'dl'], info: { group: 'Trn/DL' } },
    { prefixes: ['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'], info: { group: 'Standard', onDemand: { code: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' }, spot: { code: 'L-34B43A08', name: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' } } }
];
/**
 * P spot quotas per generation (AWS General Reference, "Amazon EC2 service quotas"): P2–P4 share
 * L-7212CCBC, P5 has its own, L-C4BD4855. On-demand P is one quota (L-417A185B) for every generation.
 * P6 (p6-b200, p6-b300, p6e-gb200) is not named in that listing; it is counted with the newest
 * listed P spot quota, P5's (a quota that is not there is reported as such, not as a refusal).
 */
const P5_AND_LATER = { group: 'P5 and later', onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-C4BD4855', name: 'All P5 Spot Instance Requests' } };
/** `g5.xlarge` → `g5`; `p4de.24xlarge` → `p4de` */
function instanceFamily(instanceType) {
    return instanceType.split('.')[0] ?? instanceType;
}
/** The vCPU quota group of an instance type (`g5.xlarge` → G and VT). */
function quotaFor(instanceType) {
    const family = instanceFamily(instanceType);
    const generation = /^p(\d+)/.exec(family);
    if (generation && Number(generation[1]) >= 5)
        return P5_AND_LATER;
    const letters = (family.match(/^[a-z]+/) ?? [''])[0];
    // longest matching prefix wins: `inf2` is Inf, not I (Standard)
    let best;
    for (const q of QUOTAS)
        for (const p of q.prefixes)
            if (letters.startsWith(p) && (!best || p.length > best.len))
                best = { len: p.length, info: q.info };
    return best?.info ?? { group: instanceFamily(instanceType) };
}
function quotaIncreaseCommand(code, region, vcpus = 8) {
    return `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${code} --desired-value ${vcpus} --region ${region}`;
}
function classifyLaunchError(err) {
    const code = errorCode(err);
    const message = errorMessage(err);
    const k = (kind) => ({ kind, code, message });
    if (CAPACITY.has(code))
        return k('capacity');
    if (code === 'SpotMaxPriceTooLow')
        return k('price');
    if (code === 'MaxSpotInstanceCountExceeded')
        return k('spot-quota');
    if (code === 'VcpuLimitExceeded' || code === 'InstanceLimitExceeded')
        return k('on-demand-quota');
    if (code === 'Unsupported' || code === 'UnsupportedOperation' || code === 'InvalidInstanceType')
        return k('unsupported');
    if (EXPIRED.has(code))
        return k('expired-credentials');
    if (isRetryable(err))
        return k('retry');
    if (CONFIGURATION.has(code) || FATAL.has(code) || /^Invalid[A-Za-z]*(\.|$)/.test(code) || code.startsWith('Unauthorized'))
        return k('configuration');
    return k('other');
}
/** errors of the account or the network setup that no other candidate avoids (besides FATAL) */
const CONFIGURATION = new Set(['VPCIdNotSpecified', 'InsufficientFreeAddressesInSubnet', 'VolumeLimitExceeded', 'MaxIOPSLimitExceeded', 'AddressLimitExceeded', 'NetworkInterfaceLimitExceeded']);
/** Service Quotas console page of an EC2 quota, in its region */
function quotaConsoleUrl(code, region) {
    return `https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/${code}`;
}
/** Pure: what to change for a configuration error of RunInstances, in the words of our inputs. */
function configurationFix(code, region) {
    if (code === 'VPCIdNotSpecified')
        return `${region} has no default VPC: set \`subnet-ids\` to subnets with outbound HTTPS (NAT or VPC endpoints for ssm, ssmmessages, ec2messages, s3), or create a default VPC (aws ec2 create-default-vpc --region ${region})`;
    if (code === 'InsufficientFreeAddressesInSubnet')
        return 'the subnet has no free IP address left: add other subnets to `subnet-ids`, or free addresses in it';
    if (code === 'VolumeLimitExceeded')
        return `the EBS storage quota of ${region} is used up: delete unused volumes or raise "Storage for General Purpose SSD (gp3) volumes" (Service Quotas, service ebs), or ask for less disk`;
    if (code === 'InvalidGroup.NotFound' || code === 'InvalidGroupId.Malformed')
        return `a security group in \`security-group-ids\` does not exist in ${region} (security groups belong to one region and one VPC)`;
    if (code.startsWith('InvalidSubnetID'))
        return `a subnet in \`subnet-ids\` does not exist in ${region}`;
    if (code.startsWith('InvalidKeyPair'))
        return `the key pair does not exist in ${region} (key pairs belong to one region)`;
    if (code.startsWith('InvalidAMIID'))
        return `the AMI does not exist in ${region} or is not shared with this account: check \`ami\` (AMI ids belong to one region; an SSM parameter name works in every region)`;
    if (code === 'InvalidParameterValue' || code === 'InvalidParameterCombination')
        return 'check `ami` (its architecture must match the instance type), `instance-profile`, `subnet-ids` and `security-group-ids` (same VPC)';
    if (code === 'UnauthorizedOperation' || code === 'AccessDenied' || code === 'AccessDeniedException')
        return "the CI role lacks a permission: compare it with examples/iam/ci-role-policy.json (ec2:RunInstances, ec2:CreateTags, iam:PassRole on the instance role); `dstack-run check --backend aws` lists what is missing";
    if (code === 'OptInRequired' || code === 'PendingVerification' || code === 'Blocked')
        return `the account cannot launch in ${region} yet (${code}): opt in to the region, or wait for the account verification`;
    return 'check the CI role\'s permissions (examples/iam/ci-role-policy.json), the AMI, subnets, security groups and instance profile';
}

// EXTERNAL MODULE: ./src/report/markdown.ts + 1 modules
var markdown = __webpack_require__(96774);
;// CONCATENATED MODULE: ./src/backends/aws/expired-credentials.ts
/** Expired credentials (aws-actions/configure-aws-credentials sessions are not refreshable). */


class ExpiredCredentialsError extends Error {
    instanceId;
    constructor(elapsedMs, what, instanceId) {
        super(`AWS credentials expired after ${(0,markdown/* formatDuration */.a3)(Math.max(0, Math.round(elapsedMs / 1000)))} while ${what}` +
            ` — give role-to-assume (with id-token: write) so the session is renewed for as long as the run lasts, or raise role-duration-seconds (aws-actions/configure-aws-credentials; the role's maximum session duration too).` +
            (instanceId ? ` Instance ${instanceId} still terminates itself at max_duration; \`cleanup\` mode removes it once expired.` : ' The instance still terminates itself at max_duration.'));
        this.instanceId = instanceId;
        this.name = 'ExpiredCredentialsError';
    }
}
/** rethrows `err` as ExpiredCredentialsError when it is one */
function rethrowExpired(err, since, now, what, instanceId) {
    if (isExpiredCredentials(err))
        throw new ExpiredCredentialsError(now - since, what, instanceId);
    throw err;
}

;// CONCATENATED MODULE: ./src/backends/aws/instance-state.ts
/** The state of instances (DescribeInstances), and what it means for an attempt. */


/** DescribeInstances of many ids in one call; an id EC2 does not know (yet) is `missing` */
async function describeInstances(ec2, ids) {
    const out = new Map();
    try {
        const r = await ec2.send(new client_ec2_dist_cjs/* DescribeInstancesCommand */.bNs({ InstanceIds: ids }));
        for (const res of r.Reservations ?? []) {
            for (const i of res.Instances ?? []) {
                if (!i.InstanceId)
                    continue;
                out.set(i.InstanceId, {
                    state: i.State?.Name ?? 'unknown',
                    reasonCode: i.StateReason?.Code,
                    reasonMessage: i.StateReason?.Message,
                    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
                    tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
                });
            }
        }
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidInstanceID.NotFound')
            throw e;
    }
    for (const id of ids)
        if (!out.has(id))
            out.set(id, { state: 'missing', tags: {} });
    return out;
}
/** the state of one instance; `missing` while EC2 does not know it (eventual consistency right after RunInstances) */
async function describeInstance(ec2, instanceId) {
    return (await describeInstances(ec2, [instanceId])).get(instanceId);
}
const SPOT_REASONS = new Set(['Server.SpotInstanceTermination', 'Server.SpotInstanceShutdown']);
function isGone(s) {
    return ['shutting-down', 'terminated', 'stopping', 'stopped'].includes(s.state);
}
function isSpotInterruption(s) {
    return s.reasonCode !== undefined && SPOT_REASONS.has(s.reasonCode);
}
/** Terminate; idempotent (an instance that does not exist any more is fine). */
async function terminate(ec2, instanceIds) {
    if (instanceIds.length === 0)
        return;
    try {
        await ec2.send(new client_ec2_dist_cjs/* TerminateInstancesCommand */.NaF({ InstanceIds: instanceIds }));
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidInstanceID.NotFound')
            throw e;
    }
}

// EXTERNAL MODULE: ./src/runner/render.ts + 3 modules
var render = __webpack_require__(88304);
;// CONCATENATED MODULE: ./src/backends/aws/timing.ts
/** Backoff and waiting helpers; `sleep` is injected so tests run instantly. */
/** full jitter: random in [base, base·2^attempt], capped */
function backoffMs(attempt, random, baseMs = 1000, capMs = 20_000) {
    const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
    return Math.round(baseMs / 2 + random() * (ceiling - baseMs / 2));
}
/** sleeps `ms`, returning early when `signal` aborts */
function sleepOrAbort(sleep, ms, signal) {
    if (signal.aborted)
        return Promise.resolve();
    return new Promise((resolve) => {
        const done = () => {
            signal.removeEventListener('abort', done);
            resolve();
        };
        signal.addEventListener('abort', done);
        sleep(ms).then(done, done);
    });
}
/** polling interval that grows from `minMs` to `maxMs` over time since `since` */
function adaptiveIntervalMs(elapsedMs, minMs = 2000, maxMs = 15_000) {
    if (elapsedMs < 30_000)
        return minMs;
    if (elapsedMs < 300_000)
        return Math.min(maxMs, minMs * 2.5);
    return maxMs;
}

;// CONCATENATED MODULE: ./src/backends/aws/ssm.ts
/** SSM: wait for the managed node, send the bootstrap, read the invocation. */





/** AWS-RunShellScript's executionTimeout maximum (48 h) */
const MAX_EXECUTION_TIMEOUT = 172_800;
/**
 * Polls DescribeInstanceInformation until PingStatus is Online, watching DescribeInstances: an
 * instance that shuts down first (spot reclaimed before it started) ends the wait at once. A hand
 * loop, not an SDK waiter, because two APIs decide together.
 */
async function waitForOnline(ssm, ec2, instanceId, d) {
    const start = d.now();
    let lastState;
    let ping;
    let describedAt = -Infinity;
    for (;;) {
        if (d.signal.aborted)
            return { kind: 'aborted' };
        try {
            const info = await ssm.send(new dist_cjs/* DescribeInstanceInformationCommand */.MXw({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
            ping = info.InstanceInformationList?.[0]?.PingStatus;
            if (ping === 'Online')
                return { kind: 'online' };
            // the instance's state at most every STATE_POLL_MS: the quick SSM looks do not add EC2 reads
            if (d.now() - describedAt >= STATE_POLL_MS) {
                describedAt = d.now();
                lastState = await describeInstance(ec2, instanceId);
                if (isGone(lastState))
                    return { kind: 'gone', state: lastState };
            }
        }
        catch (e) {
            if (!isRetryable(e))
                throw e;
        }
        const elapsed = d.now() - start;
        if (elapsed >= d.timeoutSec * 1000)
            return { kind: 'timeout', lastState, pingStatus: ping };
        await sleepOrAbort(d.sleep, Math.min(onlinePollMs(elapsed), d.timeoutSec * 1000 - elapsed), d.signal);
    }
}
/** how often the wait for Online reads the instance's state (a spot instance reclaimed before it came Online) */
const STATE_POLL_MS = 3000;
/**
 * The wait between two looks for the node in SSM. Every second of the lag between the node coming
 * Online and our seeing it is billed, so the look is quick (1 s) while a node is likely to come
 * Online: from 15 s after RunInstances (EC2's pending ~5 s plus a Linux boot ~23 s, so nothing
 * earlier) to two minutes (a GPU Deep Learning AMI often takes a minute or more). The lag is then
 * 0.5 s on average, not 1.5 s (3 s looks). Before 15 s, 3 s; 7.5 s until 5 minutes, 10 s after
 * (a slow or lost node, at a quiet request rate). The instance's state is read every 3 s throughout
 * at most (STATE_POLL_MS), so the quick looks are SSM requests only.
 */
function onlinePollMs(elapsedMs) {
    if (elapsedMs < 15_000)
        return 3000;
    if (elapsedMs < 120_000)
        return 1000;
    return adaptiveIntervalMs(elapsedMs, 3000, 10_000);
}
function neverOnlineMessage(instanceId, timeoutSec, r, instanceProfile) {
    return [
        `instance ${instanceId} did not come Online in SSM within ${timeoutSec} s (state ${r.lastState?.state ?? 'unknown'}, SSM ping ${r.pingStatus ?? 'never registered'}); it was terminated.`,
        'Likely causes:',
        `  - the instance profile${instanceProfile ? ` ${instanceProfile}` : ' (none was given)'} lacks the SSM agent's permissions (ssm:UpdateInstanceInformation, ec2messages:*, ssmmessages:* as in examples/iam/instance-role-policy.json; AmazonSSMManagedInstanceCore also has them)`,
        '  - no route to the ssm, ssmmessages and ec2messages endpoints (a private subnet needs a NAT gateway or VPC endpoints; security groups must allow outbound HTTPS)',
        '  - the AMI has no SSM agent (the Deep Learning AMIs have one)',
        '  - the node takes longer to register: raise ssm-timeout'
    ].join('\n');
}
/** SendCommand's `InstanceIds` holds at most 50 ids (the SSM API's limit): larger clusters get one command per batch */
const SEND_COMMAND_MAX_INSTANCES = 50;
/** Pure: `xs` in consecutive batches of at most `size` */
function inBatches(xs, size = SEND_COMMAND_MAX_INSTANCES) {
    const out = [];
    for (let i = 0; i < xs.length; i += size)
        out.push(xs.slice(i, i + size));
    return out;
}
async function sendCommand(ssm, input) {
    const out = await ssm.send(new dist_cjs/* SendCommandCommand */.VWR(input));
    const id = out.Command?.CommandId;
    if (!id)
        throw new Error('SendCommand returned no command id');
    return id;
}
/** the command already sent to this instance with this comment (ListCommands), if any */
async function findSentCommand(ssm, instanceId, comment) {
    const out = await ssm.send(new dist_cjs/* ListCommandsCommand */.I$q({ InstanceId: instanceId, MaxResults: 50 }));
    return (out.Commands ?? []).find((c) => c.Comment === comment && c.CommandId)?.CommandId;
}
/**
 * SendCommand exactly once: SendCommand has no idempotency token, so a retry after a lost
 * response would start a second runner. `send` is a client without SDK retries; on an error
 * that may hide a sent command, ListCommands (through the retrying client `read`) looks for
 * our comment before sending again. `input.Comment` must be unique to the attempt.
 */
async function sendCommandOnce(send, read, input, d) {
    const instanceId = input.InstanceIds?.[0] ?? '';
    for (let attempt = 0;; attempt++) {
        try {
            return await sendCommand(send, input);
        }
        catch (e) {
            if (!isRetryable(e) || attempt >= d.retries)
                throw e;
            d.log(`SendCommand failed (${errorCode(e)}: ${errorMessage(e)}); checking whether it reached SSM before sending again`);
            // ListCommands is eventually consistent: look a few times (2, 4, 6 s) before concluding it was not sent
            for (let look = 1; look <= 3; look++) {
                await d.sleep(2000 * look);
                const sent = await findSentCommand(read, instanceId, input.Comment ?? '');
                if (sent) {
                    d.log(`SSM already has command ${sent}: using it instead of sending a second one`);
                    return sent;
                }
            }
        }
    }
}
async function cancelCommand(ssm, commandId, instanceId) {
    await cancelCommandOn(ssm, commandId, [instanceId]);
}
/** CancelCommand on some of the instances of a command (a cluster's nodes) */
async function cancelCommandOn(ssm, commandId, instanceIds) {
    try {
        await ssm.send(new dist_cjs/* CancelCommandCommand */.tal({ CommandId: commandId, InstanceIds: instanceIds }));
    }
    catch (e) {
        // already finished
        if (!['InvalidCommandId', 'InvalidInstanceId', 'DuplicateInstanceId'].includes(errorCode(e)))
            throw e;
    }
}
/** undefined while the invocation does not exist yet (eventual consistency after SendCommand) */
async function getInvocation(ssm, commandId, instanceId) {
    try {
        const out = await ssm.send(new dist_cjs/* GetCommandInvocationCommand */.ryN({ CommandId: commandId, InstanceId: instanceId }));
        return {
            status: out.Status ?? 'Pending',
            statusDetails: out.StatusDetails,
            responseCode: out.ResponseCode,
            ...(out.StandardErrorContent ? { stderr: out.StandardErrorContent } : {}),
            ...(out.StandardErrorUrl ? { stderrUrl: out.StandardErrorUrl } : {})
        };
    }
    catch (e) {
        if (errorCode(e) === 'InvocationDoesNotExist')
            return undefined;
        throw e;
    }
}
/** Pure: ` — stderr: …last lines… (full output: …)` for a failed invocation, or '' */
function stderrTail(inv, maxLines = 12, maxChars = 1500) {
    const lines = (inv.stderr ?? '').replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '');
    let tail = lines.slice(-maxLines).join('\n');
    if (tail.length > maxChars)
        tail = '…' + tail.slice(-maxChars);
    const where = inv.stderrUrl ? ` (full output: ${inv.stderrUrl})` : '';
    return tail ? `; its stderr ends with:\n${tail}${where}` : where ? `; no stderr captured${where}` : '';
}
/**
 * Pure: the attempt's state from the invocation and the instance. A spot reclaim wins over
 * everything (the attempt is `interrupted`, never `failed`); then a finished invocation; then an
 * instance that disappeared under a running command (`lost`).
 */
function execState(inv, inst, spotInterrupted) {
    if (spotInterrupted)
        return { state: 'ended', interrupted: true, reclaimed: true, reason: `spot instance reclaimed by AWS (${inst?.reasonCode ?? 'interruption'})` };
    if (inv) {
        switch (inv.status) {
            case 'Pending':
            case 'InProgress':
            case 'Delayed':
            case 'Cancelling':
                break;
            case 'Success':
                return { state: 'ended', exitCode: 0 };
            case 'Failed':
                if (inv.responseCode === render/* RUNNER_EXIT */.CS.interrupted)
                    return { state: 'ended', exitCode: inv.responseCode, interrupted: true, reason: 'the runner stopped the job on a spot interruption notice' };
                return { state: 'ended', exitCode: inv.responseCode !== undefined && inv.responseCode >= 0 ? inv.responseCode : undefined, reason: `the runner exited with ${inv.responseCode}${stderrTail(inv)}` };
            case 'Cancelled':
                return { state: 'ended', reason: 'the SSM command was cancelled' };
            case 'TimedOut':
                return { state: 'ended', reason: inv.statusDetails === 'Delivery Timed Out' ? 'SSM could not deliver the command in time' : 'SSM stopped the command at its execution timeout (max_duration)' };
            default:
                // Undeliverable, Terminated, Access Denied, Invalid Platform …
                return { state: 'ended', lost: true, reason: `SSM command ${inv.statusDetails ?? inv.status}${stderrTail(inv)}` };
        }
    }
    if (inst && (isGone(inst) || inst.state === 'missing')) {
        const why = inst.reasonCode === 'Client.InstanceInitiatedShutdown' ? 'the instance shut itself down (max_duration self-destruct?)' : `instance ${inst.state}${inst.reasonCode ? ` (${inst.reasonCode}: ${inst.reasonMessage ?? ''})` : ''}`;
        return { state: 'ended', lost: true, reason: why };
    }
    return { state: 'running' };
}

;// CONCATENATED MODULE: ./src/backends/aws/handle.ts








/**
 * The slowest pace of poll() on a long quiet run: 2 reads per 30 s. The runner's status.json
 * (read by the orchestrator) tells the end of the attempt sooner; this catches a lost machine.
 */
const SLOWEST_POLL_MS = 30_000;
/** how long InvocationDoesNotExist is taken as "not visible yet" */
const INVOCATION_APPEAR_MS = 120_000;
async function deleteSecretParameter(ssm, name) {
    try {
        await ssm.send(new dist_cjs/* DeleteParameterCommand */.Obs({ Name: name }));
    }
    catch (e) {
        if (errorCode(e) !== 'ParameterNotFound')
            throw e;
    }
}
class AwsAttemptHandle {
    d;
    last = { state: 'running' };
    lastReadAt = -Infinity;
    cancelAt;
    cancelSent = false;
    released = false;
    constructor(d) {
        this.d = d;
    }
    get machine() {
        return this.d.machine;
    }
    get instanceId() {
        return this.d.machine.id;
    }
    async poll() {
        if (this.last.state === 'ended')
            return this.last;
        const now = this.d.now();
        const interval = Math.max(this.d.pollMinIntervalMs, this.d.pollMinIntervalMs > 0 ? adaptiveIntervalMs(now - this.d.sentAt, 2000, SLOWEST_POLL_MS) : 0);
        if (this.cancelAt === undefined && now - this.lastReadAt < interval)
            return this.last;
        this.lastReadAt = now;
        let inv;
        let inst;
        try {
            inv = await getInvocation(this.d.ssm, this.d.commandId, this.instanceId);
            inst = await describeInstance(this.d.ec2, this.instanceId);
        }
        catch (e) {
            if (isRetryable(e))
                return this.last;
            rethrowExpired(e, this.d.credentialsSince, this.d.now(), `watching ${this.instanceId}`, this.instanceId);
        }
        let state = execState(inv, inst, isSpotInterruption(inst));
        if (state.state === 'running' && !inv && this.d.now() - this.d.sentAt > INVOCATION_APPEAR_MS) {
            state = { state: 'ended', lost: true, reason: `the SSM command ${this.d.commandId} never appeared on ${this.instanceId}` };
        }
        if (state.state === 'running' && this.cancelAt !== undefined && !this.cancelSent && this.d.now() - this.cancelAt >= this.d.cancelGraceSec * 1000) {
            this.cancelSent = true;
            this.d.log(`the runner did not stop within ${this.d.cancelGraceSec} s: cancelling the SSM command`);
            await cancelCommand(this.d.ssm, this.d.commandId, this.instanceId).catch((e) => this.d.log(`CancelCommand failed: ${e.message}`));
        }
        this.last = state;
        return state;
    }
    /**
     * SIGTERM to the runner through a second small command (the runner traps it, stops the job and
     * still uploads artifacts, logs and status.json); CancelCommand only after `cancelGraceSec`,
     * from poll(), because SSM's cancel kills the process without that chance.
     */
    async cancel(reason) {
        if (this.last.state === 'ended' || this.cancelAt !== undefined)
            return;
        this.cancelAt = this.d.now();
        this.d.log(`stopping the runner on ${this.instanceId}: ${reason}`);
        try {
            await sendCommand(this.d.ssm, {
                DocumentName: 'AWS-RunShellScript',
                InstanceIds: [this.instanceId],
                TimeoutSeconds: 30,
                Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
                Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
            });
        }
        catch (e) {
            this.d.log(`could not send the stop command (${errorCode(e)}); cancelling the SSM command`);
            this.cancelSent = true;
            await cancelCommand(this.d.ssm, this.d.commandId, this.instanceId).catch(() => undefined);
        }
    }
    async release(opts = {}) {
        if (!this.released && this.d.keep && opts.status === 'failed' && (await this.keep(this.d.keep)))
            return;
        try {
            await terminate(this.d.ec2, [this.instanceId]);
        }
        catch (e) {
            rethrowExpired(e, this.d.credentialsSince, this.d.now(), `terminating ${this.instanceId}`, this.instanceId);
        }
        if (!this.released)
            this.d.log(`terminated ${this.instanceId}`);
        this.released = true;
        if (this.d.secretParameter)
            await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch((e) => this.d.log(`could not delete ${this.d.secretParameter}: ${e.message}`));
    }
    /** keep-on-failure: tag the kept deadline and say how to step in; false when it cannot be kept (then terminated) */
    async keep(k) {
        const now = this.d.now();
        const until = keptDeadline(now, k.seconds, k.hardEndMs);
        if (until - now < KEEP_MIN_SEC * 1000) {
            this.d.log(`keep-on-failure: ${this.instanceId} reaches its hard lifetime within a minute: terminating it`);
            return false;
        }
        try {
            await tagKept(this.d.ec2, this.instanceId, until);
        }
        catch (e) {
            this.d.log(`keep-on-failure: could not tag ${this.instanceId} (${errorCode(e)}): terminating it`);
            return false;
        }
        this.released = true;
        this.d.log(`keep on failure: ${this.instanceId} is kept for debugging until ${new Date(until).toISOString()} (then it shuts itself down; the post step and \`cleanup\` end it on time)`);
        this.d.log(`step into it: ${sessionCommand(this.instanceId, k.region)}`);
        if (this.d.secretParameter)
            await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch((e) => this.d.log(`could not delete ${this.d.secretParameter}: ${e.message}`));
        return true;
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/secret-parameter.ts
/**
 * The SecureString parameter that carries an attempt's secret env to its instance, made readable
 * by that instance only: it is tagged with the instance's ARN, and the instance role's policy
 * (examples/iam/instance-role-policy.json) allows `ssm:GetParameter` only where the tag equals
 * `${ec2:SourceInstanceARN}`, the instance the request's role credentials were issued to. An
 * optional customer-managed KMS key narrows decryption further (the `aws/ssm` default key
 * decrypts for every principal of the account that may call SSM).
 */



const SECRET_TAG = { instanceArn: 'dstack:instance-arn', run: 'dstack:run', attempt: 'dstack:attempt' };
/** `arn:aws:ec2:<region>:<account>:instance/<id>` in the region's partition */
function instanceArn(region, accountId, instanceId) {
    const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    return `arn:${partition}:ec2:${region}:${accountId}:instance/${instanceId}`;
}
function secretParameterInput(r) {
    return {
        Name: r.name,
        Value: r.value,
        Type: 'SecureString',
        Tier: 'Intelligent-Tiering',
        ...(r.kmsKeyId ? { KeyId: r.kmsKeyId } : {}),
        Description: `dstack run ${r.runName} attempt ${r.attempt}: secret env (deleted when the attempt ends)`,
        // tags can only be set when the parameter is created (PutParameter refuses Tags with Overwrite)
        Tags: [
            { Key: SECRET_TAG.instanceArn, Value: r.instanceArn },
            { Key: SECRET_TAG.run, Value: r.runName },
            { Key: SECRET_TAG.attempt, Value: String(r.attempt) }
        ]
    };
}
/** creates the parameter; one left behind under the same name (a killed CI job) is replaced */
async function putSecretParameter(ssm, r) {
    try {
        await ssm.send(new dist_cjs/* PutParameterCommand */.ihh(secretParameterInput(r)));
    }
    catch (e) {
        if (errorCode(e) !== 'ParameterAlreadyExists')
            throw e;
        await deleteSecretParameter(ssm, r.name);
        await ssm.send(new dist_cjs/* PutParameterCommand */.ihh(secretParameterInput(r)));
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/ami-fit.ts

const DEFAULT_AMI_PARAMETERS = {
    x86: '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id',
    arm: '/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id'
};
/** `supported_ec2_instances` of the default AMIs' release notes (x86_64 and ARM64 editions) */
const DEFAULT_AMI_FAMILIES = {
    x86: ['g4dn', 'g5', 'g6', 'gr6', 'g6e', 'g7e', 'p4d', 'p4de', 'p5', 'p5e', 'p5en', 'p6-b200', 'p6-b300'],
    arm: ['g5g']
};
/** the GPU vendors the default AMIs have drivers for */
const DEFAULT_AMI_VENDORS = ['nvidia'];
/** EC2 image `Architecture` → ours; undefined for anything else (i386, x86_64_mac…) */
function amiArch(architecture) {
    if (architecture === 'x86_64')
        return 'x86';
    if (architecture === 'arm64')
        return 'arm';
    return undefined;
}
function archName(a) {
    return a === 'x86' ? 'x86_64' : 'arm64';
}
/** Why the default AMI cannot drive this type's GPUs, or undefined when it can (or it has none). */
function defaultAmiMismatch(t) {
    if (t.gpuCount === 0)
        return undefined;
    if (t.gpuVendor && !DEFAULT_AMI_VENDORS.includes(t.gpuVendor))
        return `${t.gpuVendor} GPUs: the default AMI has NVIDIA drivers only (set \`ami\` to use them)`;
    const fam = instanceFamily(t.instanceType);
    if (!DEFAULT_AMI_FAMILIES[t.arch].includes(fam))
        return `${fam} is not supported by the default ${archName(t.arch)} AMI (its release notes list ${DEFAULT_AMI_FAMILIES[t.arch].join(', ')})`;
    return undefined;
}

;// CONCATENATED MODULE: ./src/backends/aws/ami.ts
/** The AMI: an `ami-…` id, or an SSM parameter holding one (default: the DLAMI public parameter). */





async function resolveAmi(ssm, ec2, ami, region) {
    let imageId = ami;
    if (!/^ami-[0-9a-f]+$/.test(ami)) {
        try {
            const out = await ssm.send(new dist_cjs/* GetParameterCommand */.lhy({ Name: ami }));
            imageId = out.Parameter?.Value ?? '';
        }
        catch (e) {
            throw new model/* UserError */.yo(`cannot read the AMI parameter ${ami} in ${region}: ${errorCode(e)}: ${errorMessage(e)}`, 'check the name with `aws ssm get-parameters-by-path --path /aws/service/deeplearning/ami/x86_64/` (or `arm64/`) in this region, or set `ami` to an ami-… id; the CI role needs ssm:GetParameter');
        }
        if (!/^ami-[0-9a-f]+$/.test(imageId))
            throw new model/* UserError */.yo(`the SSM parameter ${ami} holds ${JSON.stringify(imageId)}, not an AMI id`);
    }
    const out = await ec2.send(new client_ec2_dist_cjs/* DescribeImagesCommand */.ji5({ ImageIds: [imageId] }));
    const img = out.Images?.[0];
    if (!img)
        throw new model/* UserError */.yo(`AMI ${imageId} (from ${ami}) does not exist in ${region} or is not visible to this account`);
    const rootName = img.RootDeviceName ?? '/dev/sda1';
    const root = img.BlockDeviceMappings?.find((b) => b.DeviceName === rootName);
    return { imageId, source: ami, rootDeviceName: rootName, rootSnapshotGiB: root?.Ebs?.VolumeSize, architecture: img.Architecture };
}
/**
 * The AMI of every region, resolved before anything is searched or launched, and checked against
 * the workflow: the default AMI of the asked architecture (x86_64 unless `resources.cpu.arch`
 * says arm), or the user's `ami`, whose architecture decides the candidates' and must agree with
 * the workflow's. A GPU vendor no default AMI drives is an error naming `ami`.
 */
async function planAmis(clients, regions, ami, res) {
    const wanted = res.cpu.arch;
    const vendor = res.gpu?.vendor?.toLowerCase();
    const amis = new Map();
    const arch = new Map();
    if (!ami) {
        if (vendor && !DEFAULT_AMI_VENDORS.includes(vendor)) {
            throw new model/* UserError */.yo(`the workflow asks for ${res.gpu.vendor} GPUs (resources.gpu), but the default AMIs have NVIDIA drivers only`, `set \`ami\` to an AMI with the ${res.gpu.vendor} drivers for your instance types (an ami-… id, or an SSM parameter name)`);
        }
        const a = wanted ?? 'x86';
        for (const region of regions) {
            amis.set(region, await resolveAmi(clients.ssm(region), clients.ec2(region), DEFAULT_AMI_PARAMETERS[a], region));
            arch.set(region, a);
        }
        return { amis, arch, typeCheck: defaultAmiMismatch };
    }
    for (const region of regions) {
        const info = await resolveAmi(clients.ssm(region), clients.ec2(region), ami, region);
        const a = amiArch(info.architecture);
        if (!a)
            throw new model/* UserError */.yo(`\`ami\` ${ami} (${info.imageId}) is built for ${info.architecture ?? 'an unknown architecture'} in ${region}; GPU instances need x86_64 or arm64`, 'set `ami` to an x86_64 or arm64 AMI');
        if (wanted && a !== wanted) {
            throw new model/* UserError */.yo(`\`ami\` ${ami} (${info.imageId}) is ${archName(a)} in ${region}, but the workflow asks for ${archName(wanted)} (resources.cpu.arch)`, `set \`ami\` to an ${archName(wanted)} AMI, or leave it empty for the default ${archName(wanted)} Deep Learning AMI`);
        }
        amis.set(region, info);
        arch.set(region, a);
    }
    return { amis, arch };
}

;// CONCATENATED MODULE: ./src/backends/aws/compute-capability.ts
/**
 * CUDA compute capability of the NVIDIA GPUs EC2 sells, by the name DescribeInstanceTypes gives
 * (`GpuInfo.Gpus[].Name`), as NVIDIA publishes them. dstack picks offers the same way
 * (`offers.py`: a GPU that is not NVIDIA, or whose name it does not know, never fits a
 * `compute_capability`; one below it does not fit either).
 */
const CAPABILITY = {
    K80: [3, 7],
    M60: [5, 2],
    V100: [7, 0],
    T4: [7, 5],
    T4G: [7, 5],
    A10: [8, 6],
    A10G: [8, 6],
    A100: [8, 0],
    L4: [8, 9],
    L40S: [8, 9],
    H100: [9, 0],
    H200: [9, 0],
    B200: [10, 0],
    GB200: [10, 0]
};
/** the compute capability of an EC2 GPU name (case and spaces ignored), or undefined when unknown */
function computeCapabilityOf(gpuName) {
    if (!gpuName)
        return undefined;
    return CAPABILITY[gpuName.toUpperCase().replace(/\s+/g, '')];
}
/** `8.6` */
function capabilityText(c) {
    return `${c[0]}.${c[1]}`;
}
/** why a GPU does not reach `wanted`, or undefined when it does */
function capabilityMismatch(gpuName, vendor, wanted) {
    if (vendor && vendor !== 'nvidia')
        return `${vendor} GPUs (compute_capability ${capabilityText(wanted)} needs an NVIDIA GPU)`;
    const have = computeCapabilityOf(gpuName);
    if (!have)
        return `GPU ${gpuName ?? '(unnamed)'} (its compute capability is unknown; compute_capability ${capabilityText(wanted)} asks for a known one)`;
    if (have[0] < wanted[0] || (have[0] === wanted[0] && have[1] < wanted[1]))
        return `GPU ${gpuName} has compute capability ${capabilityText(have)}, below ${capabilityText(wanted)}`;
    return undefined;
}

;// CONCATENATED MODULE: ./src/backends/aws/instance-types.ts

function toTypeInfo(t) {
    if (!t.InstanceType)
        return undefined;
    const gpus = t.GpuInfo?.Gpus ?? [];
    const archs = t.ProcessorInfo?.SupportedArchitectures ?? [];
    const usage = t.SupportedUsageClasses ?? [];
    const efa = t.NetworkInfo?.EfaSupported ? Math.max(1, t.NetworkInfo.EfaInfo?.MaximumEfaInterfaces ?? 1) : undefined;
    return {
        instanceType: t.InstanceType,
        vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
        memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0,
        arch: archs.includes('x86_64') ? 'x86' : 'arm',
        gpuName: gpus[0]?.Name,
        gpuVendor: gpus[0]?.Manufacturer?.toLowerCase(),
        gpuCount: gpus.reduce((n, g) => n + (g.Count ?? 0), 0),
        gpuMemoryMiB: gpus[0]?.MemoryInfo?.SizeInMiB,
        spot: usage.includes('spot'),
        onDemand: usage.includes('on-demand'),
        ...(efa ? { efaInterfaces: efa } : {})
    };
}
function inRange(v, r) {
    if (!r)
        return true;
    if (v === undefined)
        return r.min === undefined || r.min <= 0;
    return (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);
}
/** Why a type does not fit (for logs), or undefined when it fits. */
function mismatch(t, res, arch) {
    if (t.arch !== arch)
        return `${t.arch} (the AMI is ${arch})`;
    if (!inRange(t.vcpus, res.cpu))
        return `${t.vcpus} vCPUs`;
    if (!inRange(t.memoryMiB, res.memoryMiB))
        return `${t.memoryMiB} MiB memory`;
    const g = res.gpu;
    if (g) {
        if (!inRange(t.gpuCount, g.count))
            return `${t.gpuCount} GPUs`;
        if (t.gpuCount > 0) {
            if (g.vendor && t.gpuVendor && g.vendor.toLowerCase() !== t.gpuVendor)
                return `${t.gpuVendor} GPUs (the workflow asks for ${g.vendor})`;
            if (g.names.length > 0 && !g.names.some((n) => n.toLowerCase() === (t.gpuName ?? '').toLowerCase()))
                return `GPU ${t.gpuName}`;
            if (!inRange(t.gpuMemoryMiB, g.memoryMiB))
                return `${t.gpuMemoryMiB} MiB per GPU`;
            if (!inRange((t.gpuMemoryMiB ?? 0) * t.gpuCount, g.totalMemoryMiB))
                return `${(t.gpuMemoryMiB ?? 0) * t.gpuCount} MiB GPU memory in total`;
            // dstack's `compute_capability`: an NVIDIA GPU whose capability is known and reaches it
            if (g.computeCapability) {
                const why = capabilityMismatch(t.gpuName, t.gpuVendor, g.computeCapability);
                if (why)
                    return why;
            }
        }
    }
    return undefined;
}
/**
 * Pure: the types of a region's catalogue that fit the resources. `explicit` (the workflow's
 * `instance_types`) narrows the list; `extra` adds a check of its own (the default AMI's families).
 */
function matchTypes(all, res, arch, explicit, extra) {
    const fit = [];
    const rejected = [];
    const pool = explicit.length ? all.filter((t) => explicit.includes(t.instanceType)) : all;
    const unknown = explicit.filter((n) => !all.some((t) => t.instanceType === n));
    for (const t of pool) {
        const why = mismatch(t, res, arch) ?? extra?.(t);
        if (why)
            rejected.push({ instanceType: t.instanceType, why });
        else
            fit.push(t);
    }
    return { fit, rejected, unknown };
}

;// CONCATENATED MODULE: ./src/backends/aws/placement.ts
/** Where a type can launch: zones that offer it (DescribeInstanceTypeOfferings) and the subnets in them. */

/** `${type}` → zones that offer it, limited to `zones` when given */
async function offeredZones(ec2, types, zones) {
    const out = new Map();
    for (let i = 0; i < types.length; i += 100) {
        const Filters = [{ Name: 'instance-type', Values: types.slice(i, i + 100) }, ...(zones?.length ? [{ Name: 'location', Values: zones }] : [])];
        for await (const page of (0,client_ec2_dist_cjs/* paginateDescribeInstanceTypeOfferings */.JQz)({ client: ec2, pageSize: 1000 }, { LocationType: 'availability-zone', Filters })) {
            for (const o of page.InstanceTypeOfferings ?? []) {
                if (!o.InstanceType || !o.Location)
                    continue;
                out.set(o.InstanceType, [...(out.get(o.InstanceType) ?? []), o.Location]);
            }
        }
    }
    for (const v of out.values())
        v.sort();
    return out;
}
/** subnet id → its zone */
async function subnetZones(ec2, subnetIds) {
    if (subnetIds.length === 0)
        return new Map();
    const out = await ec2.send(new client_ec2_dist_cjs/* DescribeSubnetsCommand */.jSW({ SubnetIds: subnetIds }));
    return new Map((out.Subnets ?? []).filter((s) => s.SubnetId && s.AvailabilityZone).map((s) => [s.SubnetId, s.AvailabilityZone]));
}
/** Pure: every (type, zone[, subnet]) slot; with subnets, one slot per subnet in an offering zone. */
function slots(offered, subnets) {
    const out = [];
    for (const [instanceType, zones] of offered) {
        for (const zone of zones) {
            if (subnets && subnets.size > 0) {
                for (const [subnetId, z] of subnets)
                    if (z === zone)
                        out.push({ instanceType, zone, subnetId });
            }
            else
                out.push({ instanceType, zone });
        }
    }
    return out;
}

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-pricing/dist-cjs/index.js
var client_pricing_dist_cjs = __webpack_require__(24453);
;// CONCATENATED MODULE: ./src/backends/aws/prices.ts
/**
 * Prices. Spot: the latest DescribeSpotPriceHistory entry per type and zone. On-demand: the AWS
 * Pricing API (GetProducts, endpoint us-east-1), else a small bundled table of us-east-1 list
 * prices for common GPU types. `priceSource` always says which one a number came from.
 */


const PRICE_SOURCE = {
    spot: 'ec2:DescribeSpotPriceHistory',
    pricingApi: 'pricing:GetProducts',
    fallback: 'bundled table (us-east-1 on-demand list price, approximate)'
};
/**
 * USD/hour, Linux, on-demand, us-east-1 list prices (AWS price pages, 2025; P4/P5 after the
 * June 2025 reduction). Used only when the Pricing API cannot be read; other regions differ by
 * a few percent to ~30 %.
 */
const ON_DEMAND_FALLBACK = {
    'g4dn.xlarge': 0.526, 'g4dn.2xlarge': 0.752, 'g4dn.4xlarge': 1.204, 'g4dn.8xlarge': 2.176, 'g4dn.12xlarge': 3.912, 'g4dn.16xlarge': 4.352,
    'g5.xlarge': 1.006, 'g5.2xlarge': 1.212, 'g5.4xlarge': 1.624, 'g5.8xlarge': 2.448, 'g5.12xlarge': 5.672, 'g5.16xlarge': 4.096, 'g5.24xlarge': 8.144, 'g5.48xlarge': 16.288,
    'g6.xlarge': 0.8048, 'g6.2xlarge': 0.9776, 'g6.4xlarge': 1.3232, 'g6.8xlarge': 2.0144, 'g6.12xlarge': 4.6016, 'g6.16xlarge': 3.3968, 'g6.24xlarge': 6.6752, 'g6.48xlarge': 13.3504,
    'g6e.xlarge': 1.861, 'g6e.2xlarge': 2.24208, 'g6e.4xlarge': 3.00424, 'g6e.8xlarge': 4.52856, 'g6e.12xlarge': 10.49264, 'g6e.16xlarge': 7.57719, 'g6e.24xlarge': 15.06559, 'g6e.48xlarge': 30.13118,
    'p3.2xlarge': 3.06, 'p3.8xlarge': 12.24, 'p3.16xlarge': 24.48,
    'p4d.24xlarge': 21.96, 'p5.48xlarge': 55.04
};
/** latest spot price per `${type}|${zone}` */
async function latestSpotPrices(ec2, types, zones, now) {
    const latest = new Map();
    if (types.length === 0)
        return new Map();
    for (let i = 0; i < types.length; i += 50) {
        const input = {
            InstanceTypes: types.slice(i, i + 50),
            ProductDescriptions: ['Linux/UNIX'],
            StartTime: now,
            ...(zones?.length ? { Filters: [{ Name: 'availability-zone', Values: zones }] } : {})
        };
        for await (const page of (0,client_ec2_dist_cjs/* paginateDescribeSpotPriceHistory */.Y25)({ client: ec2, pageSize: 1000 }, input)) {
            for (const h of page.SpotPriceHistory ?? []) {
                if (!h.InstanceType || !h.AvailabilityZone || !h.SpotPrice)
                    continue;
                const key = `${h.InstanceType}|${h.AvailabilityZone}`;
                const t = h.Timestamp ? new Date(h.Timestamp).getTime() : 0;
                const p = Number(h.SpotPrice);
                const prev = latest.get(key);
                if (Number.isFinite(p) && (!prev || t > prev.t))
                    latest.set(key, { t, p });
            }
        }
    }
    return new Map([...latest].map(([k, v]) => [k, v.p]));
}
/** The lowest positive USD on-demand price in one GetProducts price-list entry (a JSON string). */
function onDemandUsdFromPriceList(entry) {
    let doc;
    try {
        doc = typeof entry === 'string' ? JSON.parse(entry) : JSON.parse(String(entry));
    }
    catch {
        return undefined;
    }
    let best;
    for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
        for (const dim of Object.values(term.priceDimensions ?? {})) {
            const usd = Number(dim.pricePerUnit?.USD);
            if (Number.isFinite(usd) && usd > 0 && (best === undefined || usd < best))
                best = usd;
        }
    }
    return best;
}
async function onDemandPriceFromApi(pricing, region, instanceType) {
    const f = (Field, Value) => ({ Type: 'TERM_MATCH', Field, Value });
    const out = await pricing.send(new client_pricing_dist_cjs/* GetProductsCommand */.SS({
        ServiceCode: 'AmazonEC2',
        FormatVersion: 'aws_v1',
        MaxResults: 20,
        Filters: [f('instanceType', instanceType), f('regionCode', region), f('operatingSystem', 'Linux'), f('tenancy', 'Shared'), f('preInstalledSw', 'NA'), f('capacitystatus', 'Used')]
    }));
    let best;
    for (const e of out.PriceList ?? []) {
        const p = onDemandUsdFromPriceList(e);
        if (p !== undefined && (best === undefined || p < best))
            best = p;
    }
    return best;
}
/**
 * On-demand prices for `types` in `region`: the Pricing API first; if it fails (no permission,
 * no network to us-east-1) the bundled table, and the failure is logged once.
 */
async function onDemandPrices(pricing, region, types, log) {
    const out = new Map();
    let apiOk = pricing !== undefined;
    for (let i = 0; i < types.length && apiOk; i += 5) {
        const batch = types.slice(i, i + 5);
        try {
            const prices = await Promise.all(batch.map((t) => onDemandPriceFromApi(pricing, region, t)));
            batch.forEach((t, j) => {
                const p = prices[j];
                if (p !== undefined)
                    out.set(t, { pricePerHour: p, priceSource: PRICE_SOURCE.pricingApi });
            });
        }
        catch (e) {
            apiOk = false;
            log(`on-demand prices: the Pricing API failed (${e.name}: ${e.message}); using the bundled us-east-1 table`);
        }
    }
    for (const t of types) {
        const fb = ON_DEMAND_FALLBACK[t];
        if (!out.has(t) && fb !== undefined)
            out.set(t, { pricePerHour: fb, priceSource: PRICE_SOURCE.fallback });
    }
    return out;
}

;// CONCATENATED MODULE: ./src/backends/aws/retrying.ts
/**
 * Bounded retries with jittered backoff for the read calls of a search (DescribeInstanceTypes,
 * offerings, prices). The SDK clients retry too (clients.ts); this outer loop is what keeps a
 * search alive through a longer throttling burst, and it is what the tests can drive with a
 * virtual clock.
 */


async function retrying(what, fn, d) {
    for (let attempt = 0;; attempt++) {
        try {
            return await fn();
        }
        catch (e) {
            if (!isRetryable(e) || attempt >= d.retries)
                throw e;
            const ms = backoffMs(attempt, d.random);
            d.log(`${errorCode(e)} while ${what}; retrying in ${(ms / 1000).toFixed(1)} s (${attempt + 1}/${d.retries})`);
            await d.sleep(ms);
        }
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/catalog.ts
/**
 * The instance catalogue of a region (types, the zones that offer them, spot and on-demand prices),
 * read through a one-day cache in the run store (`cache/aws/<region>/<name>.json`), so a burst of
 * starts reads it from AWS once. Every AWS read is retried on throttling (retrying.ts). The cache
 * is an optimisation: a store that cannot be read or written only costs the AWS calls.
 */






const CATALOG_TTL_MS = 24 * 3600 * 1000;
function cacheKey(region, name) {
    return `cache/aws/${region}/${name}.json`;
}
/** the names of a region's cache files (regionTypes, regionOfferings, regionSpotPrices, regionOnDemandPrices) */
function catalogNames(arch, o) {
    return [typesName(arch), 'offerings', ...(o.spot ? ['spot-prices'] : []), ...(o.onDemand ? ['on-demand-prices'] : [])];
}
/**
 * Starts reading these cache files of a region at once: one store round trip instead of one per
 * file in a row (each read needs the one before it only for what it asks AWS on a miss). Returns
 * deps whose reads take these answers.
 */
function prefetchCatalog(d, files) {
    if (!d.store)
        return d;
    const store = d.store;
    const prefetched = new Map(d.prefetched ?? []);
    for (const { region, names } of files) {
        for (const name of names) {
            const key = cacheKey(region, name);
            if (!prefetched.has(key))
                prefetched.set(key, store.getText(key).catch(() => undefined));
        }
    }
    return { ...d, prefetched };
}
async function readCache(d, region, name) {
    if (!d.store)
        return undefined;
    try {
        const key = cacheKey(region, name);
        const early = d.prefetched?.get(key);
        d.prefetched?.delete(key);
        const text = await (early ?? d.store.getText(key));
        if (!text)
            return undefined;
        const f = JSON.parse(text);
        if (typeof f.fetchedAt !== 'number' || d.now() - f.fetchedAt >= CATALOG_TTL_MS || d.now() < f.fetchedAt)
            return undefined;
        return f;
    }
    catch {
        return undefined;
    }
}
async function writeCache(d, region, name, f) {
    if (!d.store)
        return;
    try {
        await d.store.put(cacheKey(region, name), JSON.stringify(f), { contentType: 'application/json' });
    }
    catch (e) {
        d.log(`could not write the instance catalogue cache (${e.name}); the next start reads it from AWS again`);
    }
}
/** A map cached as one file: keys already there are reused; missing keys are fetched and merged in. */
async function cachedMap(d, region, name, keys, fetch) {
    const f = await readCache(d, region, name);
    const have = f?.value ?? {};
    const missing = keys.filter((k) => !(k in have));
    if (missing.length) {
        const got = await fetch(missing);
        // a key AWS knows nothing about is remembered as absent (null), so it is not asked again
        for (const k of missing)
            have[k] = got.has(k) ? got.get(k) : null;
        await writeCache(d, region, name, { fetchedAt: f?.fetchedAt ?? d.now(), value: have });
    }
    return new Map(keys.filter((k) => have[k] !== null && have[k] !== undefined).map((k) => [k, have[k]]));
}
/** v2: TypeInfo gained efaInterfaces (an older cached list would say no type has EFA) */
function typesName(arch) {
    return `instance-types-v2-${archName(arch)}`;
}
/** every instance type of one architecture in the region (DescribeInstanceTypes, all pages) */
async function regionTypes(ec2, region, arch, d) {
    const name = typesName(arch);
    const f = await readCache(d, region, name);
    if (f)
        return f.value;
    const types = await retrying(`listing the instance types of ${region}`, async () => {
        const out = [];
        const input = { Filters: [{ Name: 'processor-info.supported-architecture', Values: [archName(arch)] }] };
        for await (const page of (0,client_ec2_dist_cjs/* paginateDescribeInstanceTypes */.RTj)({ client: ec2, pageSize: 100 }, input)) {
            for (const raw of page.InstanceTypes ?? []) {
                const t = toTypeInfo(raw);
                if (t)
                    out.push(t);
            }
        }
        return out;
    }, d);
    await writeCache(d, region, name, { fetchedAt: d.now(), value: types });
    return types;
}
/** type → every zone of the region that offers it */
function regionOfferings(ec2, region, types, d) {
    return cachedMap(d, region, 'offerings', types, (missing) => retrying(`listing where ${region} offers them`, () => offeredZones(ec2, missing, undefined), d));
}
/** type → zone → latest spot price */
async function regionSpotPrices(ec2, region, types, d) {
    const byType = await cachedMap(d, region, 'spot-prices', types, async (missing) => {
        const flat = await retrying(`reading spot prices in ${region}`, () => latestSpotPrices(ec2, missing, undefined, new Date(d.now())), d);
        const out = new Map();
        for (const [k, p] of flat) {
            const [t, z] = k.split('|');
            out.set(t, { ...(out.get(t) ?? {}), [z]: p });
        }
        return out;
    });
    const flat = new Map();
    for (const [t, zones] of byType)
        for (const [z, p] of Object.entries(zones))
            flat.set(`${t}|${z}`, p);
    return flat;
}
/** type → on-demand price (Pricing API, else the bundled table) */
function regionOnDemandPrices(pricing, region, types, d) {
    return cachedMap(d, region, 'on-demand-prices', types, (missing) => onDemandPrices(pricing, region, missing, d.log));
}

;// CONCATENATED MODULE: ./src/backends/aws/candidates.ts







const byPrice = (a, b) => (a.pricePerHour ?? Infinity) - (b.pricePerHour ?? Infinity) || a.instanceType.localeCompare(b.instanceType) || a.zone.localeCompare(b.zone) || (a.subnetId ?? '').localeCompare(b.subnetId ?? '');
/**
 * Pure: every allowed (type, zone, market) under max_price, region by region in the order given
 * (a region is tried in full, spot then on-demand, each cheapest first, before the next region:
 * the run lists its regions in the order it prefers them).
 */
function rankCandidates(inputs) {
    return inputs.flatMap(rankRegion);
}
function rankRegion(inp) {
    const spot = [];
    const od = [];
    const info = new Map(inp.types.map((t) => [t.instanceType, t]));
    for (const s of inp.slots) {
        const t = info.get(s.instanceType);
        if (!t)
            continue;
        const base = { region: inp.region, instanceType: s.instanceType, zone: s.zone, ...(s.subnetId ? { subnetId: s.subnetId } : {}), vcpus: t.vcpus, gpuCount: t.gpuCount, ...(t.gpuName ? { gpuName: t.gpuName } : {}), ...(t.efaInterfaces ? { efaInterfaces: t.efaInterfaces } : {}) };
        if (inp.spotPolicy !== 'on-demand' && t.spot) {
            const p = inp.spotPrices.get(`${s.instanceType}|${s.zone}`);
            if (p === undefined || inp.maxPrice === undefined || p <= inp.maxPrice)
                spot.push({ ...base, market: 'spot', pricePerHour: p, priceSource: p === undefined ? 'unknown' : PRICE_SOURCE.spot });
        }
        if (inp.spotPolicy !== 'spot' && t.onDemand) {
            const p = inp.onDemandPrices.get(s.instanceType);
            if (!p || inp.maxPrice === undefined || p.pricePerHour <= inp.maxPrice)
                od.push({ ...base, market: 'on-demand', pricePerHour: p?.pricePerHour, priceSource: p?.priceSource ?? 'unknown' });
        }
    }
    spot.sort(byPrice);
    od.sort(byPrice);
    return inp.preferOnDemand ? [...od, ...spot] : [...spot, ...od];
}
function describeCandidate(c) {
    const price = c.pricePerHour === undefined ? 'price unknown' : `$${c.pricePerHour.toFixed(4)}/h`;
    return `${c.instanceType} ${c.market} in ${c.zone}${c.subnetId ? ` (${c.subnetId})` : ''} at ${price}`;
}
/** I/O: gathers types, zones and prices per region (through the cached catalogue), then ranks. Throws UserError when nothing fits. */
async function findCandidates(clients, spec, o) {
    const inputs = [];
    const notes = [];
    const markets = { spot: spec.spotPolicy !== 'on-demand', onDemand: spec.spotPolicy !== 'spot' };
    // every cached part of every region's catalogue is read at once, not one after the other
    const catalog = prefetchCatalog(o.catalog, o.regions.map((region) => ({ region, names: catalogNames(o.archFor(region), markets) })));
    for (const region of o.regions) {
        const ec2 = clients.ec2(region);
        const arch = o.archFor(region);
        const all = await regionTypes(ec2, region, arch, catalog);
        const { fit, rejected, unknown } = matchTypes(all, spec.resources, arch, spec.instanceTypes, o.typeCheck);
        if (unknown.length)
            notes.push(`${region}: instance_types names ${unknown.join(', ')}, which EC2 does not sell here for ${archName(arch)}`);
        if (fit.length === 0) {
            const sample = spec.instanceTypes.length ? rejected.map((r) => `${r.instanceType}: ${r.why}`).join('; ') : `${rejected.length} types checked`;
            notes.push(`${region}: no instance type fits the resources (${sample || 'none of the given instance_types exist here'})`);
            continue;
        }
        const excluded = rejected.filter((r) => o.typeCheck && !mismatch(all.find((t) => t.instanceType === r.instanceType), spec.resources, arch));
        if (excluded.length)
            o.log(`${region}: left out ${excluded.length} type(s) the AMI cannot drive (${[...new Set(excluded.map((r) => r.instanceType.split('.')[0]))].join(', ')})`);
        const typeNames = fit.map((t) => t.instanceType);
        const subnets = await retrying(`reading the subnets in ${region}`, () => subnetZones(ec2, o.subnetIds), catalog);
        const zoneFilter = subnets.size ? [...new Set(subnets.values())] : [];
        const allowedZones = spec.availabilityZones.length ? (zoneFilter.length ? zoneFilter.filter((z) => spec.availabilityZones.includes(z)) : spec.availabilityZones) : zoneFilter;
        if ((spec.availabilityZones.length || subnets.size) && allowedZones.length === 0) {
            notes.push(`${region}: the subnets' zones (${[...subnets.values()].join(', ')}) are not in availability_zones (${spec.availabilityZones.join(', ')})`);
            continue;
        }
        const allOffered = await regionOfferings(ec2, region, typeNames, catalog);
        const offered = new Map([...allOffered].map(([t, zones]) => [t, allowedZones.length ? zones.filter((z) => allowedZones.includes(z)) : zones]).filter(([, zones]) => zones.length > 0));
        const regionSlots = slots(offered, subnets.size ? subnets : undefined);
        if (regionSlots.length === 0) {
            notes.push(`${region}: none of ${typeNames.slice(0, 8).join(', ')}${typeNames.length > 8 ? ', …' : ''} is offered in ${allowedZones.length ? allowedZones.join(', ') : 'any zone'}`);
            continue;
        }
        const offeredTypes = [...offered.keys()];
        let pricing;
        try {
            pricing = spec.spotPolicy === 'spot' ? undefined : clients.pricing();
        }
        catch {
            pricing = undefined;
        }
        // spot and on-demand prices do not depend on each other: read side by side
        const [spotPrices, odPrices] = await Promise.all([
            spec.spotPolicy === 'on-demand' ? new Map() : regionSpotPrices(ec2, region, offeredTypes, catalog),
            spec.spotPolicy === 'spot' ? new Map() : regionOnDemandPrices(pricing, region, offeredTypes, catalog)
        ]);
        inputs.push({ region, types: fit, slots: regionSlots, spotPrices, onDemandPrices: odPrices, spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice, preferOnDemand: o.preferOnDemand });
    }
    const ranked = rankCandidates(inputs);
    if (ranked.length === 0) {
        const why = notes.length ? notes.join('\n') : `every matching type costs more than max_price ${spec.maxPrice} USD/h, or none is sold as ${spec.spotPolicy}`;
        throw new model/* UserError */.yo(`no EC2 instance type matches this workflow in ${o.regions.join(', ')}:\n${why}`, 'relax resources (gpu, cpu, memory), add instance_types or regions, raise max_price, or use spot_policy: auto');
    }
    return ranked;
}

;// CONCATENATED MODULE: ./src/backends/aws/cleanup.ts
/**
 * Cleanup mode (for a scheduled job): terminate tagged instances whose `dstack:expires-at` has
 * passed, and delete secret env parameters that no attempt can still read (an attempt whose CI job
 * was killed before it could delete its own).
 */






/** Pure: which of these tagged instances have expired */
function expired(instances, now) {
    return instances
        .filter((i) => {
        const t = Date.parse(i.tags[TAG.expiresAt] ?? '');
        return Number.isFinite(t) && t <= now;
    })
        .map((i) => ({ instanceId: i.instanceId, expiresAt: i.tags[TAG.expiresAt], run: i.tags[TAG.run] }));
}
async function cleanupExpiredIn(ec2, now, dryRun, log) {
    const found = [];
    const input = { Filters: [{ Name: 'tag-key', Values: [TAG.run] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] };
    for await (const page of (0,client_ec2_dist_cjs/* paginateDescribeInstances */.H0T)({ client: ec2, pageSize: 1000 }, input)) {
        for (const r of page.Reservations ?? [])
            for (const i of r.Instances ?? []) {
                if (i.InstanceId)
                    found.push({ instanceId: i.InstanceId, tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])) });
            }
    }
    const gone = expired(found, now);
    for (const g of gone)
        log(`${dryRun ? 'would terminate' : 'terminating'} ${g.instanceId} (run ${g.run ?? '?'}, expired ${g.expiresAt})`);
    if (!dryRun)
        for (let i = 0; i < gone.length; i += 500)
            await terminate(ec2, gone.slice(i, i + 500).map((g) => g.instanceId));
    return gone.map((g) => g.instanceId);
}
/** `/dstack/<repo hash>/<run>/<attempt>/env`, or a cluster node's `…/env-<rank>` (bootstrap.ts): only these are ever deleted */
const SECRET_NAME = /^\/dstack\/[0-9a-f]{12}\/[a-z0-9-]+\/\d+\/env(-\d+)?$/;
/** an attempt runs at most MAX_EXECUTION_TIMEOUT; one more hour of margin */
const SECRET_MAX_AGE_MS = (MAX_EXECUTION_TIMEOUT + 3600) * 1000;
/** Pure: the secret parameters older than any attempt can live */
function staleSecrets(params, now) {
    return params.filter((p) => SECRET_NAME.test(p.name) && p.lastModified !== undefined && now - p.lastModified.getTime() > SECRET_MAX_AGE_MS).map((p) => p.name);
}
async function cleanupStaleSecretsIn(ssm, now, dryRun, log) {
    const found = [];
    for await (const page of (0,dist_cjs/* paginateGetParametersByPath */.kU5)({ client: ssm, pageSize: 10 }, { Path: '/dstack', Recursive: true, WithDecryption: false })) {
        for (const p of page.Parameters ?? [])
            if (p.Name)
                found.push({ name: p.Name, lastModified: p.LastModifiedDate });
    }
    const stale = staleSecrets(found, now);
    for (const name of stale)
        log(`${dryRun ? 'would delete' : 'deleting'} the secret env parameter ${name} (older than ${MAX_EXECUTION_TIMEOUT / 3600 + 1} h)`);
    if (!dryRun)
        for (let i = 0; i < stale.length; i += 10)
            await ssm.send(new dist_cjs/* DeleteParametersCommand */.lPl({ Names: stale.slice(i, i + 10) }));
    return stale;
}
const tagsOf = (tags) => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
/**
 * The placement groups and security groups of multi-node attempts whose `dstack:expires-at` has
 * passed (a CI job killed before it released its cluster): deleted once no instance uses them. One
 * still in use (its instances are shutting down) is left to the next cleanup.
 */
async function cleanupExpiredGroupsIn(ec2, now, dryRun, log) {
    const filters = [{ Name: 'tag-key', Values: [TAG.run] }];
    const groups = [];
    const pgs = await ec2.send(new client_ec2_dist_cjs/* DescribePlacementGroupsCommand */.aEf({ Filters: filters }));
    for (const g of pgs.PlacementGroups ?? [])
        if (g.GroupName)
            groups.push({ instanceId: `placement group ${g.GroupName}`, tags: tagsOf(g.Tags), del: () => ec2.send(new client_ec2_dist_cjs/* DeletePlacementGroupCommand */.zvL({ GroupName: g.GroupName })) });
    let token;
    do {
        const sgs = await ec2.send(new client_ec2_dist_cjs/* DescribeSecurityGroupsCommand */.jsQ({ Filters: filters, MaxResults: 1000, ...(token ? { NextToken: token } : {}) }));
        token = sgs.NextToken;
        for (const g of sgs.SecurityGroups ?? [])
            if (g.GroupId)
                groups.push({ instanceId: `security group ${g.GroupId}`, tags: tagsOf(g.Tags), del: () => ec2.send(new client_ec2_dist_cjs/* DeleteSecurityGroupCommand */.yEh({ GroupId: g.GroupId })) });
    } while (token);
    const gone = expired(groups, now);
    const deleted = [];
    for (const g of gone) {
        log(`${dryRun ? 'would delete' : 'deleting'} the ${g.instanceId} (run ${g.run ?? '?'}, expired ${g.expiresAt})`);
        if (dryRun) {
            deleted.push(g.instanceId);
            continue;
        }
        try {
            await groups.find((x) => x.instanceId === g.instanceId).del();
            deleted.push(g.instanceId);
        }
        catch (e) {
            if (!['InvalidPlacementGroup.InUse', 'DependencyViolation'].includes(errorCode(e)))
                throw e;
            log(`the ${g.instanceId} is still in use (its instances are shutting down): the next cleanup deletes it`);
        }
    }
    return deleted;
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-network.ts
/**
 * What a multi-node attempt creates besides its instances, and deletes again: a cluster placement
 * group per zone tried, and (unless the user names one) a security group that lets the nodes reach
 * each other on every port — ingress and egress from and to itself, as EFA requires — while the
 * default egress rule keeps the way out to SSM and S3. Both carry the attempt's tags; both can be
 * deleted only once every instance in them is terminated, so deletion waits for that first.
 */



/** Creates the attempt's cluster placement group; one left by an earlier try of the same attempt is reused. */
async function createPlacementGroup(ec2, name, tags) {
    try {
        await ec2.send(new client_ec2_dist_cjs/* CreatePlacementGroupCommand */.qmy({ GroupName: name, Strategy: 'cluster', TagSpecifications: [{ ResourceType: 'placement-group', Tags: tags }] }));
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidPlacementGroup.Duplicate')
            throw e;
    }
}
/** the VPC of a subnet (a security group belongs to one VPC); undefined: the region's default VPC */
async function vpcOfSubnet(ec2, subnetId) {
    if (!subnetId)
        return undefined;
    const out = await ec2.send(new client_ec2_dist_cjs/* DescribeSubnetsCommand */.jSW({ SubnetIds: [subnetId] }));
    return out.Subnets?.[0]?.VpcId;
}
/**
 * Creates the attempt's security group in the VPC (default VPC when undefined) and allows all
 * traffic from and to itself. A group of the same name (an earlier try of this attempt) is reused.
 */
async function createClusterSecurityGroup(ec2, g) {
    let id;
    try {
        const out = await ec2.send(new client_ec2_dist_cjs/* CreateSecurityGroupCommand */.x3C({ GroupName: g.name, Description: g.description.replace(/[^\x20-\x7e]/g, '?').slice(0, 255), ...(g.vpcId ? { VpcId: g.vpcId } : {}), TagSpecifications: [{ ResourceType: 'security-group', Tags: g.tags }] }));
        id = out.GroupId;
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidGroup.Duplicate')
            throw e;
        const found = await ec2.send(new client_ec2_dist_cjs/* DescribeSecurityGroupsCommand */.jsQ({ Filters: [{ Name: 'group-name', Values: [g.name] }, ...(g.vpcId ? [{ Name: 'vpc-id', Values: [g.vpcId] }] : [])] }));
        id = found.SecurityGroups?.[0]?.GroupId;
    }
    if (!id)
        throw new Error(`CreateSecurityGroup returned no group id for ${g.name}`);
    const self = [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: id, Description: 'dstack: the nodes of one run' }] }];
    try {
        // both rules at once: neither waits for the other
        const rules = await Promise.allSettled([
            allowOnce(() => ec2.send(new client_ec2_dist_cjs/* AuthorizeSecurityGroupIngressCommand */.N8i({ GroupId: id, IpPermissions: self }))),
            allowOnce(() => ec2.send(new client_ec2_dist_cjs/* AuthorizeSecurityGroupEgressCommand */.HGF({ GroupId: id, IpPermissions: self })))
        ]);
        for (const rule of rules)
            if (rule.status === 'rejected')
                throw rule.reason;
    }
    catch (e) {
        await ec2.send(new client_ec2_dist_cjs/* DeleteSecurityGroupCommand */.yEh({ GroupId: id })).catch(() => undefined);
        throw e;
    }
    return id;
}
async function allowOnce(f) {
    try {
        await f();
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidPermission.Duplicate')
            throw e;
    }
}
/**
 * Waits until the instances are terminated (or unknown to EC2), so their groups can be deleted.
 * Not the SDK's `waitUntilInstanceTerminated`: it retries on every error, expired credentials
 * included, on the real clock; this loop rethrows what is not throttling and uses the backend's clock.
 */
async function waitTerminated(ids, describe, d) {
    if (ids.length === 0)
        return;
    const until = d.now() + d.timeoutMs;
    for (let i = 0;; i++) {
        try {
            const states = await describe(ids);
            if ([...states.values()].every((s) => s.state === 'terminated' || s.state === 'missing'))
                return;
        }
        catch (e) {
            if (!isRetryable(e))
                throw e;
        }
        if (d.now() >= until)
            throw new Error(`the instances ${ids.join(', ')} were not terminated within ${Math.round(d.timeoutMs / 1000)} s`);
        await d.sleep(Math.min(5000 * (i + 1), 15_000));
    }
}
/** delete, retrying while EC2 says the group is still in use; gone already is fine */
async function deleteWhileInUse(what, del, inUse, gone, d) {
    const until = d.now() + d.timeoutMs;
    for (let i = 0;; i++) {
        try {
            await del();
            return;
        }
        catch (e) {
            const code = errorCode(e);
            if (gone.includes(code))
                return;
            if (!inUse.includes(code) || d.now() >= until)
                throw Object.assign(new Error(`could not delete ${what}: ${code}: ${e.message}`), { name: code });
            await d.sleep(Math.min(5000 * (i + 1), 20_000));
        }
    }
}
function deletePlacementGroup(ec2, name, d) {
    return deleteWhileInUse(`placement group ${name}`, () => ec2.send(new client_ec2_dist_cjs/* DeletePlacementGroupCommand */.zvL({ GroupName: name })), ['InvalidPlacementGroup.InUse'], ['InvalidPlacementGroup.Unknown'], d);
}
function deleteSecurityGroup(ec2, id, d) {
    return deleteWhileInUse(`security group ${id}`, () => ec2.send(new client_ec2_dist_cjs/* DeleteSecurityGroupCommand */.yEh({ GroupId: id })), ['DependencyViolation'], ['InvalidGroup.NotFound'], d);
}
/** Pure: a failure to create the cluster's groups, in the words of what to change (other errors as they are) */
function clusterNetworkError(e, what, region) {
    const code = errorCode(e);
    if (/^(UnauthorizedOperation|AccessDenied|AccessDeniedException)$/.test(code)) {
        return new model/* UserError */.yo(`${what} failed: ${code}: ${errorMessage(e)}`, 'the CI role lacks a multi-node permission: compare it with the MultiNode* statements of examples/iam/ci-role-policy.json (ec2:CreatePlacementGroup, ec2:CreateSecurityGroup, ec2:AuthorizeSecurityGroupIngress/Egress with the dstack:run tag)');
    }
    if (/LimitExceeded$/.test(code)) {
        return new model/* UserError */.yo(`${what} failed: ${code}: ${errorMessage(e)}`, `the account's limit of placement groups or security groups in ${region} is reached: delete unused ones (cleanup mode deletes expired dstack ones), or name a security group with DSTACK_AWS_CLUSTER_SECURITY_GROUP`);
    }
    if (code === 'InvalidVpcID.NotFound' || code === 'VPCIdNotSpecified') {
        return new model/* UserError */.yo(`${what} failed: ${code}: ${errorMessage(e)}`, `${region} has no default VPC: set \`subnet-ids\`, or create a default VPC (aws ec2 create-default-vpc --region ${region})`);
    }
    return e;
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-handle.ts










const cluster_handle_SLOWEST_POLL_MS = 30_000;
const cluster_handle_INVOCATION_APPEAR_MS = 120_000;
/** how long release waits for terminated instances to let go of their placement and security groups */
const RELEASE_WAIT_SEC = 900;
/** every invocation of a command, by instance (ListCommandInvocations with details, all pages; a loop, not the SDK paginator, so that one poll is one call for up to 50 nodes) */
async function listInvocations(ssm, commandId) {
    const out = new Map();
    let token;
    do {
        const page = await ssm.send(new dist_cjs/* ListCommandInvocationsCommand */.mdT({ CommandId: commandId, Details: true, MaxResults: 50, ...(token ? { NextToken: token } : {}) }));
        token = page.NextToken;
        for (const inv of page.CommandInvocations ?? []) {
            if (!inv.InstanceId)
                continue;
            const plugin = inv.CommandPlugins?.[0];
            out.set(inv.InstanceId, {
                status: inv.Status ?? 'Pending',
                statusDetails: inv.StatusDetails,
                ...(plugin?.ResponseCode !== undefined ? { responseCode: plugin.ResponseCode } : {}),
                ...(inv.StandardErrorUrl ? { stderrUrl: inv.StandardErrorUrl } : {})
            });
        }
    } while (token);
    return out;
}
/**
 * Pure: the attempt's state from its nodes'. Any node interrupted (reclaimed, or its runner
 * stopped on the spot notice) ends the attempt as interrupted; otherwise it ends once every node
 * ended, with the master's exit code when all ended cleanly, else the first failing node's.
 */
function clusterState(nodes) {
    const ended = nodes.map((s, rank) => ({ s, rank })).filter((x) => x.s.state === 'ended');
    const interrupted = ended.find((x) => x.s.interrupted);
    if (interrupted) {
        const reclaimed = ended.some((x) => x.s.reclaimed);
        return { state: 'ended', interrupted: true, ...(reclaimed ? { reclaimed: true } : {}), reason: `node ${interrupted.rank}: ${interrupted.s.reason ?? 'interrupted'}` };
    }
    if (ended.length < nodes.length)
        return { state: 'running' };
    const bad = ended.find((x) => x.s.lost || (x.s.exitCode ?? 1) !== 0);
    if (!bad)
        return { state: 'ended', exitCode: 0 };
    return {
        state: 'ended',
        ...(bad.s.exitCode !== undefined ? { exitCode: bad.s.exitCode } : {}),
        ...(ended.some((x) => x.s.lost) ? { lost: true } : {}),
        reason: `node ${bad.rank}: ${bad.s.reason ?? `exited with ${bad.s.exitCode}`}`
    };
}
class AwsClusterHandle {
    d;
    nodes;
    lastReadAt = -Infinity;
    cancelAt = new Map();
    hardCancelled = new Set();
    released = false;
    constructor(d) {
        this.d = d;
        this.nodes = d.machines.map(() => ({ state: 'running' }));
    }
    get machine() {
        return this.d.machines[0];
    }
    get machines() {
        return this.d.machines;
    }
    get ids() {
        return this.d.machines.map((m) => m.id);
    }
    async poll() {
        return clusterState(await this.pollNodes());
    }
    async pollNodes() {
        if (this.nodes.every((s) => s.state === 'ended'))
            return this.nodes;
        const now = this.d.now();
        const interval = Math.max(this.d.pollMinIntervalMs, this.d.pollMinIntervalMs > 0 ? adaptiveIntervalMs(now - this.d.sentAt, 2000, cluster_handle_SLOWEST_POLL_MS) : 0);
        if (this.cancelAt.size === 0 && now - this.lastReadAt < interval)
            return this.nodes;
        this.lastReadAt = now;
        let invs;
        let insts;
        try {
            invs = new Map();
            for (const commandId of new Set(this.d.commandIds))
                for (const [id, inv] of await listInvocations(this.d.ssm, commandId))
                    invs.set(id, inv);
            insts = await describeInstances(this.d.ec2, this.ids);
        }
        catch (e) {
            if (isRetryable(e))
                return this.nodes;
            return rethrowExpired(e, this.d.credentialsSince, this.d.now(), `watching the ${this.ids.length} nodes`, this.ids[0]);
        }
        const next = [];
        for (const [rank, id] of this.ids.entries()) {
            const before = this.nodes[rank];
            if (before.state === 'ended') {
                next.push(before);
                continue;
            }
            let inv = invs.get(id);
            // the stderr tail of a failed node (ListCommandInvocations has no stderr): one read, once
            if (inv?.status === 'Failed')
                inv = (await getInvocation(this.d.ssm, this.d.commandIds[rank], id).catch(() => undefined)) ?? inv;
            const inst = insts.get(id);
            let state = execState(inv, inst, inst ? isSpotInterruption(inst) : false);
            if (state.state === 'running' && !inv && this.d.now() - this.d.sentAt > cluster_handle_INVOCATION_APPEAR_MS)
                state = { state: 'ended', lost: true, reason: `the SSM command ${this.d.commandIds[rank]} never appeared on ${id}` };
            next.push(state);
        }
        this.nodes = next;
        await this.hardCancelOverdue();
        return this.nodes;
    }
    /** CancelCommand on the nodes whose runner did not stop within the grace period of a cancel */
    async hardCancelOverdue() {
        const overdue = [...this.cancelAt].filter(([rank, at]) => this.nodes[rank]?.state === 'running' && !this.hardCancelled.has(rank) && this.d.now() - at >= this.d.cancelGraceSec * 1000).map(([rank]) => rank);
        if (overdue.length === 0)
            return;
        for (const r of overdue)
            this.hardCancelled.add(r);
        this.d.log(`the runner of node(s) ${overdue.join(', ')} did not stop within ${this.d.cancelGraceSec} s: cancelling the SSM command there`);
        await this.cancelCommands(overdue).catch((e) => this.d.log(`CancelCommand failed: ${e.message}`));
    }
    /** CancelCommand on the nodes `ranks`, per bootstrap command (each holds at most 50 nodes) */
    async cancelCommands(ranks) {
        const byCommand = new Map();
        for (const r of ranks) {
            const c = this.d.commandIds[r];
            byCommand.set(c, [...(byCommand.get(c) ?? []), this.ids[r]]);
        }
        for (const [commandId, ids] of byCommand)
            await cancelCommandOn(this.d.ssm, commandId, ids);
    }
    /** SIGTERM to the runners of `ranks` (all nodes when not given) through one small command */
    async cancel(reason, ranks) {
        const want = (ranks ?? this.ids.map((_, r) => r)).filter((r) => r >= 0 && r < this.ids.length && this.nodes[r]?.state !== 'ended' && !this.cancelAt.has(r));
        if (want.length === 0)
            return;
        for (const r of want)
            this.cancelAt.set(r, this.d.now());
        this.d.log(`stopping the runner on ${want.length === this.ids.length ? `all ${want.length} nodes` : `node(s) ${want.join(', ')}`}: ${reason}`);
        for (const batch of inBatches(want)) {
            try {
                await sendCommand(this.d.ssm, {
                    DocumentName: 'AWS-RunShellScript',
                    InstanceIds: batch.map((r) => this.ids[r]),
                    TimeoutSeconds: 30,
                    Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
                    Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
                });
            }
            catch (e) {
                this.d.log(`could not send the stop command (${errorCode(e)}); cancelling the SSM command`);
                for (const r of batch)
                    this.hardCancelled.add(r);
                await this.cancelCommands(batch).catch(() => undefined);
            }
        }
    }
    async release() {
        await releaseCluster(this.d.resources, { now: this.d.now, sleep: this.d.sleep, credentialsSince: this.d.credentialsSince, log: this.released ? () => undefined : this.d.log });
        this.released = true;
    }
}
/**
 * Terminate every instance, wait until they are gone, then delete the placement groups, the
 * security groups and the secret parameters. Idempotent. Every step runs even when an earlier one
 * failed; the first error is thrown at the end (a credentials error as ExpiredCredentialsError).
 */
async function releaseCluster(all, d) {
    let first;
    const note = (e) => {
        first ??= e;
        d.log(`release: ${e.message}`);
    };
    for (const r of all) {
        const del = { sleep: d.sleep, now: d.now, timeoutMs: RELEASE_WAIT_SEC * 1000 };
        if (r.instanceIds.length) {
            await terminateAll(r.ec2, r.instanceIds).then(() => d.log(`terminated ${r.instanceIds.join(', ')}`), note);
            await waitTerminated(r.instanceIds, (ids) => describeInstances(r.ec2, ids), del).catch(note);
        }
        for (const pg of r.placementGroups)
            await deletePlacementGroup(r.ec2, pg, del).then(() => d.log(`deleted placement group ${pg}`), note);
        for (const sg of r.securityGroups)
            await deleteSecurityGroup(r.ec2, sg, del).then(() => d.log(`deleted security group ${sg}`), note);
        for (const p of r.secretParameters)
            await deleteSecretParameter(r.ssm, p).catch(note);
    }
    if (first !== undefined)
        rethrowExpired(first, d.credentialsSince, d.now(), 'releasing the cluster');
}
/** TerminateInstances for all; when EC2 no longer knows one of them (the whole call fails then), one by one */
async function terminateAll(ec2, ids) {
    try {
        await ec2.send(new client_ec2_dist_cjs/* TerminateInstancesCommand */.NaF({ InstanceIds: ids }));
    }
    catch (e) {
        if (errorCode(e) !== 'InvalidInstanceID.NotFound')
            throw e;
        for (const id of ids)
            await terminate(ec2, [id]);
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-launch-input.ts
/**
 * Pure: the RunInstances input of one node group of a cluster: `MinCount = MaxCount = nodes`
 * (all or nothing), in the attempt's cluster placement group and zone, with the cluster's
 * security group, and EFA network interfaces when the type has them.
 *
 * EFA (`efa` option, default `auto`, like dstack: "EFA is automatically enabled when using
 * supported instance types"): `auto` gives an EFA-capable type one EFA interface (`InterfaceType:
 * efa`, the primary interface, so the instance keeps its public address in a public subnet);
 * `all` gives it every EFA interface it can have (card 0 `efa`, the other cards `efa-only`), which
 * AWS allows only without a public address: it needs `subnet-ids` of private subnets with a NAT
 * gateway or VPC endpoints; `off` never attaches EFA.
 */


const EFA_MODES = ['auto', 'all', 'off'];
/** tags a cluster's instances carry besides the usual ones (the post step finds the cluster's resources by them) */
const CLUSTER_TAG = { nodes: 'dstack:nodes', placementGroup: 'dstack:placement-group', securityGroup: 'dstack:security-group', group: 'dstack:node-group' };
/** Pure: how many EFA interfaces a node of this candidate gets */
function efaInterfaceCount(mode, c) {
    if (mode === 'off' || !c.efaInterfaces)
        return 0;
    return mode === 'all' ? c.efaInterfaces : 1;
}
/** Pure: the NetworkInterfaces of a node with `count` EFA interfaces (one per network card) */
function efaNetworkInterfaces(count, subnetId, groups, publicIp) {
    const common = { ...(subnetId ? { SubnetId: subnetId } : {}), Groups: groups, DeleteOnTermination: true };
    const out = [{ DeviceIndex: 0, NetworkCardIndex: 0, InterfaceType: 'efa', ...(publicIp === false ? { AssociatePublicIpAddress: false } : {}), ...common }];
    // the other network cards: EFA-only interfaces (device index 0 of their card), kept for GPU-to-GPU traffic
    for (let card = 1; card < count; card++)
        out.push({ DeviceIndex: 0, NetworkCardIndex: card, InterfaceType: 'efa-only', ...common });
    return out;
}
/** ≤ 64 ASCII chars, unique per (attempt, group, slot, placement group): a retried call cannot launch the group twice */
function clusterClientToken(ctx, c, groupIndex, count, placementGroup) {
    const h = (0,external_node_crypto_.createHash)('sha256').update([ctx.repoId, ctx.runName, ctx.attempt, 'cluster', groupIndex, count, placementGroup, c.region, c.instanceType, c.zone, c.subnetId ?? '', c.market].join('|')).digest('hex');
    return `dstack-${h.slice(0, 48)}`;
}
function clusterRunInstancesInput(ctx, g, net) {
    const tags = {
        ...ctx.tags,
        [CLUSTER_TAG.nodes]: String(g.nodes),
        [CLUSTER_TAG.placementGroup]: net.placementGroup,
        ...(net.createdSecurityGroup ? { [CLUSTER_TAG.securityGroup]: net.createdSecurityGroup } : {}),
        ...(g.groupName ? { [CLUSTER_TAG.group]: g.groupName } : {})
    };
    const base = runInstancesInput({ ...ctx, tags, securityGroupIds: net.securityGroupIds }, g.candidate);
    const { SubnetId: _subnet, SecurityGroupIds, Placement: _placement, NetworkInterfaces: plain, ...rest } = base;
    const SubnetId = g.candidate.subnetId;
    const efa = efaInterfaceCount(net.efa, g.candidate);
    return {
        ...rest,
        MinCount: g.count,
        MaxCount: g.count,
        ClientToken: clusterClientToken(ctx, g.candidate, g.groupIndex, g.count, net.placementGroup),
        Placement: { AvailabilityZone: g.candidate.zone, GroupName: net.placementGroup },
        // with NetworkInterfaces, the subnet and security groups belong to the interfaces
        ...(efa > 0 ? { NetworkInterfaces: efaNetworkInterfaces(efa, SubnetId, net.securityGroupIds, ctx.publicIp) } : plain ? { NetworkInterfaces: plain } : { ...(SubnetId ? { SubnetId } : {}), ...(SecurityGroupIds ? { SecurityGroupIds } : {}) })
    };
}
/**
 * `dstack-<run>-<attempt>-<zone>-<hash of repo>`: the attempt's cluster placement group in one zone
 * (names are unique per account and region, and two repositories may have runs of the same name)
 */
function placementGroupName(repoId, runName, attempt, zone) {
    const h = (0,external_node_crypto_.createHash)('sha256').update(repoId).digest('hex').slice(0, 8);
    return `dstack-${runName}-${attempt}-${zone}-${h}`.slice(0, 255);
}
/** `dstack-<run>-<attempt>-<hash of repo, region, vpc>`: the attempt's own security group */
function securityGroupName(repoId, runName, attempt, region, vpcId) {
    const h = (0,external_node_crypto_.createHash)('sha256').update([repoId, region, vpcId ?? 'default'].join('|')).digest('hex').slice(0, 8);
    return `dstack-${runName}-${attempt}-${h}`.slice(0, 255);
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-release.ts
/**
 * The post step's release of one recorded node of a multi-node attempt. The post step releases
 * every recorded node in turn, each after its runner saved what it made, so releasing a node
 * terminates that node only; the release of the last node of the attempt still running (found by
 * the attempt's tags) also deletes every placement group and security group the attempt created
 * (found by the same tags) and the nodes' secret env parameters, once the instances are terminated.
 */





/** Pure: the EC2 filters that find what one attempt created */
function attemptFilters(tags) {
    const run = tags[TAG.run];
    const repo = tags[TAG.repo];
    const attempt = tags[TAG.attempt];
    if (!run || !repo || !attempt)
        return undefined;
    return [
        { Name: `tag:${TAG.run}`, Values: [run] },
        { Name: `tag:${TAG.repo}`, Values: [repo] },
        { Name: `tag:${TAG.attempt}`, Values: [attempt] }
    ];
}
function isClusterNode(tags) {
    return Boolean(tags[CLUSTER_TAG.placementGroup]);
}
async function releaseRecordedCluster(region, ec2, ssm, tags, instanceId, d) {
    const filters = attemptFilters(tags);
    if (!filters)
        return;
    const instances = [];
    const live = { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] };
    let token;
    do {
        const page = await ec2.send(new client_ec2_dist_cjs/* DescribeInstancesCommand */.bNs({ Filters: [...filters, live], MaxResults: 1000, ...(token ? { NextToken: token } : {}) }));
        token = page.NextToken;
        for (const r of page.Reservations ?? [])
            for (const i of r.Instances ?? [])
                if (i.InstanceId)
                    instances.push({ id: i.InstanceId, state: i.State?.Name ?? 'unknown' });
    } while (token);
    const running = instances.filter((i) => i.id !== instanceId && i.state !== 'shutting-down');
    if (running.length) {
        d.log(`${running.length} other node(s) of the attempt still run (${running.map((i) => i.id).join(', ')}): its placement and security groups go with the last one`);
        return;
    }
    const pgs = await ec2.send(new client_ec2_dist_cjs/* DescribePlacementGroupsCommand */.aEf({ Filters: filters }));
    const sgs = await ec2.send(new client_ec2_dist_cjs/* DescribeSecurityGroupsCommand */.jsQ({ Filters: filters }));
    const nodes = Number(tags[CLUSTER_TAG.nodes]);
    const base = secretParameterName(tags[TAG.repo], tags[TAG.run], Number(tags[TAG.attempt]));
    await releaseCluster([{
            region,
            ec2,
            ssm,
            instanceIds: [...new Set([instanceId, ...instances.map((i) => i.id)])],
            placementGroups: (pgs.PlacementGroups ?? []).map((g) => g.GroupName).filter(Boolean),
            securityGroups: (sgs.SecurityGroups ?? []).map((g) => g.GroupId).filter(Boolean),
            secretParameters: Number.isSafeInteger(nodes) && nodes > 0 ? Array.from({ length: nodes }, (_, rank) => nodeSecretParameterName(base, rank)) : []
        }], { ...d, credentialsSince: d.now() });
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-plan.ts
/** Pure: the node groups of a multi-node spec (its `groups`, or one group of `nodes`), with their ranks */
function nodeGroups(spec) {
    if (!spec.groups?.length)
        return [{ nodes: spec.nodes, resources: spec.resources, firstRank: 0 }];
    const out = [];
    let rank = 0;
    for (const g of spec.groups) {
        if (!Number.isSafeInteger(g.nodes) || g.nodes < 1)
            throw new Error(`node group ${JSON.stringify(g.name)} has ${g.nodes} nodes`);
        out.push({ name: g.name, nodes: g.nodes, resources: g.resources ?? spec.resources, firstRank: rank });
        rank += g.nodes;
    }
    if (rank !== spec.nodes)
        throw new Error(`the node groups add up to ${rank} nodes, but the task has nodes: ${spec.nodes}`);
    return out;
}
const where = (c) => `${c.region}|${c.zone}|${c.subnetId ?? ''}|${c.market}`;
/** how many of each group's cheapest types at one location are combined (bounds the product) */
const TYPES_PER_GROUP = 3;
/**
 * Pure: every cluster candidate, cheapest first within each market (spot first, or on-demand
 * first when `preferOnDemand`). `perGroup[i]` is group i's ranked single-node candidates; a
 * location counts only when every group has a type there, in the same market.
 */
function clusterCandidates(groups, perGroup, o) {
    if (groups.length !== perGroup.length)
        throw new Error('clusterCandidates: one candidate list per node group');
    const byWhere = perGroup.map((list) => {
        const m = new Map();
        for (const c of list)
            m.set(where(c), [...(m.get(where(c)) ?? []), c]);
        return m;
    });
    const out = [];
    for (const [key, first] of byWhere[0] ?? new Map()) {
        const options = byWhere.map((m, i) => (i === 0 ? first : m.get(key) ?? []).slice(0, groups.length > 1 ? TYPES_PER_GROUP : undefined));
        if (options.some((o) => o.length === 0))
            continue;
        for (const combo of product(options)) {
            const members = combo.map((candidate, i) => ({ group: groups[i], candidate }));
            const known = members.every((m) => m.candidate.pricePerHour !== undefined);
            const c0 = combo[0];
            out.push({
                region: c0.region,
                zone: c0.zone,
                ...(c0.subnetId ? { subnetId: c0.subnetId } : {}),
                market: c0.market,
                members,
                ...(known ? { pricePerHour: round6(members.reduce((s, m) => s + m.candidate.pricePerHour * m.group.nodes, 0)) } : {}),
                vcpus: members.reduce((s, m) => s + m.candidate.vcpus * m.group.nodes, 0),
                nodes: members.reduce((s, m) => s + m.group.nodes, 0)
            });
        }
    }
    const byPrice = (a, b) => (a.pricePerHour ?? Infinity) - (b.pricePerHour ?? Infinity) || describeCluster(a).localeCompare(describeCluster(b));
    const spot = out.filter((c) => c.market === 'spot').sort(byPrice);
    const od = out.filter((c) => c.market === 'on-demand').sort(byPrice);
    return o.preferOnDemand ? [...od, ...spot] : [...spot, ...od];
}
function product(lists) {
    return lists.reduce((acc, list) => acc.flatMap((prefix) => list.map((x) => [...prefix, x])), [[]]);
}
function round6(n) {
    return Math.round(n * 1e6) / 1e6;
}
/** `2 × g5.12xlarge spot in us-east-1a at $3.4000/h`, or with groups `head: 1 × g5.xlarge + workers: 2 × … spot in …` */
function describeCluster(c) {
    const parts = c.members.map((m) => `${m.group.name ? `${m.group.name}: ` : ''}${m.group.nodes} × ${m.candidate.instanceType}`);
    const price = c.pricePerHour === undefined ? 'price unknown' : `$${c.pricePerHour.toFixed(4)}/h`;
    return `${parts.join(' + ')} ${c.market} in ${c.zone}${c.subnetId ? ` (${c.subnetId})` : ''} at ${price}`;
}
/** the (type, zone, subnet, market) of a member, for remembering what had no capacity */
function slotKey(c) {
    return `${c.instanceType}|${where(c)}`;
}

;// CONCATENATED MODULE: ./src/backends/aws/launch.ts
/**
 * Launching one candidate, and the message when none could be launched.
 *
 * RunInstances, one candidate at a time in our ranked order, rather than CreateFleet (instant,
 * price-capacity-optimized): the order is deterministic and explainable (cheapest first, spot
 * before on-demand, on-demand first after an interruption), every candidate gets its own error
 * code that we classify (quota vs capacity vs price), and a failure can never leave a partial
 * fleet. CreateFleet would answer HTTP 200 with per-override Errors[] and pick among overrides
 * itself; its better spot placement matters less for a single instance than clear errors do.
 * The client has maxAttempts 1 (clients.ts): we retry only throttling/5xx, with jittered backoff.
 */





/** One candidate: RunInstances, retrying throttling/5xx with backoff (same ClientToken, so no double launch). */
async function launchOne(ec2, input, d) {
    const r = await launchInstances(ec2, input, d);
    return r.ok ? { ok: true, instanceId: r.instances[0].id, ...(r.ownerId ? { ownerId: r.ownerId } : {}) } : r;
}
/**
 * RunInstances for `MinCount` instances or none (a cluster's node group), in launch order;
 * retries throttling/5xx like launchOne.
 */
async function launchInstances(ec2, input, d) {
    for (let attempt = 0;; attempt++) {
        try {
            const out = await ec2.send(new client_ec2_dist_cjs/* RunInstancesCommand */.zq7(input));
            const instances = (out.Instances ?? [])
                .filter((i) => i.InstanceId)
                .map((i, k) => ({ id: i.InstanceId, ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}), launchIndex: i.AmiLaunchIndex ?? k }))
                .sort((a, b) => a.launchIndex - b.launchIndex);
            if (instances.length === 0)
                return { ok: false, error: { kind: 'other', code: 'NoInstance', message: 'RunInstances returned no instance' } };
            return { ok: true, instances, ...(out.OwnerId ? { ownerId: out.OwnerId } : {}) };
        }
        catch (e) {
            const c = classifyLaunchError(e);
            if (c.kind !== 'retry' || attempt >= d.retries)
                return { ok: false, error: c };
            const ms = backoffMs(attempt, d.random);
            d.log(`${c.code} from RunInstances; retrying in ${(ms / 1000).toFixed(1)} s (${attempt + 1}/${d.retries})`);
            await sleepOrAbort(d.sleep, ms, d.signal);
            if (d.signal.aborted)
                return { ok: false, error: { kind: 'other', code: 'Cancelled', message: 'cancelled' } };
        }
    }
}
/** Pure: the NoCapacityError message: every candidate with its error, then what to change. */
function noCapacityMessage(tried, o) {
    const lines = tried.map((t) => `  - ${t.label ?? describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : `${t.code}: ${t.message}`}`);
    const hints = new Set();
    for (const t of tried) {
        if (t.skipped)
            continue;
        const q = quotaFor(t.candidate.instanceType);
        const region = t.candidate.region;
        const need = Math.max(t.candidate.vcpus, 4);
        if (t.code === 'MaxSpotInstanceCountExceeded') {
            hints.add(q.spot
                ? `raise the spot vCPU quota "${q.spot.name}" (${q.spot.code}) in ${region} to at least ${need}: ${quotaConsoleUrl(q.spot.code, region)} or ${quotaIncreaseCommand(q.spot.code, region, need)}`
                : `raise the ${q.group} spot vCPU quota in ${region} (Service Quotas, service ec2)`);
            if (o.spotPolicy === 'spot')
                hints.add('or allow on-demand: spot_policy: auto');
        }
        else if (t.code === 'VcpuLimitExceeded' || t.code === 'InstanceLimitExceeded') {
            hints.add(q.onDemand
                ? `raise the on-demand vCPU quota "${q.onDemand.name}" (${q.onDemand.code}) in ${region} to at least ${need}: ${quotaConsoleUrl(q.onDemand.code, region)} or ${quotaIncreaseCommand(q.onDemand.code, region, need)}`
                : `raise the ${q.group} on-demand vCPU quota in ${region} (Service Quotas, service ec2)`);
        }
        else if (t.code === 'SpotMaxPriceTooLow') {
            hints.add(`max_price ${o.maxPrice ?? ''} USD/h is below the current spot price: raise max_price or remove it (AWS recommends no max price)`);
        }
        else {
            hints.add('allow more instance types, zones or regions (instance_types, availability_zones, regions, or more subnets), or retry later');
            if (o.spotPolicy === 'spot')
                hints.add('use spot_policy: auto so on-demand can be used when spot has no capacity');
        }
    }
    return `could not launch any of ${tried.length} candidate(s):\n${lines.join('\n')}\nWhat to change:\n${[...hints].map((h) => `  - ${h}`).join('\n')}`;
}
function noCapacityError(tried, o) {
    return new model/* NoCapacityError */.Iv(noCapacityMessage(tried, o), tried.map((t) => `${t.label ?? describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : t.code}`));
}
/** Every candidate was stopped by a vCPU quota: retrying cannot help until the quota is raised. */
class QuotaError extends model/* UserError */.yo {
    constructor(message) {
        super(message, 'raise the quota named above (new accounts start at 0 vCPUs for GPU instances), then run again');
        this.name = 'QuotaError';
    }
}
/** kinds that can go away by themselves: worth retrying the whole attempt later */
const TRANSIENT_KINDS = ['capacity', 'price', 'unsupported', 'retry'];
/**
 * Pure: the error of a start in which no candidate launched. Capacity (and price, and a spot
 * instance reclaimed before it came Online) can change by itself → NoCapacityError, which the
 * default retry policy retries. When only quotas stood in the way → QuotaError (never retried).
 * Anything else → a UserError with the list.
 */
function launchFailure(tried, o) {
    const failed = tried.filter((t) => !t.skipped);
    if (failed.some((t) => TRANSIENT_KINDS.includes(t.kind ?? classifyLaunchError({ name: t.code }).kind)))
        return noCapacityError(tried, o);
    const message = noCapacityMessage(tried, o);
    if (failed.length > 0 && failed.every((t) => ['spot-quota', 'on-demand-quota'].includes(t.kind ?? classifyLaunchError({ name: t.code }).kind)))
        return new QuotaError(message.replace(/^could not launch/, 'vCPU quotas stopped every launch: could not launch'));
    return new model/* UserError */.yo(message);
}

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-sts/dist-cjs/index.js
var client_sts_dist_cjs = __webpack_require__(71695);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-iam/dist-cjs/index.js
var client_iam_dist_cjs = __webpack_require__(16764);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-service-quotas/dist-cjs/index.js
var client_service_quotas_dist_cjs = __webpack_require__(72924);
// EXTERNAL MODULE: ./src/backends/aws/check-rows.ts
var check_rows = __webpack_require__(61269);
;// CONCATENATED MODULE: ./src/backends/aws/preflight.ts
/**
 * Preflight: what a first run on a new account trips over, checked in seconds before anything is
 * launched (and by `dstack-run check --backend aws` / `mode: check`). Each check is one row with
 * what it found and, when it fails, what to change. A check the CI role may not perform (an older
 * policy without the read permission) is a warning, never a failure.
 */







const DENIED = /AccessDenied|UnauthorizedOperation|NotAuthorized/;
function denied(check, e, permission) {
    return { check, status: 'warn', detail: `not verified: ${errorCode(e)}`, fix: `allow ${permission} to the CI role to have this checked (examples/iam/ci-role-policy.json)` };
}
/**
 * A check that failed for a reason other than what it checks (a simulator error, a throttled or
 * unknown call…): a warning row, never a stack trace; the run goes on and the launch itself says
 * what is wrong if something is.
 */
function couldNotCheck(check, e, fix) {
    // an emulator's or proxy's error can be a whole HTML page: its first line, bounded
    const why = `${errorCode(e)}: ${errorMessage(e)}`.split('\n')[0].slice(0, 200);
    return { check, status: 'warn', detail: `could not check: ${why} (${fix})` };
}
/** the context real AWS gives iam:PassRole when RunInstances passes an instance profile's role */
const PASSED_TO_EC2 = [{ ContextKeyName: 'iam:PassedToService', ContextKeyValues: ['ec2.amazonaws.com'], ContextKeyType: 'string' }];
/** credentials and region: whose they are (GetCallerIdentity needs no permission) */
async function checkCredentials(sts, region) {
    try {
        const me = await sts.send(new client_sts_dist_cjs/* GetCallerIdentityCommand */.zI({}));
        return { row: { check: 'credentials', status: 'ok', detail: `${me.Arn ?? '?'} (account ${me.Account ?? '?'}) in ${region}` }, arn: me.Arn, account: me.Account };
    }
    catch (e) {
        return {
            row: {
                check: 'credentials',
                status: 'fail',
                detail: `${errorCode(e)}: ${errorMessage(e)}`,
                fix: 'configure AWS credentials for the job (aws-actions/configure-aws-credentials with role-to-assume and permissions: id-token: write), and a region (the `region` input, `--aws-region` for the CLI, or AWS_REGION)'
            }
        };
    }
}
/**
 * Pure: `arn:aws:sts::123:assumed-role/Name/session` → `arn:aws:iam::123:role/Name`, a guess at what
 * IAM simulates: an assumed-role ARN does not carry the role's path. IAM Identity Center (SSO) roles
 * (`AWSReservedSSO_…`) live under `/aws-reserved/sso.amazonaws.com/`; other paths need iam:GetRole
 * (roleArnOf).
 */
function principalArn(callerArn) {
    const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
    if (!m)
        return callerArn;
    const path = m[3].startsWith('AWSReservedSSO_') ? 'aws-reserved/sso.amazonaws.com/' : '';
    return `arn:${m[1]}:iam::${m[2]}:role/${path}${m[3]}`;
}
/** the role name of an assumed-role ARN, or undefined for another principal */
function assumedRoleName(callerArn) {
    return /^arn:[^:]+:sts::\d+:assumed-role\/([^/]+)\/.+$/.exec(callerArn)?.[1];
}
/** the CI principal's real ARN (with the role's path, from iam:GetRole); the guess of principalArn when GetRole is not allowed */
async function roleArnOf(iam, callerArn) {
    const name = assumedRoleName(callerArn);
    if (!name)
        return callerArn;
    try {
        const out = await iam.send(new client_iam_dist_cjs/* GetRoleCommand */.kbp({ RoleName: name }));
        return out.Role?.Arn ?? principalArn(callerArn);
    }
    catch {
        return principalArn(callerArn);
    }
}
/**
 * The instance profile exists, has a role, and the CI principal may pass that role; returns the
 * role it found (for checkInstanceRole).
 */
async function checkInstanceProfile(iam, profile, callerArn) {
    const check = 'instance profile';
    if (!profile) {
        return { rows: [{ check, status: 'warn', detail: 'none given', fix: 'set `instance-profile` to a profile whose role has AmazonSSMManagedInstanceCore and access to the store (examples/iam/instance-role-policy.json); without one the instance cannot register with SSM unless Default Host Management is set up' }] };
    }
    // the caller's role (iam:GetRole) does not wait for the profile's: both are on the way to the simulation
    const principalOf = Promise.resolve(callerArn).then((arn) => (arn ? roleArnOf(iam, arn) : undefined));
    principalOf.catch(() => undefined); // awaited below, when the profile has a role
    const name = profile.startsWith('arn:') ? profile.split('/').pop() : profile;
    let roleArn;
    try {
        const out = await iam.send(new client_iam_dist_cjs/* GetInstanceProfileCommand */.Qa4({ InstanceProfileName: name }));
        roleArn = out.InstanceProfile?.Roles?.[0]?.Arn;
        if (!roleArn)
            return { rows: [{ check, status: 'fail', detail: `${name} has no role`, fix: `add the instance role to it: aws iam add-role-to-instance-profile --instance-profile-name ${name} --role-name <role>` }] };
    }
    catch (e) {
        if (errorCode(e) === 'NoSuchEntity' || errorCode(e) === 'NoSuchEntityException')
            return { rows: [{ check, status: 'fail', detail: `${name} does not exist`, fix: `create it: aws iam create-instance-profile --instance-profile-name ${name}, then add the instance role (examples/iam/README.md)` }] };
        if (DENIED.test(errorCode(e)))
            return { rows: [denied(check, e, 'iam:GetInstanceProfile')] };
        return { rows: [couldNotCheck(check, e, `check that the instance profile ${name} exists: aws iam get-instance-profile --instance-profile-name ${name}`)] };
    }
    const rows = [{ check, status: 'ok', detail: `${name} → ${roleArn}` }];
    const passCheck = 'pass the instance role';
    try {
        const principal = await principalOf;
        if (!principal)
            return { rows, roleArn };
        // RunInstances passes the role to EC2: real AWS evaluates PassRole with iam:PassedToService
        const sim = await iam.send(new client_iam_dist_cjs/* SimulatePrincipalPolicyCommand */.kUw({ PolicySourceArn: principal, ActionNames: ['iam:PassRole'], ResourceArns: [roleArn], ContextEntries: PASSED_TO_EC2 }));
        const decision = sim.EvaluationResults?.[0]?.EvalDecision ?? 'unknown';
        rows.push(decision === 'allowed'
            ? { check: passCheck, status: 'ok', detail: `iam:PassRole on ${roleArn} to ec2.amazonaws.com is allowed for ${principal}` }
            : { check: passCheck, status: 'fail', detail: `iam:PassRole on ${roleArn} to ec2.amazonaws.com: ${decision} for ${principal}`, fix: `allow iam:PassRole on ${roleArn} (condition iam:PassedToService = ec2.amazonaws.com) to the CI role` });
    }
    catch (e) {
        if (DENIED.test(errorCode(e)))
            rows.push(denied(passCheck, e, 'iam:SimulatePrincipalPolicy (and iam:GetRole on the CI role)'));
        else
            rows.push(couldNotCheck(passCheck, e, 'the IAM policy simulator could not evaluate the CI role; the launch will say whether PassRole is allowed'));
    }
    return { rows, roleArn };
}
/** subnets, security groups and key pair exist in this region; a default VPC when no subnets are given */
async function checkNetwork(ec2, region, n) {
    const rows = [];
    const missing = (what, e, fix) => ({ check: `${what} in ${region}`, status: 'fail', detail: `${errorCode(e)}: ${errorMessage(e)}`, fix });
    if (n.subnetIds.length) {
        try {
            const out = await ec2.send(new client_ec2_dist_cjs/* DescribeSubnetsCommand */.jSW({ SubnetIds: n.subnetIds }));
            rows.push({ check: `subnets in ${region}`, status: 'ok', detail: (out.Subnets ?? []).map((s) => `${s.SubnetId} (${s.AvailabilityZone}, ${s.AvailableIpAddressCount ?? '?'} free addresses)`).join(', ') });
        }
        catch (e) {
            if (DENIED.test(errorCode(e)))
                rows.push(denied(`subnets in ${region}`, e, 'ec2:DescribeSubnets'));
            else
                rows.push(missing('subnets', e, `\`subnet-ids\` must name subnets of ${region}`));
        }
    }
    else {
        try {
            const out = await ec2.send(new client_ec2_dist_cjs/* DescribeVpcsCommand */.Dti({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
            const vpc = out.Vpcs?.[0]?.VpcId;
            rows.push(vpc
                ? { check: `default VPC in ${region}`, status: 'ok', detail: vpc }
                : { check: `default VPC in ${region}`, status: 'fail', detail: 'this region has no default VPC, and no subnets were given', fix: `set \`subnet-ids\` to subnets of ${region} with outbound HTTPS, or create a default VPC: aws ec2 create-default-vpc --region ${region}` });
        }
        catch (e) {
            if (DENIED.test(errorCode(e)))
                rows.push(denied(`default VPC in ${region}`, e, 'ec2:DescribeVpcs'));
            else
                rows.push(couldNotCheck(`default VPC in ${region}`, e, `is ${region} enabled for this account? aws ec2 describe-vpcs --region ${region}`));
        }
    }
    if (n.securityGroupIds.length) {
        try {
            await ec2.send(new client_ec2_dist_cjs/* DescribeSecurityGroupsCommand */.jsQ({ GroupIds: n.securityGroupIds }));
            rows.push({ check: `security groups in ${region}`, status: 'ok', detail: n.securityGroupIds.join(', ') });
        }
        catch (e) {
            if (DENIED.test(errorCode(e)))
                rows.push(denied(`security groups in ${region}`, e, 'ec2:DescribeSecurityGroups'));
            else
                rows.push(missing('security groups', e, `security groups belong to one region: give ${region}'s own in \`security-group-ids\`, or launch in one region only`));
        }
    }
    if (n.keyName) {
        try {
            await ec2.send(new client_ec2_dist_cjs/* DescribeKeyPairsCommand */.DRu({ KeyNames: [n.keyName] }));
            rows.push({ check: `key pair in ${region}`, status: 'ok', detail: n.keyName });
        }
        catch (e) {
            if (DENIED.test(errorCode(e)))
                rows.push(denied(`key pair in ${region}`, e, 'ec2:DescribeKeyPairs'));
            else
                rows.push(missing('key pair', e, `key pairs belong to one region: import ${n.keyName} into ${region}, or launch in one region only`));
        }
    }
    return rows;
}
/** group + market of a candidate → its Service Quotas code */
function quotaCode(c) {
    const q = quotaFor(c.instanceType);
    return c.market === 'spot' ? q.spot : q.onDemand;
}
/** each quota read from Service Quotas at once (one round trip for all), one row each in `wanted`'s order; a quota that cannot be read has no limit */
async function readQuotas(quotas, wanted) {
    const read = await Promise.all([...wanted].map(async ([key, w]) => {
        const check = `${w.market} vCPU quota in ${w.region}`;
        const q = w.quota;
        try {
            const out = await quotas(w.region).send(new client_service_quotas_dist_cjs/* GetServiceQuotaCommand */.HSc({ ServiceCode: 'ec2', QuotaCode: q.code }));
            const value = out.Quota?.Value;
            const row = value === undefined
                ? { check, status: 'warn', detail: `${q.name} (${q.code}): no value` }
                : value < w.smallest
                    ? { check, status: 'fail', detail: `${q.name} (${q.code}) is ${value} vCPUs; ${w.needs}`, fix: `request at least ${w.smallest}: ${quotaConsoleUrl(q.code, w.region)}` }
                    : { check, status: 'ok', detail: `${q.name} (${q.code}) is ${value} vCPUs` };
            return { key, value, row };
        }
        catch (e) {
            return { key, value: undefined, row: quotaErrorRow(check, q, w.region, e) };
        }
    }));
    return { rows: read.map((r) => r.row), limits: new Map(read.map((r) => [r.key, r.value])) };
}
function quotaErrorRow(check, q, region, e) {
    if (DENIED.test(errorCode(e)))
        return denied(check, e, 'servicequotas:GetServiceQuota');
    if (errorCode(e) === 'NoSuchResourceException') {
        return { check, status: 'warn', detail: `${q.name} (${q.code}) is not a quota of ${region} (Service Quotas has no such quota there): not checked`, fix: `see the EC2 quotas of ${region}: ${quotaConsoleUrl(q.code, region)}` };
    }
    return couldNotCheck(check, e, `read it yourself: aws service-quotas get-service-quota --service-code ec2 --quota-code ${q.code} --region ${region}`);
}
/**
 * The vCPU quotas the candidates fall under (one per group and market and region), read from
 * Service Quotas; candidates with more vCPUs than their quota are dropped. A quota that cannot be
 * read keeps its candidates (the launch then says what failed).
 */
async function checkQuotas(quotas, candidates) {
    const wanted = new Map();
    for (const c of candidates) {
        const q = quotaCode(c);
        if (!q)
            continue;
        const key = `${c.region}|${q.code}`;
        if (wanted.has(key))
            continue;
        const smallest = Math.min(...candidates.filter((x) => x.region === c.region && quotaCode(x)?.code === q.code).map((x) => x.vcpus));
        wanted.set(key, { region: c.region, market: c.market, quota: q, smallest, needs: `the smallest matching type needs ${smallest}` });
    }
    const { rows, limits } = await readQuotas(quotas, wanted);
    const kept = candidates.filter((c) => {
        const q = quotaCode(c);
        const limit = q ? limits.get(`${c.region}|${q.code}`) : undefined;
        return limit === undefined || c.vcpus <= limit;
    });
    return { rows, kept };
}
/**
 * What the instance itself will need, from its role's own policies (IAM simulation): read and
 * write the store under its prefix, and register with SSM. A warning, not a failure: a bucket
 * policy or KMS key policy can grant or deny what the simulation cannot see.
 */
async function checkInstanceRole(iam, roleArn, bucket, prefix) {
    const check = 'instance role';
    const { read, write } = instanceRoleProbeKeys(bucket, prefix);
    try {
        const s3 = await iam.send(new client_iam_dist_cjs/* SimulatePrincipalPolicyCommand */.kUw({ PolicySourceArn: roleArn, ActionNames: ['s3:GetObject'], ResourceArns: [read] }));
        const put = await iam.send(new client_iam_dist_cjs/* SimulatePrincipalPolicyCommand */.kUw({ PolicySourceArn: roleArn, ActionNames: ['s3:PutObject', 's3:DeleteObject'], ResourceArns: [write] }));
        const ssm = await iam.send(new client_iam_dist_cjs/* SimulatePrincipalPolicyCommand */.kUw({ PolicySourceArn: roleArn, ActionNames: ['ssm:UpdateInstanceInformation'] }));
        const denied = [...(s3.EvaluationResults ?? []), ...(put.EvaluationResults ?? []), ...(ssm.EvaluationResults ?? [])].filter((r) => r.EvalDecision !== 'allowed').map((r) => `${r.EvalActionName} (${r.EvalDecision})`);
        const where = `s3://${bucket}/${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}`;
        if (denied.length === 0)
            return { check, status: 'ok', detail: `${roleArn} may read ${where}, write and delete under its runs/ folders, and register with SSM` };
        return {
            check,
            status: 'warn',
            detail: `${roleArn} is not allowed ${denied.join(', ')} by its own policies (checked on ${read.replace(/^arn:aws:s3:::/, 's3://')} and ${write.replace(/^arn:aws:s3:::/, 's3://')})`,
            fix: 'attach AmazonSSMManagedInstanceCore and examples/iam/instance-role-policy.json (with your bucket and prefix) to the instance role; without them the bootstrap cannot fetch the runner or the instance never comes Online (a bucket or KMS key policy may still grant it)'
        };
    }
    catch (e) {
        if (DENIED.test(errorCode(e)))
            return denied(check, e, 'iam:SimulatePrincipalPolicy on the instance role');
        return couldNotCheck(check, e, 'the IAM policy simulator could not evaluate the instance role; see examples/iam/instance-role-policy.json for what it needs');
    }
}
/**
 * Pure: keys like the ones the instance really reads and writes (the runner script and a status
 * file of an attempt: `<prefix>/<repo>/runs/<run>/attempts/<n>/…`), as S3 object ARNs. A simulation
 * on `<prefix>/*` would not match a policy that grants only the runs/ folders, as the example does.
 */
function instanceRoleProbeKeys(bucket, prefix) {
    const base = `arn:aws:s3:::${bucket}/${prefix ? `${prefix.replace(/\/+$/, '')}/` : ''}dstack-check/repo/runs/check-run/attempts/1/`;
    return { read: `${base}runner.sh`, write: `${base}status.json` };
}
/** the store is reachable and writable under its prefix: put, read back and delete a small object */
async function checkBucket(store, where) {
    const key = `.dstack-check/${(0,external_node_crypto_.randomUUID)()}`;
    try {
        await store.put(key, 'dstack-run check\n', { contentType: 'text/plain' });
        const back = await store.getText(key);
        await store.delete(key);
        if (back !== 'dstack-run check\n')
            return { check: 'store', status: 'fail', detail: `${where}: wrote an object but read back something else`, fix: 'check the bucket policy and any object lambda or lifecycle rule on the prefix' };
        return { check: 'store', status: 'ok', detail: `${where} is writable` };
    }
    catch (e) {
        return {
            check: 'store',
            status: 'fail',
            detail: `${where}: ${errorCode(e)}: ${errorMessage(e)}`,
            fix: 'the CI role and the instance role need s3:GetObject, s3:PutObject, s3:DeleteObject on the prefix and s3:ListBucket on the bucket (examples/iam/); a bucket encrypted with a customer KMS key also needs kms:GenerateDataKey and kms:Decrypt; check the bucket name and region'
        };
    }
}
/** Pure: the vCPUs a cluster needs per quota (`<region>|<code>`): every node counts */
function clusterQuotaNeeds(c) {
    const out = new Map();
    for (const m of c.members) {
        const q = quotaCode(m.candidate);
        if (!q)
            continue;
        const key = `${c.region}|${q.code}`;
        out.set(key, { need: (out.get(key)?.need ?? 0) + m.candidate.vcpus * m.group.nodes, quota: q });
    }
    return out;
}
/**
 * The vCPU quotas of multi-node candidates: a cluster of N nodes needs N × the vCPUs of its type
 * (summed over its node groups when they share a quota). Clusters above a quota are dropped; a
 * quota that cannot be read keeps them (the launch then says what failed).
 */
async function checkClusterQuotas(quotas, clusters) {
    const wanted = new Map();
    const needs = clusters.map((c) => clusterQuotaNeeds(c));
    for (const [i, c] of clusters.entries()) {
        for (const [key, { quota }] of needs[i]) {
            if (wanted.has(key))
                continue;
            const smallest = Math.min(...needs.map((n) => n.get(key)?.need ?? Infinity));
            wanted.set(key, { region: c.region, market: c.market, quota, smallest, needs: `the smallest matching cluster needs ${smallest} (${c.nodes} nodes)` });
        }
    }
    const { rows, limits } = await readQuotas(quotas, wanted);
    const kept = clusters.filter((_, i) => [...needs[i]].every(([key, { need }]) => {
        const limit = limits.get(key);
        return limit === undefined || need <= limit;
    }));
    return { rows, kept };
}

// EXTERNAL MODULE: ./src/report/plain-text.ts
var plain_text = __webpack_require__(6676);
;// CONCATENATED MODULE: ./src/backends/aws/console-output.ts
/**
 * The boot console of an instance that never reached SSM (GetConsoleOutput, Latest): its last lines
 * say why (no network, a failed cloud-init, a kernel panic) when nothing else can.
 */



/** how many lines of the console the error keeps */
const CONSOLE_TAIL_LINES = 40;
/** Pure: the base64 console text → its last `lines` non-empty lines, without control characters, escape sequences or bidi/zero-width characters */
function consoleTail(base64, lines = CONSOLE_TAIL_LINES) {
    const text = Buffer.from(base64, 'base64').toString('utf8');
    // the project's one plain-text rule: every escape sequence (CSI, OSC…), control, bidi and zero-width character dropped
    return (0,plain_text/* terminalSafe */.k)(text.replace(/\r\n?/g, '\n'))
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l.trim() !== '')
        .slice(-lines);
}
/** I/O: the tail of the console, or a sentence saying why there is none; never throws */
async function readConsoleTail(ec2, instanceId, lines = CONSOLE_TAIL_LINES) {
    try {
        const out = await ec2.send(new client_ec2_dist_cjs/* GetConsoleOutputCommand */.Olx({ InstanceId: instanceId, Latest: true }));
        const tail = out.Output ? consoleTail(out.Output, lines) : [];
        if (tail.length === 0)
            return `console output of ${instanceId}: empty (the instance wrote nothing to its console yet)`;
        return [`console output of ${instanceId} (last ${tail.length} lines):`, ...tail.map((l) => `  | ${l}`)].join('\n');
    }
    catch (e) {
        return `console output of ${instanceId}: not available (${errorCode(e)})`;
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/cluster-start.ts
/**
 * Starting a multi-node attempt on EC2 (`spec.nodes > 1`): ranked cluster candidates (one zone,
 * one market, one type per node group) → for each: the attempt's cluster placement group in that
 * zone and its security group → RunInstances per node group with MinCount = MaxCount = its nodes
 * (a group that cannot be launched terminates the groups already launched, and the next cluster
 * is tried) → every node Online in SSM → one SendCommand to all nodes. Nothing launched here
 * outlives a failed start: every instance is terminated, and the groups the attempt created are
 * deleted, before the error is thrown.
 */


















const DELIVERY_TIMEOUT_SEC = 120;
/**
 * The AMIs, the account's preflight, the ranked cluster candidates and their vCPU quotas: what a
 * cluster's launch reads before its first call that creates anything. The AMIs, the preflight and
 * the candidates do not wait for each other (each is a few AWS round trips); their errors still
 * come in that order: AMI, preflight, candidates, quotas.
 */
async function searchClusters(o, spec, f) {
    const preflight = o.preflight ? f.preflightEnvironment(f.regions) : Promise.resolve(f.regions);
    const planned = planAmis(o.clientFactory, f.regions, o.ami, spec.resources);
    const find = (plan, regions) => findClusters(o, spec, { regions, plan, catalog: f.catalog, preferOnDemand: f.preferOnDemand, log: f.log });
    const found = planned.then((p) => find(p, f.regions));
    // the quotas of the clusters found do not wait for the preflight either
    const quotas = (c) => checkClusterQuotas((r) => o.clientFactory.quotas(r), c);
    const quoted = o.preflight ? found.then(quotas) : undefined;
    for (const p of [preflight, found, quoted])
        p?.catch(() => undefined); // awaited below, in order
    const plan = await planned;
    for (const [region, ami] of plan.amis)
        f.log(`AMI ${ami.imageId} (${ami.source}, ${ami.architecture ?? '?'}) in ${region}`);
    const regions = await preflight;
    let clusters;
    let q;
    if (regions.length === f.regions.length) {
        clusters = await found;
        q = await quoted;
    }
    else {
        // a region the preflight left out: its clusters go; none left (or the search failed) → the search of the regions left
        const kept = await found.then((all) => all.filter((c) => regions.includes(c.region)), () => []);
        clusters = kept.length ? kept : await find(plan, regions);
        if (o.preflight)
            q = await quotas(clusters);
    }
    if (q) {
        for (const r of q.rows.filter((x) => x.status !== 'ok'))
            f.log(`preflight: ${(0,check_rows/* formatRows */.d)([r])}`);
        if (q.kept.length === 0)
            throw new QuotaError(`no cluster of ${spec.nodes} nodes fits the vCPU quotas of this account (every node counts):\n${(0,check_rows/* formatRows */.d)(q.rows.filter((r) => r.status === 'fail'))}`);
        if (q.kept.length < clusters.length)
            f.log(`preflight: ${clusters.length - q.kept.length} cluster candidate(s) need more vCPUs than their quota allows and were dropped`);
        clusters = q.kept;
    }
    return { plan, clusters };
}
async function startCluster(o, req, x) {
    const { spec, log } = req;
    if (req.store.kind !== 's3')
        throw new model/* UserError */.yo('the aws backend needs an S3 store');
    const store = req.store;
    nodeGroups(spec); // the groups add up to the nodes (throws a clear error before anything starts)
    if (o.efa === 'all' && o.subnetIds.length === 0) {
        throw new model/* UserError */.yo('efa: all attaches every EFA interface, and AWS gives an instance with several interfaces no public address: it needs private subnets', 'set `subnet-ids` to private subnets with a NAT gateway or VPC endpoints for ssm, ssmmessages, ec2messages and s3, or use efa: auto (one EFA interface)');
    }
    const expired = (e, what) => {
        if (isExpiredCredentials(e))
            throw new ExpiredCredentialsError(o.now() - x.credentialsSince, what);
        throw e;
    };
    let plan;
    let clusters;
    try {
        ;
        ({ plan, clusters } = await (x.early ?? searchClusters(o, spec, { regions: x.regions, preferOnDemand: x.preferOnDemand, catalog: x.catalog, preflightEnvironment: x.preflightEnvironment, log })));
    }
    catch (e) {
        return expired(e, 'checking the account and listing instance types and prices');
    }
    log(`${clusters.length} cluster candidate(s) of ${spec.nodes} nodes, in order: ${clusters.slice(0, 4).map(describeCluster).join('; ')}${clusters.length > 4 ? '; …' : ''}`);
    const secretBase = Object.keys(req.secretEnv).length ? secretParameterName(req.repoId, req.runName, req.attempt) : undefined;
    const secretValue = secretBase ? secretEnvPayload(req.secretEnv) : undefined;
    const resources = new Map();
    const res = (region) => {
        let r = resources.get(region);
        if (!r)
            resources.set(region, (r = { region, ec2: o.clientFactory.ec2(region), ssm: o.clientFactory.ssm(region), instanceIds: [], placementGroups: [], securityGroups: [], secretParameters: [] }));
        return r;
    };
    const securityGroups = new Map();
    const vpcs = new Map();
    const tried = [];
    const noCapacity = new Set();
    const spotQuotaHit = new Set();
    const odQuotaHit = new Set();
    const resourceTags = instanceTags({ runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami: plan.amis.values().next().value, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, securityGroupIds: [], tags: o.tags, now: o.now() });
    try {
        for (const c of clusters) {
            if (req.signal.aborted)
                throw x.cancelled('while starting the cluster');
            const label = describeCluster(c);
            const skip = skipReason(c, { noCapacity, spotQuotaHit, odQuotaHit });
            if (skip) {
                tried.push({ candidate: c.members[0].candidate, code: '', message: '', skipped: skip, label });
                continue;
            }
            const r = res(c.region);
            const ec2 = r.ec2;
            const ami = plan.amis.get(c.region);
            // the network of this try: the zone's placement group and the VPC's security group, created
            // at once (neither waits for the other); a failure of either is the try's, the placement
            // group's first, and whatever was created is deleted with the attempt
            const pg = placementGroupName(req.repoId, req.runName, req.attempt, c.zone);
            const created = [];
            const placement = (async () => {
                if (r.placementGroups.includes(pg))
                    return;
                r.placementGroups.push(pg); // before the call: a lost response must not leave it behind
                await createPlacementGroup(ec2, pg, resourceTags).catch((e) => {
                    throw clusterNetworkError(e, `creating the placement group ${pg}`, c.region);
                });
                created.unshift(`created cluster placement group ${pg}`);
            })();
            const security = (async () => {
                if (o.clusterSecurityGroupId)
                    return undefined;
                const subnetKey = `${c.region}|${c.subnetId ?? ''}`;
                if (!vpcs.has(subnetKey))
                    vpcs.set(subnetKey, await vpcOfSubnet(ec2, c.subnetId));
                const vpc = vpcs.get(subnetKey);
                const key = `${c.region}|${vpc ?? 'default'}`;
                const known = securityGroups.get(key);
                if (known)
                    return known;
                const sg = await createClusterSecurityGroup(ec2, { name: securityGroupName(req.repoId, req.runName, req.attempt, c.region, vpc), ...(vpc ? { vpcId: vpc } : {}), description: `dstack run ${req.runName} attempt ${req.attempt}: traffic between its nodes (deleted with the attempt)`, tags: resourceTags }).catch((e) => {
                    throw clusterNetworkError(e, 'creating the security group of the nodes', c.region);
                });
                securityGroups.set(key, sg);
                r.securityGroups.push(sg);
                created.push(`created security group ${sg} (all traffic between the nodes)`);
                return sg;
            })();
            const [placed, secured] = await Promise.allSettled([placement, security]);
            for (const line of created)
                log(line);
            if (placed.status === 'rejected')
                throw placed.reason;
            if (secured.status === 'rejected')
                throw secured.reason;
            const createdSg = secured.value;
            const net = { placementGroup: pg, securityGroupIds: [...o.securityGroupIds, (o.clusterSecurityGroupId ?? createdSg)], ...(createdSg ? { createdSecurityGroup: createdSg } : {}), efa: o.efa };
            // every node group, all or nothing; each node is reported (onMachine) as soon as it exists
            const machines = [];
            let ownerId;
            let failed;
            for (const [gi, m] of c.members.entries()) {
                const ctx = { runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami, diskMiB: m.group.resources.diskMiB.min, maxPrice: spec.maxPrice, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, instanceProfile: o.instanceProfile, securityGroupIds: o.securityGroupIds, keyName: o.keyName, disk: o.disk, publicIp: o.publicIp, tags: o.tags, now: o.now() };
                const input = clusterRunInstancesInput(ctx, { candidate: m.candidate, count: m.group.nodes, groupIndex: gi, ...(m.group.name ? { groupName: m.group.name } : {}), nodes: c.nodes }, net);
                const efa = efaInterfaceCount(o.efa, m.candidate);
                log(`launching ${m.group.nodes} × ${describeCandidate(m.candidate)}${m.group.name ? ` (group ${m.group.name})` : ''} in ${pg}${efa ? ` with ${efa} EFA interface${efa > 1 ? 's' : ''} each` : ''}`);
                const lr = await launchInstances(o.clientFactory.launchEc2(c.region), input, { sleep: o.sleep, random: o.random, signal: req.signal, log, retries: o.throttleRetries });
                if (lr.ok) {
                    r.instanceIds.push(...lr.instances.map((i) => i.id));
                    const launched = await nodeMachines(lr.instances, m.candidate, m.group.firstRank, { ec2, ami: ami.imageId, now: o.now(), billing: launchBilling(input, o.subnetIds) });
                    machines.push(...launched);
                    for (const node of launched)
                        await req.onMachine(node);
                    ownerId ??= lr.ownerId;
                    if (lr.instances.length !== m.group.nodes)
                        failed = { member: gi, code: 'PartialLaunch', message: `RunInstances gave ${lr.instances.length} of ${m.group.nodes} instances`, kind: 'capacity' };
                }
                else
                    failed = { member: gi, code: lr.error.code, message: lr.error.message, kind: lr.error.kind };
                if (req.signal.aborted)
                    throw x.cancelled('while starting the cluster');
                if (failed) {
                    const err = lr.ok ? undefined : lr.error;
                    if (err?.kind === 'expired-credentials')
                        throw new ExpiredCredentialsError(o.now() - x.credentialsSince, 'launching the cluster');
                    if (err?.kind === 'configuration')
                        throw new model/* UserError */.yo(`RunInstances failed for ${label}: ${err.code}: ${err.message}`, configurationFix(err.code, c.region));
                    break;
                }
            }
            if (failed) {
                if (machines.length) {
                    log(`terminating the ${machines.length} node(s) already launched for this cluster: it is all or nothing`);
                    await terminate(ec2, machines.map((n) => n.id));
                    forget(r, machines.map((n) => n.id));
                }
                const m = c.members[failed.member];
                const group = quotaFor(m.candidate.instanceType).group;
                if (failed.kind === 'spot-quota')
                    spotQuotaHit.add(group);
                else if (failed.kind === 'on-demand-quota')
                    odQuotaHit.add(group);
                else if (failed.kind === 'capacity' || failed.kind === 'unsupported')
                    noCapacity.add(slotKey(m.candidate));
                log(`${label}: ${failed.code}: ${failed.message}`);
                tried.push({ candidate: { ...m.candidate, vcpus: m.candidate.vcpus * m.group.nodes }, code: failed.code, message: failed.message, ...(failed.kind ? { kind: failed.kind } : {}), label });
                continue;
            }
            log(`launched ${machines.length} nodes (${machines.map((m) => m.id).join(', ')}): waiting for them to come Online in SSM (up to ${o.ssmTimeoutSec} s)`);
            if (machines.some((m) => !m.privateIp))
                throw new model/* UserError */.yo(`EC2 gave no private IPv4 address for ${machines.filter((m) => !m.privateIp).map((m) => m.id).join(', ')}: the nodes cannot find each other`, 'launch into subnets with IPv4 addresses (`subnet-ids`)');
            const ssm = r.ssm;
            let gone;
            // the nodes boot together: one deadline for all of them, not one per node
            const onlineBy = o.now() + o.ssmTimeoutSec * 1000;
            for (const m of machines) {
                let online;
                try {
                    online = await waitForOnline(ssm, ec2, m.id, { sleep: o.sleep, now: o.now, signal: req.signal, timeoutSec: Math.max(1, (onlineBy - o.now()) / 1000) });
                }
                catch (e) {
                    return expired(e, `waiting for ${m.id} to come Online`);
                }
                if (online.kind === 'aborted')
                    throw x.cancelled(`while waiting for ${m.id} to come Online in SSM`);
                if (online.kind === 'timeout')
                    throw new model/* UserError */.yo(`${neverOnlineMessage(m.id, o.ssmTimeoutSec, online, o.instanceProfile).replace('; it was terminated.', '; the whole cluster was terminated.')}\n${await readConsoleTail(ec2, m.id)}`);
                if (online.kind === 'gone') {
                    gone = `node ${m.rank} (${m.id}) went ${online.state.state}${online.state.reasonCode ? ` (${online.state.reasonCode})` : ''} before it came Online`;
                    tried.push({ candidate: c.members[0].candidate, code: online.state.reasonCode ?? 'InstanceGone', message: gone, kind: 'capacity', label });
                    break;
                }
            }
            if (gone) {
                log(`${gone}: terminating the cluster and trying the next candidate`);
                await terminate(ec2, machines.map((m) => m.id));
                forget(r, machines.map((m) => m.id));
                continue;
            }
            if (secretBase) {
                if (!ownerId)
                    throw new model/* UserError */.yo('RunInstances did not say which account owns the nodes: the secret env cannot be limited to them, so it is not sent');
                for (const m of machines) {
                    const name = nodeSecretParameterName(secretBase, m.rank);
                    r.secretParameters.push(name);
                    await putSecretParameter(ssm, { name, value: secretValue, runName: req.runName, attempt: req.attempt, instanceArn: instanceArn(c.region, ownerId, m.id), kmsKeyId: o.secretKmsKeyId });
                }
            }
            const execTimeout = spec.maxDurationSec + o.marginSec;
            if (execTimeout > MAX_EXECUTION_TIMEOUT)
                log(`max_duration ${spec.maxDurationSec} s is longer than SSM allows for one command (48 h): SSM stops the runners at 48 h`);
            const scriptKey = x.fullKey(req.runnerScriptKey);
            const attemptFolder = scriptKey.replace(/[^/]+$/, '');
            await req.runnerScriptStored; // every node's bootstrap fetches runner.sh: it must be in the store first
            const ids = machines.map((m) => m.id);
            const bootstrap = renderBootstrap({
                bucket: store.bucket,
                scriptKey,
                scriptSha256: (0,external_node_crypto_.createHash)('sha256').update(req.runnerScript).digest('hex'),
                s3Region: store.region ?? c.region,
                s3Endpoint: store.endpoint,
                region: c.region,
                secretParameter: secretBase,
                cluster: { instanceIds: ids, privateIps: machines.map((m) => m.privateIp), gpusPerNode: machines.map((m) => c.members.find((x) => x.candidate.instanceType === m.instanceType).candidate.gpuCount) }
            });
            // SendCommand takes at most 50 instance ids: one command (the same bootstrap) per batch of nodes
            const commandIds = [];
            const batches = inBatches(ids);
            for (const [b, batch] of batches.entries()) {
                const commandId = await sendCommandOnce(o.clientFactory.sendSsm(c.region), ssm, {
                    DocumentName: 'AWS-RunShellScript',
                    InstanceIds: batch,
                    TimeoutSeconds: DELIVERY_TIMEOUT_SEC,
                    Comment: `dstack ${req.runName} attempt ${req.attempt}${batches.length > 1 ? ` nodes ${b * SEND_COMMAND_MAX_INSTANCES}-${b * SEND_COMMAND_MAX_INSTANCES + batch.length - 1}` : ''}`.slice(0, 100),
                    Parameters: { commands: bootstrap, executionTimeout: [String(Math.min(execTimeout, MAX_EXECUTION_TIMEOUT))] },
                    ...(store.endpoint ? {} : { OutputS3BucketName: store.bucket, OutputS3KeyPrefix: `${attemptFolder}ssm`, ...(store.region ? { OutputS3Region: store.region } : {}) })
                }, { retries: 3, sleep: o.sleep, log });
                commandIds.push(...batch.map(() => commandId));
                log(batches.length > 1 ? `SSM command ${commandId} started the runner on nodes ${b * SEND_COMMAND_MAX_INSTANCES}-${b * SEND_COMMAND_MAX_INSTANCES + batch.length - 1}` : `SSM command ${commandId} started the runner on all ${ids.length} nodes`);
            }
            return new AwsClusterHandle({ ec2, ssm, machines, commandIds, sentAt: o.now(), now: o.now, sleep: o.sleep, credentialsSince: x.credentialsSince, cancelGraceSec: o.cancelGraceSec, pollMinIntervalMs: o.pollMinIntervalMs, resources: [...resources.values()], log });
        }
        throw launchFailure(tried, { spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice });
    }
    catch (e) {
        // nothing of a failed start may outlive it: instances, placement groups, security group, secrets
        await releaseCluster([...resources.values()], { now: o.now, sleep: o.sleep, credentialsSince: x.credentialsSince, log }).catch((r) => log(`cleaning up after the failed start: ${r.message}`));
        if (isExpiredCredentials(e))
            throw new ExpiredCredentialsError(o.now() - x.credentialsSince, 'starting the cluster');
        throw e;
    }
}
/**
 * the MachineInfo of a node group's instances, ranks from `firstRank` in launch order; an address
 * RunInstances did not give is read with DescribeInstances
 */
async function nodeMachines(instances, cand, firstRank, d) {
    const seen = instances.some((i) => !i.privateIp) ? await describeInstances(d.ec2, instances.map((i) => i.id)) : undefined;
    return instances.map((i, k) => {
        const privateIp = i.privateIp ?? seen?.get(i.id)?.privateIp;
        return { id: i.id, backend: 'aws', instanceType: cand.instanceType, market: cand.market, region: cand.region, zone: cand.zone, ...(cand.pricePerHour !== undefined ? { pricePerHour: cand.pricePerHour } : {}), priceSource: cand.priceSource, launchedAt: new Date(d.now).toISOString(), amiId: d.ami, ...d.billing, rank: firstRank + k, ...(privateIp ? { privateIp } : {}) };
    });
}
/** every cluster candidate of a multi-node spec, ranked (UserError when no zone fits every group) */
async function findClusters(o, spec, f) {
    const groups = nodeGroups(spec);
    // each group's candidates at once (the catalogue and prices come from one cache)
    const perGroup = await Promise.all(groups.map((g) => findCandidates(o.clientFactory, { ...spec, resources: g.resources }, { regions: f.regions, subnetIds: o.subnetIds, preferOnDemand: f.preferOnDemand, archFor: (r) => f.plan.arch.get(r) ?? 'x86', typeCheck: f.plan.typeCheck, catalog: f.catalog, log: f.log })));
    const clusters = clusterCandidates(groups, perGroup, { preferOnDemand: f.preferOnDemand });
    if (clusters.length === 0)
        throw new model/* UserError */.yo(`no zone offers an instance type for every node group (${groups.map((g) => g.name ?? `${g.nodes} nodes`).join(', ')}) in the same market`, 'allow more instance_types, zones or regions, or make the groups\' resources less different');
    return clusters;
}
/** `check` of a multi-node workflow: its cluster candidates against the vCPU quotas (every node counts) */
async function clusterCheckRows(o, spec, f) {
    const all = await findClusters(o, spec, { ...f, preferOnDemand: false });
    const q = await checkClusterQuotas((r) => o.clientFactory.quotas(r), all);
    return [
        ...q.rows,
        q.kept.length
            ? { check: 'candidates', status: 'ok', detail: `${q.kept.length} of ${all.length} clusters of ${spec.nodes} nodes fit the quotas; first: ${describeCluster(q.kept[0])}` }
            : { check: 'candidates', status: 'fail', detail: `none of ${all.length} clusters of ${spec.nodes} nodes fits the vCPU quotas (every node counts)`, fix: 'raise the quotas marked FAIL above' }
    ];
}
/** why a cluster candidate is not worth trying: a slot of it had no capacity, or its quota is used up */
function skipReason(c, s) {
    for (const m of c.members) {
        if (s.noCapacity.has(slotKey(m.candidate)))
            return `${m.candidate.instanceType} ${m.candidate.market} in ${m.candidate.zone} had no capacity for an earlier cluster`;
        const group = quotaFor(m.candidate.instanceType).group;
        if (c.market === 'spot' && s.spotQuotaHit.has(group))
            return `the ${group} spot quota is exhausted`;
        if (c.market === 'on-demand' && s.odQuotaHit.has(group))
            return `the ${group} on-demand quota is exhausted`;
    }
    return undefined;
}
/**
 * instances of a failed try, already terminated: release() does not name them again (EC2 forgets
 * terminated instances after a while, and one unknown id fails a whole TerminateInstances call)
 */
function forget(r, ids) {
    r.instanceIds = r.instanceIds.filter((id) => !ids.includes(id));
}

;// CONCATENATED MODULE: ./src/backends/aws/detached-handle.ts





/** a quiet detached run is looked at twice a minute at most: status.json tells its end sooner */
const DETACHED_POLL_MS = 30_000;
/** Pure: the attempt's state from its instance alone (no command watches a detached runner). */
function detachedExecState(inst) {
    if (isSpotInterruption(inst))
        return { state: 'ended', interrupted: true, reclaimed: true, reason: `spot instance reclaimed by AWS (${inst.reasonCode})` };
    if (!isGone(inst) && inst.state !== 'missing')
        return { state: 'running' };
    if (inst.reasonCode === 'Client.InstanceInitiatedShutdown')
        return { state: 'ended', lost: true, reason: 'the instance shut itself down (the runner ended, or max_duration\'s self-destruct) without a result in the store' };
    return { state: 'ended', lost: true, reason: `lost: the machine vanished (instance ${inst.state}${inst.reasonCode ? `, ${inst.reasonCode}` : ''}) without a result in the store` };
}
class DetachedAwsAttempt {
    d;
    last = { state: 'running' };
    lastReadAt = -Infinity;
    constructor(d) {
        this.d = d;
    }
    get machine() {
        return this.d.machine;
    }
    async poll() {
        if (this.last.state === 'ended')
            return this.last;
        const now = this.d.now();
        if (this.d.pollMinIntervalMs > 0 && now - this.lastReadAt < Math.max(this.d.pollMinIntervalMs, DETACHED_POLL_MS))
            return this.last;
        this.lastReadAt = now;
        try {
            this.last = detachedExecState(await describeInstance(this.d.ec2, this.d.machine.id));
        }
        catch (e) {
            if (!isRetryable(e))
                throw e;
        }
        return this.last;
    }
    /** SIGTERM to the runner (it still saves artifacts, logs and status.json) */
    async cancel(reason) {
        this.d.log(`stopping the runner on ${this.d.machine.id}: ${reason}`);
        await sendCommand(this.d.ssm, {
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: [this.d.machine.id],
            TimeoutSeconds: 30,
            Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
            Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
        }).catch((e) => this.d.log(`could not send the stop command (${errorCode(e)})`));
    }
    async release() {
        await terminate(this.d.ec2, [this.d.machine.id]);
        if (this.d.secretParameter)
            await deleteSecretParameter(this.d.ssm, this.d.secretParameter).catch(() => undefined);
    }
}
/**
 * The starting process: wait until the detached bootstrap's command ended (it returns once the
 * runner runs, seconds after delivery); a failed bootstrap throws with its stderr's end. Real time:
 * what is waited for is a process on a machine.
 */
async function waitForDetachedStart(ssm, commandId, instanceId, d) {
    const now = d.now ?? Date.now;
    const sleep = d.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const start = now();
    for (;;) {
        const inv = await getInvocation(ssm, commandId, instanceId).catch((e) => {
            if (isRetryable(e))
                return undefined;
            throw e;
        });
        if (inv?.status === 'Success')
            return;
        if (inv && !['Pending', 'InProgress', 'Delayed'].includes(inv.status)) {
            throw new Error(`the detached runner did not start on ${instanceId}: SSM command ${inv.status}${inv.responseCode !== undefined ? ` (exit ${inv.responseCode})` : ''}${stderrTail(inv)}`);
        }
        if (now() - start > d.timeoutSec * 1000)
            throw new Error(`the detached runner did not start on ${instanceId} within ${d.timeoutSec} s (SSM command ${commandId} is ${inv?.status ?? 'not visible'})`);
        await sleep(500);
    }
}

// EXTERNAL MODULE: ./src/store/index.ts + 5 modules
var store = __webpack_require__(56992);
;// CONCATENATED MODULE: ./src/backends/aws/clients.ts
/**
 * The one place AWS SDK clients are built (style-anchors §2, lesson 6). Credentials come from the
 * SDK's default provider chain, so aws-actions/configure-aws-credentials (OIDC), profiles and
 * instance roles all work. Retries are the SDK's own (`adaptive` for EC2 reads, which slows down
 * when throttled; `standard` elsewhere; bounded attempts) except for SendCommand and launches: `launchEc2` has maxAttempts 1 so a capacity error reaches our classification at
 * once instead of being retried by the SDK (SkyPilot's lesson, peers-and-aws-facts §4.5); our
 * launch loop backs off on throttling itself.
 */






function defaultClientFactory(cfg = {}) {
    const made = new Map();
    const common = {
        ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
        ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
        customUserAgent: cfg.userAgent ?? 'dstack-run-action'
    };
    function once(key, make) {
        let c = made.get(key);
        if (!c)
            made.set(key, (c = make()));
        return c;
    }
    return {
        ec2: (region) => once(`ec2:${region}`, () => new client_ec2_dist_cjs/* EC2Client */.gu5({ ...common, region, retryMode: 'adaptive', maxAttempts: cfg.maxAttempts ?? 8 })),
        launchEc2: (region) => once(`ec2-launch:${region}`, () => new client_ec2_dist_cjs/* EC2Client */.gu5({ ...common, region, maxAttempts: 1 })),
        ssm: (region) => once(`ssm:${region}`, () => new dist_cjs/* SSMClient */.jBj({ ...common, region, retryMode: 'adaptive', maxAttempts: cfg.maxAttempts ?? 6 })),
        sendSsm: (region) => once(`ssm-send:${region}`, () => new dist_cjs/* SSMClient */.jBj({ ...common, region, maxAttempts: 1 })),
        sts: (region) => once(`sts:${region}`, () => new client_sts_dist_cjs/* STSClient */.iM({ ...common, region, retryMode: 'standard', maxAttempts: 3 })),
        iam: () => once('iam', () => new client_iam_dist_cjs/* IAMClient */.h8v({ ...common, region: 'us-east-1', retryMode: 'standard', maxAttempts: 3 })),
        quotas: (region) => once(`quotas:${region}`, () => new client_service_quotas_dist_cjs/* ServiceQuotasClient */.iVb({ ...common, region, retryMode: 'standard', maxAttempts: 3 })),
        pricing: () => once('pricing', () => new client_pricing_dist_cjs/* PricingClient */.c4({ ...common, region: 'us-east-1', retryMode: 'standard', maxAttempts: cfg.maxAttempts ?? 3 })),
        destroy() {
            for (const c of made.values())
                c.destroy();
            made.clear();
        }
    };
}

;// CONCATENATED MODULE: ./src/backends/aws/session-end.ts
/**
 * Pure: when the CI's AWS session will end, said at the start of a run that may outlive it.
 * Without `role-to-assume`, credentials from aws-actions/configure-aws-credentials (or any
 * `AWS_SESSION_TOKEN` in the environment) cannot be renewed by this step; the run itself goes on
 * (the instance has its own role and limits), but the step loses sight of it when they end.
 */

function sessionFactsFromEnv(env, renewing) {
    const exp = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
    return {
        renewing,
        temporary: Boolean(env.AWS_SESSION_TOKEN),
        ...(exp && !Number.isNaN(exp.getTime()) ? { expiresAt: exp } : {})
    };
}
const WHAT_HAPPENS = 'from then on this step cannot watch the run nor terminate its instance: it stops with an error once the store and EC2 stay unreachable; ' +
    'the run goes on, its instance writes logs, artifacts and status to the store with its own role (`dstack-run logs <run>` shows them) and stops itself at max_duration, ' +
    'and `cleanup` terminates it once its dstack:expires-at tag has passed. ' +
    'To watch the whole run, give `role-to-assume` (GitHub: with `permissions: id-token: write`; GitLab: an `id_tokens` entry DSTACK_AWS_ID_TOKEN): the session is then renewed for as long as the run lasts';
/**
 * A warning when the session may end before the run can (max_duration plus `marginSec` for the
 * launch and the final upload), or undefined when it is renewed, long-lived or lasts long enough.
 */
function sessionEndWarning(f, nowMs, maxDurationSec, marginSec = 900) {
    if (f.renewing || !f.temporary)
        return undefined;
    const need = maxDurationSec + marginSec;
    if (f.expiresAt) {
        const leftSec = Math.round((f.expiresAt.getTime() - nowMs) / 1000);
        if (leftSec >= need)
            return undefined;
        return (`the AWS session ends at ${f.expiresAt.toISOString()} (${leftSec > 0 ? `in ${(0,markdown/* formatDuration */.a3)(leftSec)}` : 'already'}), before this run may end (max_duration ${(0,markdown/* formatDuration */.a3)(maxDurationSec)}): ` +
            WHAT_HAPPENS);
    }
    return (`the AWS credentials are a temporary session (AWS_SESSION_TOKEN is set) that this step cannot renew, and its end is not known here ` +
        `(aws-actions/configure-aws-credentials: 1h unless role-duration-seconds says more); if it ends before the run (max_duration ${(0,markdown/* formatDuration */.a3)(maxDurationSec)}), ` +
        WHAT_HAPPENS);
}

;// CONCATENATED MODULE: ./src/backends/aws/options.ts
/**
 * Options of the AWS backend. Where the run store lives is not an option: every `start()` gets it
 * in `StartRequest.store`. Everything here has a default except the region, which falls back to
 * the workflow's `regions`, then AWS_REGION / AWS_DEFAULT_REGION.
 */








/** the x86_64 default (arm64 has its own: ami-fit.ts) */
const DEFAULT_AMI_PARAMETER = DEFAULT_AMI_PARAMETERS.x86;
/**
 * Seconds the runner gives the job between SIGTERM and SIGKILL (src/runner/body/settings.sh `KILL_AFTER`,
 * default 20), and the time it then needs to upload artifacts, the last logs and status.json.
 * A cancelled attempt is terminated only after both, or once status.json says it is done.
 */
const RUNNER_KILL_AFTER_SEC = 20;
const RUNNER_SAVE_SEC = 100;
const CANCEL_GRACE_SEC = RUNNER_KILL_AFTER_SEC + RUNNER_SAVE_SEC;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));
function list(v) {
    if (v === undefined || v === null || v === '')
        return [];
    if (Array.isArray(v))
        return v.map(String).map((s) => s.trim()).filter(Boolean);
    return String(v).split(/[\s,]+/).filter(Boolean);
}
/** Validates and fills defaults; accepts the loose record the entries pass (`createBackend('aws', {aws})`). */
function resolveOptions(o) {
    const env = o.env ?? process.env;
    const regions = [...new Set([...list(o.regions), ...list(o.region)])];
    for (const r of regions)
        if (!REGION_RE.test(r))
            throw new model/* UserError */.yo(`region is not valid: ${JSON.stringify(r)}`, 'expected e.g. us-east-1');
    const ami = (o.ami ?? '').trim() || undefined;
    if (ami && !/^ami-[0-9a-f]{8,17}$/.test(ami) && !/^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/.test(ami)) {
        throw new model/* UserError */.yo(`ami is not valid: ${JSON.stringify(ami)}`, 'use an AMI id (ami-…) or the name of an SSM parameter that holds one');
    }
    const ssmTimeoutSec = o.ssmTimeoutSec ?? 600;
    if (!(ssmTimeoutSec > 0))
        throw new model/* UserError */.yo(`ssm timeout must be a positive number of seconds, got ${ssmTimeoutSec}`);
    const subnetIds = list(o.subnetIds);
    for (const s of subnetIds)
        if (!/^subnet-[0-9a-f]+$/.test(s))
            throw new model/* UserError */.yo(`subnet id is not valid: ${JSON.stringify(s)}`);
    const securityGroupIds = list(o.securityGroupIds);
    for (const s of securityGroupIds)
        if (!/^sg-[0-9a-f]+$/.test(s))
            throw new model/* UserError */.yo(`security group id is not valid: ${JSON.stringify(s)}`);
    const clusterSecurityGroupId = (o.clusterSecurityGroupId ?? env.DSTACK_AWS_CLUSTER_SECURITY_GROUP ?? '').trim() || undefined;
    if (clusterSecurityGroupId && !/^sg-[0-9a-f]+$/.test(clusterSecurityGroupId))
        throw new model/* UserError */.yo(`cluster security group id is not valid: ${JSON.stringify(clusterSecurityGroupId)}`, 'give the id (sg-…) of a security group that allows all traffic from itself, or none to have one created for each multi-node attempt');
    const efa = (o.efa ?? env.DSTACK_AWS_EFA ?? '').trim().toLowerCase() || 'auto';
    if (!EFA_MODES.includes(efa))
        throw new model/* UserError */.yo(`efa must be one of ${EFA_MODES.join(', ')}, got ${JSON.stringify(efa)}`, '`auto` attaches one EFA interface to EFA-capable types of a multi-node run, `all` every one they have (private subnets only), `off` none');
    if (subnetIds.length > 0 && regions.length > 1)
        throw new model/* UserError */.yo('subnet ids belong to one region, but several regions were given', 'give one region with subnet ids, or no subnet ids');
    const disk = resolveDiskOptions(o);
    const publicIp = parsePublicIp(o.publicIp);
    if (!publicIp && subnetIds.length === 0)
        throw new model/* UserError */.yo('public-ip is false but no subnet ids were given', 'give `subnet-ids` (CLI: --subnet-ids) of private subnets that reach SSM and S3 through VPC endpoints or a NAT gateway (docs/aws.md#private-subnets); a default VPC\'s subnets reach them only through a public address');
    const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    return {
        regions: regions.length ? regions : envRegion ? [envRegion] : [],
        ami,
        instanceProfile: o.instanceProfile?.trim() || undefined,
        subnetIds,
        securityGroupIds,
        keyName: o.keyName || undefined,
        ...(clusterSecurityGroupId ? { clusterSecurityGroupId } : {}),
        efa: efa,
        ssmTimeoutSec,
        disk,
        publicIp,
        tags: o.tags ?? {},
        secretKmsKeyId: o.secretKmsKeyId?.trim() || env.DSTACK_SECRET_KMS_KEY_ID?.trim() || undefined,
        cancelGraceSec: o.cancelGraceSec ?? CANCEL_GRACE_SEC,
        marginSec: o.marginSec ?? 900,
        keepOnFailureSec: keepOnFailureSeconds(o.keepOnFailure),
        throttleRetries: o.throttleRetries ?? 5,
        pollMinIntervalMs: o.pollMinIntervalMs ?? 2000,
        preflight: o.preflight ?? true,
        openStore: o.openStore ?? ((loc) => (0,store/* openStore */.Ch)(loc, o.credentials ? { credentials: o.credentials } : {})),
        clientFactory: o.clientFactory ?? defaultClientFactory(o.credentials ? { credentials: o.credentials } : {}),
        session: sessionFactsFromEnv(env, o.credentials?.sessions !== undefined),
        sleep: o.sleep ?? realSleep,
        now: o.now ?? Date.now,
        random: o.random ?? Math.random
    };
}
/** `public-ip`: true (default) or false; the spellings a CI input or a flag gives */
function parsePublicIp(v) {
    if (v === undefined || v === null || v === '')
        return true;
    if (typeof v === 'boolean')
        return v;
    const s = String(v).trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s))
        return true;
    if (['false', 'no', 'off', '0'].includes(s))
        return false;
    throw new model/* UserError */.yo(`public-ip must be true or false, got ${JSON.stringify(v)}`);
}
/** The regions a run may use: the workflow's `regions` narrow the configured ones. */
function runRegions(configured, workflowRegions) {
    if (workflowRegions.length === 0) {
        if (configured.length === 0)
            throw new model/* UserError */.yo('no AWS region', 'set the `region` input (CLI: --aws-region), AWS_REGION, or `regions` in the workflow');
        return configured;
    }
    if (configured.length === 0)
        return workflowRegions;
    const both = workflowRegions.filter((r) => configured.includes(r));
    if (both.length === 0) {
        // an explicit region (input/CLI) wins over the workflow's wish, as when subnets pin the region
        return configured;
    }
    return both;
}

;// CONCATENATED MODULE: ./src/backends/aws/private-network.ts
/**
 * Preflight of `public-ip: false`: an instance without a public address reaches SSM, SSM messages,
 * EC2 messages (the agent) and S3 (the runner, the store) only through VPC endpoints or a NAT
 * gateway. Per subnet and service one row: an interface endpoint with private DNS in the subnet's
 * VPC, for S3 also a gateway endpoint on the subnet's route table, or a default route to a NAT
 * gateway; otherwise a failure with the command that creates what is missing.
 *
 * Reads: DescribeSubnets, DescribeRouteTables, DescribeVpcEndpoints (one call each for every
 * subnet). `reachRows` is the pure part.
 */


/** the services an instance without a public address must reach, and their names in rows */
const PRIVATE_SERVICES = [
    { service: 'ssm', label: 'SSM' },
    { service: 'ssmmessages', label: 'SSM messages' },
    { service: 'ec2messages', label: 'EC2 messages' },
    { service: 's3', label: 'S3' }
];
const private_network_DENIED = /AccessDenied|UnauthorizedOperation|NotAuthorized/;
/** the route table of a subnet: its own association, else its VPC's main table */
function routeTableOf(subnet, tables) {
    return (tables.find((t) => (t.Associations ?? []).some((a) => a.SubnetId === subnet.subnetId)) ??
        tables.find((t) => t.VpcId === subnet.vpcId && (t.Associations ?? []).some((a) => a.Main)));
}
/** where the subnet's default route goes (`nat-…`, `igw-…`, `tgw-…`…), when it has a working one */
function defaultRoute(t) {
    const r = (t?.Routes ?? []).find((x) => x.DestinationCidrBlock === '0.0.0.0/0' && x.State !== 'blackhole');
    return r ? (r.NatGatewayId ?? r.TransitGatewayId ?? r.GatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.VpcPeeringConnectionId ?? 'a target') : undefined;
}
/**
 * Pure: the rows for every subnet and service. `storeRegion`: the store bucket's region; a gateway
 * or interface endpoint reaches buckets of its own region only.
 */
function reachRows(region, subnets, tables, endpoints, storeRegion) {
    const rows = [];
    const live = endpoints.filter((e) => !['deleted', 'deleting', 'failed', 'rejected', 'expired'].includes(String(e.State ?? '').toLowerCase()));
    for (const s of subnets) {
        const table = routeTableOf(s, tables);
        const out = defaultRoute(table);
        const tableName = table?.RouteTableId ?? '<route table>';
        for (const { service, label } of PRIVATE_SERVICES) {
            const check = `${label} from ${s.subnetId} in ${region}`;
            const name = `com.amazonaws.${region}.${service}`;
            const mine = live.filter((e) => e.VpcId === s.vpcId && e.ServiceName === name);
            const iface = mine.find((e) => e.VpcEndpointType === 'Interface');
            const gateway = mine.find((e) => e.VpcEndpointType === 'Gateway' && table?.RouteTableId && (e.RouteTableIds ?? []).includes(table.RouteTableId));
            const otherRegionStore = service === 's3' && storeRegion && storeRegion !== region;
            if (!otherRegionStore && iface?.PrivateDnsEnabled) {
                rows.push({ check, status: 'ok', detail: `interface endpoint ${iface.VpcEndpointId} with private DNS in ${s.vpcId}` });
                continue;
            }
            if (!otherRegionStore && gateway) {
                rows.push({ check, status: 'ok', detail: `gateway endpoint ${gateway.VpcEndpointId} on ${tableName}` });
                continue;
            }
            if (out?.startsWith('nat-')) {
                rows.push({ check, status: 'ok', detail: `through the NAT gateway ${out} (0.0.0.0/0 in ${tableName})` });
                continue;
            }
            if (out && !out.startsWith('igw-')) {
                rows.push({ check, status: 'warn', detail: `0.0.0.0/0 in ${tableName} goes to ${out}: not checked beyond it`, fix: `make sure ${out} leads to ${name} over HTTPS, or create the endpoint: ${createCommand(region, s, service, tableName)}` });
                continue;
            }
            const found = iface
                ? `the interface endpoint ${iface.VpcEndpointId} has private DNS off, so the instance resolves the public name`
                : otherRegionStore
                    ? `the store's bucket is in ${storeRegion}: endpoints in ${region} do not reach it, and there is no NAT route`
                    : `no endpoint for ${name} in ${s.vpcId ?? 'its VPC'}${service === 's3' ? ` on ${tableName}` : ''}, and no NAT route${out ? ` (0.0.0.0/0 goes to ${out}, which needs a public address)` : ''}`;
            const fix = iface && !otherRegionStore
                ? `aws ec2 modify-vpc-endpoint --region ${region} --vpc-endpoint-id ${iface.VpcEndpointId} --private-dns-enabled`
                : otherRegionStore
                    ? `add a NAT gateway route (0.0.0.0/0) to ${tableName}, or keep the store in ${region}`
                    : `${createCommand(region, s, service, tableName)}; or a NAT gateway route 0.0.0.0/0 in ${tableName}; or deploy examples/aws/setup.yml with CreateEndpoints=true`;
            rows.push({ check, status: 'fail', detail: `missing endpoint: ${label} is not reachable without a public address: ${found}`, fix });
        }
    }
    return rows;
}
function createCommand(region, s, service, table) {
    const vpc = s.vpcId ?? '<vpc>';
    if (service === 's3')
        return `aws ec2 create-vpc-endpoint --region ${region} --vpc-id ${vpc} --service-name com.amazonaws.${region}.s3 --route-table-ids ${table}`;
    return `aws ec2 create-vpc-endpoint --region ${region} --vpc-id ${vpc} --vpc-endpoint-type Interface --service-name com.amazonaws.${region}.${service} --subnet-ids ${s.subnetId} --security-group-ids <a group allowing HTTPS from the subnet> --private-dns-enabled`;
}
/** the rows of `public-ip: false` for these subnets (a read that is not allowed: one warning) */
async function checkPrivateReach(ec2, region, subnetIds, storeRegion) {
    if (subnetIds.length === 0)
        return [];
    const check = `private network in ${region}`;
    try {
        const sn = await ec2.send(new client_ec2_dist_cjs/* DescribeSubnetsCommand */.jSW({ SubnetIds: subnetIds }));
        const subnets = (sn.Subnets ?? []).map((x) => ({ subnetId: x.SubnetId ?? '?', ...(x.VpcId ? { vpcId: x.VpcId } : {}) }));
        const vpcs = [...new Set(subnets.map((x) => x.vpcId).filter((v) => Boolean(v)))];
        if (vpcs.length === 0)
            return [{ check, status: 'warn', detail: 'the subnets name no VPC: endpoints not checked' }];
        const tables = [];
        const endpoints = [];
        let token;
        do {
            const rt = await ec2.send(new client_ec2_dist_cjs/* DescribeRouteTablesCommand */.VS8({ Filters: [{ Name: 'vpc-id', Values: vpcs }], ...(token ? { NextToken: token } : {}) }));
            tables.push(...(rt.RouteTables ?? []));
            token = rt.NextToken;
        } while (token);
        do {
            const ep = await ec2.send(new client_ec2_dist_cjs/* DescribeVpcEndpointsCommand */.KoP({ Filters: [{ Name: 'vpc-id', Values: vpcs }], ...(token ? { NextToken: token } : {}) }));
            endpoints.push(...(ep.VpcEndpoints ?? []));
            token = ep.NextToken;
        } while (token);
        return reachRows(region, subnets, tables, endpoints, storeRegion);
    }
    catch (e) {
        if (private_network_DENIED.test(errorCode(e))) {
            return [{ check, status: 'warn', detail: `not verified: ${errorCode(e)}`, fix: 'allow ec2:DescribeSubnets, ec2:DescribeRouteTables and ec2:DescribeVpcEndpoints to the CI role to have the endpoints checked (examples/iam/ci-role-policy.json)' }];
        }
        const why = `${errorCode(e)}: ${errorMessage(e)}`.split('\n')[0].slice(0, 200);
        return [{ check, status: 'warn', detail: `could not check the endpoints: ${why}`, fix: `see docs/aws.md#private-subnets for what a subnet without public addresses needs` }];
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/backend.ts
/**
 * The AWS backend: ranked candidates → RunInstances one at a time → wait for SSM → SendCommand
 * the bootstrap, which fetches and runs the stored runner script. Logs, artifacts and status are
 * the runner's business (it writes them to the store); this backend only launches, watches,
 * stops and terminates.
 */























/** how long a detached bootstrap may take to fetch runner.sh and start it */
const DETACHED_START_TIMEOUT_SEC = 600;
/** SendCommand delivery timeout: the node is Online, so delivery takes seconds */
const backend_DELIVERY_TIMEOUT_SEC = 120;
class CancelledError extends Error {
    constructor(what) {
        super(`cancelled ${what}`);
        this.name = 'CancelledError';
    }
}
/** `prefix` + `key`, unless the key already carries the prefix */
function fullKey(prefix, key) {
    const p = prefix.split('/').filter(Boolean).join('/');
    const k = key.replace(/^\/+/, '');
    return !p || k.startsWith(p + '/') ? k : `${p}/${k}`;
}
class AwsBackend {
    name = 'aws';
    options;
    createdAt;
    sessionEndSaid = false;
    constructor(opts = {}) {
        this.options = resolveOptions(opts);
        this.createdAt = this.options.now();
    }
    async start(req) {
        const o = this.options;
        const { spec, log } = req;
        if (req.store.kind !== 's3')
            throw new model/* UserError */.yo('the aws backend needs an S3 store', 'pass an s3://bucket/prefix store; the instance reads its code and writes logs and artifacts there');
        const store = req.store;
        const regions = runRegions(o.regions, spec.regions);
        const prev = req.previousAttempts[req.previousAttempts.length - 1];
        const preferOnDemand = spec.spotPolicy === 'auto' && prev?.status === 'interrupted';
        if (preferOnDemand)
            log(`attempt ${prev.n} was interrupted (spot reclaimed): trying on-demand first this time (spot_policy: auto)`);
        if (!this.sessionEndSaid) {
            this.sessionEndSaid = true; // once per run, at its start (not again for each retry)
            sayWarning(log, sessionEndWarning(o.session, o.now(), spec.maxDurationSec, o.marginSec));
        }
        if (!o.instanceProfile)
            log('warning: no instance profile given: the instance cannot register with SSM or read the store unless Default Host Management is set up');
        const credentialsSince = this.createdAt;
        const expired = (e, what, id) => rethrowExpired(e, credentialsSince, o.now(), what, id);
        const catalog = { store: this.catalogueStore(store), now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries };
        // the search prepare() started for this spec while the run was being set up, else one now
        const early = this.prepared?.spec === spec && !preferOnDemand ? this.prepared : undefined;
        this.prepared = undefined;
        early?.log.attach(log);
        if (spec.nodes > 1) {
            return startCluster(o, req, { regions, preferOnDemand, catalog, credentialsSince, preflightEnvironment: (r) => this.preflightEnvironment(r, log), fullKey: (k) => fullKey(store.prefix, k), cancelled: (what) => new CancelledError(what), ...(early?.kind === 'cluster' ? { early: early.result } : {}) });
        }
        let candidates;
        let plan;
        try {
            if (early?.kind === 'single')
                ({ plan, candidates } = await early.result);
            else
                ({ plan, candidates } = await this.searchCandidates(spec, regions, preferOnDemand, catalog));
        }
        catch (e) {
            return expired(e, 'checking the account and listing instance types and prices');
        }
        log(`${candidates.length} candidate(s), in order: ${candidates.slice(0, 6).map(describeCandidate).join('; ')}${candidates.length > 6 ? '; …' : ''}`);
        const secretParameter = Object.keys(req.secretEnv).length ? secretParameterName(req.repoId, req.runName, req.attempt) : undefined;
        const secretValue = secretParameter ? secretEnvPayload(req.secretEnv) : undefined;
        const tried = [];
        const spotQuotaHit = new Set();
        const odQuotaHit = new Set();
        let live;
        let secretRegion;
        // the regions launches were tried in, in order (a region's quota and capacity are its own)
        const regionsTried = [];
        try {
            for (const c of candidates) {
                if (req.signal.aborted)
                    throw new CancelledError('while starting a machine');
                const left = regionsTried[regionsTried.length - 1];
                if (left !== c.region) {
                    if (left)
                        log(`nothing could be launched in ${left}: trying the next region, ${c.region}`);
                    regionsTried.push(c.region);
                }
                const group = `${c.region}|${quotaFor(c.instanceType).group}`;
                const groupName = `${quotaFor(c.instanceType).group}${regions.length > 1 ? ` (${c.region})` : ''}`;
                if (c.market === 'spot' && spotQuotaHit.has(group)) {
                    tried.push({ candidate: c, code: 'MaxSpotInstanceCountExceeded', message: '', skipped: `the ${groupName} spot quota is exhausted` });
                    continue;
                }
                if (c.market === 'on-demand' && odQuotaHit.has(group)) {
                    tried.push({ candidate: c, code: 'VcpuLimitExceeded', message: '', skipped: `the ${groupName} on-demand quota is exhausted` });
                    continue;
                }
                const ami = plan.amis.get(c.region);
                const input = runInstancesInput({ runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami, diskMiB: spec.resources.diskMiB.min, maxPrice: spec.maxPrice, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, instanceProfile: o.instanceProfile, securityGroupIds: o.securityGroupIds, keyName: o.keyName, disk: o.disk, publicIp: o.publicIp, tags: o.tags, now: o.now() }, c);
                log(`launching ${describeCandidate(c)}`);
                const r = await launchOne(o.clientFactory.launchEc2(c.region), input, { sleep: o.sleep, random: o.random, signal: req.signal, log, retries: o.throttleRetries });
                if (r.ok)
                    live = { id: r.instanceId, region: c.region };
                if (req.signal.aborted)
                    throw new CancelledError('while starting a machine');
                if (!r.ok) {
                    const err = r.error;
                    if (err.kind === 'expired-credentials')
                        throw new ExpiredCredentialsError(o.now() - credentialsSince, 'launching an instance');
                    if (err.kind === 'configuration')
                        throw new model/* UserError */.yo(`RunInstances failed for ${describeCandidate(c)}: ${err.code}: ${err.message}`, configurationFix(err.code, c.region));
                    if (err.kind === 'spot-quota')
                        spotQuotaHit.add(group);
                    if (err.kind === 'on-demand-quota')
                        odQuotaHit.add(group);
                    log(`${c.instanceType} ${c.market} in ${c.zone}: ${err.code}: ${err.message}`);
                    tried.push({ candidate: c, code: err.code, message: err.message, kind: err.kind });
                    continue;
                }
                const id = r.instanceId;
                const machine = { id, backend: 'aws', instanceType: c.instanceType, market: c.market, region: c.region, zone: c.zone, ...(c.pricePerHour !== undefined ? { pricePerHour: c.pricePerHour } : {}), priceSource: c.priceSource, launchedAt: new Date(o.now()).toISOString(), amiId: ami.imageId, ...launchBilling(input, o.subnetIds), ...(regions.length > 1 ? { regionsTried: [...regionsTried] } : {}) };
                log(`launched ${id}: waiting for it to come Online in SSM (up to ${o.ssmTimeoutSec} s)`);
                await req.onMachine(machine);
                const ec2 = o.clientFactory.ec2(c.region);
                const ssm = o.clientFactory.ssm(c.region);
                let online;
                try {
                    online = await waitForOnline(ssm, ec2, id, { sleep: o.sleep, now: o.now, signal: req.signal, timeoutSec: o.ssmTimeoutSec });
                }
                catch (e) {
                    return expired(e, `waiting for ${id} to come Online`, id);
                }
                if (online.kind === 'aborted')
                    throw new CancelledError(`while waiting for ${id} to come Online in SSM`);
                if (online.kind === 'gone') {
                    const why = `${online.state.state}${online.state.reasonCode ? ` (${online.state.reasonCode})` : ''} before it came Online`;
                    log(`${id} went ${why}: trying the next candidate`);
                    await terminate(ec2, [id]);
                    live = undefined;
                    tried.push({ candidate: c, code: online.state.reasonCode ?? 'InstanceGone', message: `instance ${id} went ${why}`, kind: 'capacity' });
                    continue;
                }
                if (online.kind === 'timeout') {
                    const bootConsole = await readConsoleTail(ec2, id);
                    log(bootConsole);
                    await terminate(ec2, [id]);
                    live = undefined;
                    throw new model/* UserError */.yo(`${neverOnlineMessage(id, o.ssmTimeoutSec, online, o.instanceProfile)}\n${bootConsole}`);
                }
                if (secretParameter && secretRegion !== c.region) {
                    if (!r.ownerId)
                        throw new model/* UserError */.yo(`RunInstances did not say which account owns ${id}: the secret env cannot be limited to that instance, so it is not sent`);
                    await putSecretParameter(ssm, { name: secretParameter, value: secretValue, runName: req.runName, attempt: req.attempt, instanceArn: instanceArn(c.region, r.ownerId, id), kmsKeyId: o.secretKmsKeyId });
                    secretRegion = c.region;
                }
                const execTimeout = spec.maxDurationSec + o.marginSec;
                if (execTimeout > MAX_EXECUTION_TIMEOUT && !req.detached)
                    log(`max_duration ${spec.maxDurationSec} s is longer than SSM allows for one command (48 h): SSM stops the runner at 48 h`);
                const attemptFolder = fullKey(store.prefix, req.runnerScriptKey).replace(/[^/]+$/, '');
                await req.runnerScriptStored; // the bootstrap fetches runner.sh: it must be in the store first
                const commandId = await sendCommandOnce(o.clientFactory.sendSsm(c.region), ssm, {
                    DocumentName: 'AWS-RunShellScript',
                    InstanceIds: [id],
                    TimeoutSeconds: backend_DELIVERY_TIMEOUT_SEC,
                    Comment: `dstack ${req.runName} attempt ${req.attempt}`.slice(0, 100),
                    Parameters: {
                        commands: renderBootstrap({ bucket: store.bucket, scriptKey: fullKey(store.prefix, req.runnerScriptKey), scriptSha256: (0,external_node_crypto_.createHash)('sha256').update(req.runnerScript).digest('hex'), s3Region: store.region ?? regions[0] ?? c.region, s3Endpoint: store.endpoint, region: c.region, secretParameter, detached: req.detached, ...(o.keepOnFailureSec > 0 ? { keepOnFailureSec: o.keepOnFailureSec } : {}) }),
                        // a detached bootstrap returns once its runner runs: the timeout bounds only that
                        executionTimeout: [String(req.detached ? DETACHED_START_TIMEOUT_SEC : Math.min(execTimeout, MAX_EXECUTION_TIMEOUT))]
                    },
                    // a custom endpoint (MinIO…) is not reachable by the SSM service itself
                    ...(store.endpoint ? {} : { OutputS3BucketName: store.bucket, OutputS3KeyPrefix: `${attemptFolder}ssm`, ...(store.region ? { OutputS3Region: store.region } : {}) })
                }, { retries: 3, sleep: o.sleep, log });
                if (req.detached) {
                    await waitForDetachedStart(ssm, commandId, id, { timeoutSec: DETACHED_START_TIMEOUT_SEC });
                    // the runner has read its secrets: the parameter is not needed any more
                    if (secretParameter && secretRegion)
                        await deleteSecretParameter(ssm, secretParameter).catch(() => undefined);
                    log(`SSM command ${commandId} started the runner on ${id}, detached: it goes on without this process`);
                    live = undefined;
                    return new DetachedAwsAttempt({ ec2, ssm, machine, now: o.now, pollMinIntervalMs: o.pollMinIntervalMs, log });
                }
                log(`SSM command ${commandId} started the runner on ${id}`);
                // keep-on-failure: never past the runner's own shutdown (max_duration + 10 min from its start, main.sh)
                const keep = o.keepOnFailureSec > 0 ? { seconds: o.keepOnFailureSec, region: c.region, hardEndMs: Date.parse(machine.launchedAt) + (spec.maxDurationSec + 600) * 1000 } : undefined;
                const handle = new AwsAttemptHandle({ ec2, ssm, machine, commandId, sentAt: o.now(), secretParameter, now: o.now, credentialsSince, cancelGraceSec: o.cancelGraceSec, pollMinIntervalMs: o.pollMinIntervalMs, log, ...(keep ? { keep } : {}) });
                live = undefined;
                return handle;
            }
            throw launchFailure(tried, { spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice });
        }
        catch (e) {
            // nothing launched here may outlive a failed start
            if (live)
                await terminate(o.clientFactory.ec2(live.region), [live.id]).catch((t) => log(`terminating ${live.id} failed: ${t.message}`));
            if (secretParameter && secretRegion)
                await deleteSecretParameter(o.clientFactory.ssm(secretRegion), secretParameter).catch(() => undefined);
            if (isExpiredCredentials(e))
                throw new ExpiredCredentialsError(o.now() - credentialsSince, 'starting the attempt', live?.id);
            throw e;
        }
    }
    /** the search prepare() started, taken by the next start() of the same spec */
    prepared;
    /**
     * Starts what a launch of `spec` reads before RunInstances (the AMI, the account preflight, the
     * catalogue and prices, the quotas) while the caller is still busy with its own work (the code
     * snapshot, the run record): the first start() of this spec takes the answer, and its log lines,
     * instead of asking again. Reads only; a failure surfaces in that start().
     */
    prepare(spec, store) {
        if (store.kind !== 's3')
            return;
        const o = this.options;
        const log = deferredLog();
        const catalog = { store: this.catalogueStore(store), now: o.now, sleep: o.sleep, random: o.random, log: log.log, retries: o.throttleRetries };
        const regions = runRegions(o.regions, spec.regions);
        if (spec.nodes > 1) {
            // a cluster's too: its AMIs, preflight, candidates and quotas (cluster-start.ts searchClusters)
            const result = searchClusters(o, spec, { regions, preferOnDemand: false, catalog, preflightEnvironment: (r) => this.preflightEnvironment(r, log.log), log: log.log });
            result.catch(() => undefined); // taken by start()
            this.prepared = { kind: 'cluster', spec, result, log };
            return;
        }
        const result = this.searchCandidates(spec, regions, false, catalog);
        result.catch(() => undefined); // taken by start()
        this.prepared = { kind: 'single', spec, result, log };
    }
    /** the run store, for the instance catalogue cache (none when it cannot be opened) */
    catalogueStore(store) {
        try {
            return this.options.openStore(store);
        }
        catch {
            return undefined;
        }
    }
    /** the AMIs and the ranked candidates that fit the account's preflight and quotas */
    async searchCandidates(spec, regions, preferOnDemand, catalog) {
        const o = this.options;
        const log = catalog.log;
        // the account's preflight, the AMIs and the candidates do not wait for each other (each is a few
        // AWS round trips); their errors still come in that order: AMI, preflight, candidates
        const preflight = o.preflight ? this.preflightEnvironment(regions, log) : Promise.resolve(regions);
        const planned = planAmis(o.clientFactory, regions, o.ami, spec.resources);
        const find = (p, rs) => findCandidates(o.clientFactory, spec, { regions: rs, subnetIds: o.subnetIds, preferOnDemand, archFor: (r) => p.arch.get(r) ?? 'x86', typeCheck: p.typeCheck, catalog, log });
        const found = planned.then((p) => find(p, regions));
        // the quotas of the candidates found do not wait for the preflight either
        const quotas = (c) => checkQuotas((r) => o.clientFactory.quotas(r), c);
        const quoted = o.preflight ? found.then(quotas) : undefined;
        for (const p of [preflight, found, quoted])
            p?.catch(() => undefined); // awaited below, in order
        const plan = await planned;
        for (const [region, ami] of plan.amis)
            log(`AMI ${ami.imageId} (${ami.source}, ${ami.architecture ?? '?'}) in ${region}`);
        const launchRegions = await preflight;
        let candidates;
        let q;
        if (launchRegions.length === regions.length) {
            candidates = await found;
            q = await quoted;
        }
        else {
            // a region left out by the preflight: its candidates go, and when that leaves none (or its own
            // search failed) the search of the regions left gives the answer, as it would have alone
            const kept = await found.then((all) => all.filter((c) => launchRegions.includes(c.region)), () => []);
            candidates = kept.length ? kept : await find(plan, launchRegions);
            if (o.preflight)
                q = await quotas(candidates);
        }
        if (q) {
            for (const r of q.rows.filter((x) => x.status !== 'ok'))
                log(`preflight: ${(0,check_rows/* formatRows */.d)([r])}`);
            if (q.kept.length === 0)
                throw new QuotaError(`no candidate fits the vCPU quotas of this account:\n${(0,check_rows/* formatRows */.d)(q.rows.filter((r) => r.status === 'fail'))}`);
            if (q.kept.length < candidates.length)
                log(`preflight: ${candidates.length - q.kept.length} candidate(s) need more vCPUs than their quota allows and were dropped`);
            candidates = q.kept;
        }
        return { plan, candidates };
    }
    preflightDone = new Map();
    /**
     * Preflight of the account before the first launch (once per backend and set of regions):
     * credentials, the instance profile and passing its role, and per region the subnets, security
     * groups, key pair and default VPC. A region that fails its own checks is left out (security
     * groups and key pairs belong to one region); none left, or a failed account-wide check → an
     * error listing every row with its fix.
     */
    preflightEnvironment(regions, log) {
        const key = regions.join(',');
        let p = this.preflightDone.get(key);
        if (!p) {
            p = (async () => {
                const { rows, usable } = await this.preflightRows(regions);
                for (const r of rows.filter((x) => x.status !== 'ok'))
                    log(`preflight: ${(0,check_rows/* formatRows */.d)([r])}`);
                const accountWide = rows.filter((r) => r.status === 'fail' && !regions.some((g) => r.check.endsWith(` in ${g}`)));
                if (accountWide.length || usable.length === 0)
                    throw new model/* UserError */.yo(`the AWS account is not ready for this run:\n${(0,check_rows/* formatRows */.d)(rows.filter((r) => r.status === 'fail'))}`, 'fix the rows marked FAIL; `dstack-run check --backend aws` checks again without launching anything');
                if (usable.length < regions.length)
                    log(`preflight: leaving out ${regions.filter((r) => !usable.includes(r)).join(', ')} (see above)`);
                return usable;
            })();
            this.preflightDone.set(key, p);
            p.catch(() => this.preflightDone.delete(key));
        }
        return p;
    }
    /** every preflight row except quotas (which need candidates) and the bucket (checked by `check`) */
    async preflightRows(regions) {
        const o = this.options;
        const first = regions[0] ?? o.regions[0] ?? 'us-east-1';
        const rows = [];
        // the checks do not wait for each other (each is one to three round trips; the launch waits for
        // the slowest, not their sum); the rows keep their order: credentials, profile, each region
        const whoP = checkCredentials(o.clientFactory.sts(first), first);
        const profileP = checkInstanceProfile(o.clientFactory.iam(), o.instanceProfile, whoP.then((w) => w.arn));
        const netP = regions.map(async (region) => {
            const net = await checkNetwork(o.clientFactory.ec2(region), region, { subnetIds: o.subnetIds, securityGroupIds: [...o.securityGroupIds, ...(o.clusterSecurityGroupId ? [o.clusterSecurityGroupId] : [])], keyName: o.keyName });
            // without a public address: SSM, SSM messages, EC2 messages and S3 through endpoints or NAT
            if (!o.publicIp)
                net.push(...(await checkPrivateReach(o.clientFactory.ec2(region), region, o.subnetIds)));
            return net;
        });
        for (const p of [profileP, ...netP])
            p.catch(() => undefined); // awaited below, unless the credentials failed
        const who = await whoP;
        rows.push(who.row);
        if (who.row.status === 'fail')
            return { rows, usable: [] };
        const profile = await profileP;
        rows.push(...profile.rows);
        const usable = [];
        for (const [i, region] of regions.entries()) {
            const net = await netP[i];
            rows.push(...net);
            if (!net.some((r) => r.status === 'fail'))
                usable.push(region);
        }
        return { rows, usable, ...(profile.roleArn ? { roleArn: profile.roleArn } : {}) };
    }
    /**
     * `dstack-run check --backend aws` / `mode: check`: every preflight row, the AMI of each region,
     * the store (when given), and — with a workflow — its candidates against the vCPU quotas.
     * Launches nothing.
     */
    async check(opts = {}) {
        const o = this.options;
        const log = opts.log ?? (() => undefined);
        const regions = runRegions(o.regions, opts.spec?.regions ?? []);
        const { rows, roleArn } = await this.preflightRows(regions);
        if (rows[0]?.status === 'fail')
            return rows;
        const fail = (check, e) => ({ check, status: 'fail', detail: e.message, ...(e.hint ? { fix: e.hint } : {}) });
        let plan;
        const res = opts.spec?.resources ?? { cpu: {}, memoryMiB: {}, diskMiB: {} };
        try {
            plan = await planAmis(o.clientFactory, regions, o.ami, res);
            for (const [region, ami] of plan.amis)
                rows.push({ check: `AMI in ${region}`, status: 'ok', detail: `${ami.imageId} from ${ami.source} (${ami.architecture ?? '?'})` });
        }
        catch (e) {
            rows.push(fail('AMI', e));
        }
        if (opts.store) {
            if (opts.store.kind !== 's3')
                rows.push({ check: 'store', status: 'fail', detail: 'the aws backend needs an S3 store', fix: 'set `bucket` (or `store: s3://bucket/prefix`)' });
            else {
                rows.push(await checkBucket(o.openStore(opts.store), `s3://${opts.store.bucket}/${opts.store.prefix}`));
                if (roleArn)
                    rows.push(await checkInstanceRole(o.clientFactory.iam(), roleArn, opts.store.bucket, opts.store.prefix));
            }
        }
        if (opts.spec && plan && opts.spec.nodes > 1) {
            rows.push(...(await clusterCheckRows(o, opts.spec, { regions, plan, catalog: { store: undefined, now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries }, log }).catch((e) => [fail('candidates', e)])));
        }
        else if (opts.spec && plan) {
            const catalog = { store: undefined, now: o.now, sleep: o.sleep, random: o.random, log, retries: o.throttleRetries };
            try {
                const all = await findCandidates(o.clientFactory, opts.spec, { regions, subnetIds: o.subnetIds, preferOnDemand: false, archFor: (r) => plan.arch.get(r) ?? 'x86', typeCheck: plan.typeCheck, catalog, log });
                const q = await checkQuotas((r) => o.clientFactory.quotas(r), all);
                rows.push(...q.rows);
                rows.push(q.kept.length
                    ? { check: 'candidates', status: 'ok', detail: `${q.kept.length} of ${all.length} fit the quotas; first: ${describeCandidate(q.kept[0])}` }
                    : { check: 'candidates', status: 'fail', detail: `none of ${all.length} fits the vCPU quotas`, fix: 'raise the quotas marked FAIL above' });
            }
            catch (e) {
                rows.push(fail('candidates', e));
            }
        }
        return rows;
    }
    /** SIGTERM to the runner of a recorded machine (the post step, when the main step could not) */
    async stopRunner(machine, reason) {
        if (machine.backend !== 'aws')
            return;
        const region = machine.region ?? this.options.regions[0];
        if (!region)
            return;
        await sendCommandOnce(this.options.clientFactory.sendSsm(region), this.options.clientFactory.ssm(region), {
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: [machine.id],
            TimeoutSeconds: 30,
            Comment: `dstack: stop the runner (${reason})`.slice(0, 100),
            Parameters: { commands: renderStopScript(), executionTimeout: ['60'] }
        }, { retries: 1, sleep: this.options.sleep, log: () => undefined });
    }
    /** `attach` / `reconcile`: a handle on a detached attempt another process started */
    reattach(machine) {
        const region = machine.region ?? this.options.regions[0];
        if (!region)
            throw new model/* UserError */.yo(`no region recorded for ${machine.id}`, 'set AWS_REGION');
        return new DetachedAwsAttempt({ ec2: this.options.clientFactory.ec2(region), ssm: this.options.clientFactory.ssm(region), machine, now: this.options.now, pollMinIntervalMs: this.options.pollMinIntervalMs, log: () => undefined });
    }
    /** The post step / after_script: terminate a recorded instance and delete its secret parameter. */
    async releaseMachine(machine, log = () => undefined) {
        if (machine.backend !== 'aws')
            return;
        const region = machine.region ?? this.options.regions[0];
        if (!region)
            throw new model/* UserError */.yo(`no region recorded for ${machine.id}`, 'set AWS_REGION');
        const ec2 = this.options.clientFactory.ec2(region);
        let tags = {};
        try {
            tags = (await describeInstance(ec2, machine.id)).tags;
        }
        catch {
            // best effort: terminate anyway
        }
        // keep-on-failure: a deliberately kept instance lives until its deadline (it shuts itself down
        // then, and `cleanup` terminates it once expired); after the deadline it is terminated here
        const kept = keptUntil(tags, this.options.now());
        if (kept !== undefined) {
            log(`${machine.id} is kept for debugging until ${new Date(kept).toISOString()}: not terminated now (${sessionCommand(machine.id, region)})`);
            return;
        }
        await terminate(ec2, [machine.id]);
        if (isClusterNode(tags))
            await releaseRecordedCluster(region, ec2, this.options.clientFactory.ssm(region), tags, machine.id, { now: this.options.now, sleep: this.options.sleep, log: () => undefined });
        const run = tags[TAG.run];
        const repo = tags[TAG.repo];
        const attempt = Number(tags[TAG.attempt]);
        if (run && repo && Number.isInteger(attempt))
            await deleteSecretParameter(this.options.clientFactory.ssm(region), secretParameterName(repo, run, attempt)).catch(() => undefined);
    }
    /**
     * Terminate instances tagged `dstack:run` whose `dstack:expires-at` is past, in every configured
     * region; delete stale secret parameters and the expired placement and security groups of clusters.
     */
    async cleanupExpired(opts = {}) {
        const regions = this.options.regions;
        if (regions.length === 0)
            throw new model/* UserError */.yo('no AWS region for cleanup', 'set the `region` input (CLI: --aws-region) or AWS_REGION');
        const terminated = [];
        const deletedSecrets = [];
        const deletedGroups = [];
        const now = opts.now ?? this.options.now();
        const log = opts.log ?? (() => undefined);
        for (const region of regions) {
            terminated.push(...(await cleanupExpiredIn(this.options.clientFactory.ec2(region), now, Boolean(opts.dryRun), log)));
            deletedSecrets.push(...(await cleanupStaleSecretsIn(this.options.clientFactory.ssm(region), now, Boolean(opts.dryRun), log)));
            deletedGroups.push(...(await cleanupExpiredGroupsIn(this.options.clientFactory.ec2(region), now, Boolean(opts.dryRun), log)));
        }
        return { terminated, deletedSecrets, deletedGroups };
    }
    /** destroy the SDK clients (lets the process exit promptly) */
    close() {
        this.options.clientFactory.destroy();
    }
}
/** a log that keeps its lines until it is attached to where they go */
function deferredLog() {
    const kept = [];
    let sink;
    return {
        log: (line) => (sink ? sink(line) : void kept.push(line)),
        attach: (to) => {
            sink = to;
            for (const line of kept.splice(0))
                to(line);
        }
    };
}
function sayWarning(log, message) {
    if (message)
        log(`warning: ${message}`);
}

;// CONCATENATED MODULE: ./src/backends/aws/index.ts
/** The AWS backend (issue 4): spot/on-demand GPU EC2 + SSM Run Command. */












/** `createBackend('aws', { aws })` (src/backends/index.ts) passes the entries' loose option record. */
function createAwsBackend(opts = {}) {
    return new AwsBackend(opts);
}





/***/ })

};
