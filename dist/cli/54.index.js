export const id = 54;
export const ids = [54];
export const modules = {

/***/ 2054:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  AwsBackend: () => (/* reexport */ AwsBackend),
  CancelledError: () => (/* reexport */ CancelledError),
  DEFAULT_AMI_PARAMETER: () => (/* reexport */ DEFAULT_AMI_PARAMETER),
  ExpiredCredentialsError: () => (/* reexport */ ExpiredCredentialsError),
  ON_DEMAND_FALLBACK: () => (/* reexport */ ON_DEMAND_FALLBACK),
  PRICE_SOURCE: () => (/* reexport */ PRICE_SOURCE),
  TAG: () => (/* reexport */ TAG),
  attemptCost: () => (/* reexport */ attemptCost),
  classifyLaunchError: () => (/* reexport */ classifyLaunchError),
  clientToken: () => (/* reexport */ clientToken),
  createAwsBackend: () => (/* binding */ createAwsBackend),
  defaultClientFactory: () => (/* reexport */ defaultClientFactory),
  describeCandidate: () => (/* reexport */ describeCandidate),
  execState: () => (/* reexport */ execState),
  findCandidates: () => (/* reexport */ findCandidates),
  fullKey: () => (/* reexport */ fullKey),
  instanceTags: () => (/* reexport */ instanceTags),
  isExpiredCredentials: () => (/* reexport */ isExpiredCredentials),
  isThrottling: () => (/* reexport */ isThrottling),
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

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ssm/dist-cjs/index.js
var dist_cjs = __webpack_require__(4736);
// EXTERNAL MODULE: ./src/model/index.ts + 4 modules
var model = __webpack_require__(8907);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ec2/dist-cjs/index.js
var client_ec2_dist_cjs = __webpack_require__(5193);
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
    { prefixes: ['p'], info: { group: 'P', onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-7212CCBC', name: 'All P Spot Instance Requests' } } },
    { prefixes: ['inf'], info: { group: 'Inf', onDemand: { code: 'L-1945791B', name: 'Running On-Demand Inf instances' }, spot: { code: 'L-B5D1601B', name: 'All Inf Spot Instance Requests' } } },
    { prefixes: ['f'], info: { group: 'F', onDemand: { code: 'L-74FC7D96', name: 'Running On-Demand F instances' }, spot: { code: 'L-88CF9481', name: 'All F Spot Instance Requests' } } },
    { prefixes: ['x'], info: { group: 'X', onDemand: { code: 'L-7295265B', name: 'Running On-Demand X instances' }, spot: { code: 'L-E3A00192', name: 'All X Spot Instance Requests' } } },
    { prefixes: ['trn', 'dl'], info: { group: 'Trn/DL' } },
    { prefixes: ['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'], info: { group: 'Standard', onDemand: { code: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' }, spot: { code: 'L-34B43A08', name: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' } } }
];
/** `g5.xlarge` → `g5`; `p4de.24xlarge` → `p4de` */
function instanceFamily(instanceType) {
    return instanceType.split('.')[0] ?? instanceType;
}
/** The vCPU quota group of an instance type (`g5.xlarge` → G and VT). */
function quotaFor(instanceType) {
    const letters = (instanceFamily(instanceType).match(/^[a-z]+/) ?? [''])[0];
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
    if (FATAL.has(code) || /^Invalid[A-Za-z]*(\.|$)/.test(code) || code.startsWith('Unauthorized'))
        return k('fatal');
    return k('other');
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
            throw new model/* UserError */.yo(`cannot read the AMI parameter ${ami} in ${region}: ${errorCode(e)}: ${errorMessage(e)}`, 'check the name with `aws ssm get-parameters-by-path --path /aws/service/deeplearning/ami/x86_64/` in this region, or pass an ami-… id; the CI role needs ssm:GetParameter');
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

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/backends/aws/bootstrap.ts
/**
 * Pure: the few-line script SSM runs (AWS-RunShellScript parameters are size-limited and kept in
 * command history for 30 days). It fetches the stored runner script with the instance profile,
 * reads the secret environment from a SecureString parameter straight into the environment
 * (never to disk, never in SendCommand parameters), and execs the runner. Every interpolated
 * value is shell-quoted.
 */


function shellQuote(v) {
    return `'${v.replace(/'/g, `'\\''`)}'`;
}
/** where the bootstrap keeps runner.sh and runner.pid on the instance */
const INSTANCE_DIR = '/opt/dstack';
function renderBootstrap(b) {
    const endpoint = b.s3Endpoint ? ` --endpoint-url ${shellQuote(b.s3Endpoint)}` : '';
    const lines = [
        '#!/bin/bash',
        'set -eu',
        'export HOME=/root',
        `D="\${DSTACK_INSTANCE_DIR:-${INSTANCE_DIR}}"`,
        'mkdir -p "$D"',
        `aws s3 cp --only-show-errors --region ${shellQuote(b.s3Region)}${endpoint} ${shellQuote(`s3://${b.bucket}/${b.scriptKey}`)} "$D/runner.sh"`
    ];
    if (b.secretParameter) {
        lines.push(`DSTACK_SECRET_ENV="$(aws ssm get-parameter --region ${shellQuote(b.region)} --name ${shellQuote(b.secretParameter)} --with-decryption --query Parameter.Value --output text)"`, 'eval "$(printf %s "$DSTACK_SECRET_ENV" | base64 -d)"', 'unset DSTACK_SECRET_ENV');
    }
    lines.push('echo $$ > "$D/runner.pid"', 'exec bash "$D/runner.sh"');
    return lines;
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

;// CONCATENATED MODULE: ./src/backends/aws/instance-types.ts
/**
 * Instance types that fit a RunSpec's resources: pure matching on DescribeInstanceTypes entries,
 * plus the paginated call. `disk` is never matched against instance storage: the root EBS volume
 * is sized from `disk.min` instead (launch-input.ts).
 */

function toTypeInfo(t) {
    if (!t.InstanceType)
        return undefined;
    const gpus = t.GpuInfo?.Gpus ?? [];
    const archs = t.ProcessorInfo?.SupportedArchitectures ?? [];
    const usage = t.SupportedUsageClasses ?? [];
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
        onDemand: usage.includes('on-demand')
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
        }
    }
    return undefined;
}
/** Types that fit; `explicit` (the workflow's `instance_types`) narrows the query itself. */
async function describeMatchingTypes(ec2, res, explicit) {
    const arch = res.cpu.arch ?? 'x86';
    const fit = [];
    const rejected = [];
    const input = explicit.length
        ? { InstanceTypes: explicit }
        : { Filters: [{ Name: 'processor-info.supported-architecture', Values: [arch === 'arm' ? 'arm64' : 'x86_64'] }] };
    for await (const page of (0,client_ec2_dist_cjs/* paginateDescribeInstanceTypes */.RTj)(explicit.length ? { client: ec2 } : { client: ec2, pageSize: 100 }, input)) {
        for (const raw of page.InstanceTypes ?? []) {
            const t = toTypeInfo(raw);
            if (!t)
                continue;
            const why = mismatch(t, res, arch);
            if (why)
                rejected.push({ instanceType: t.instanceType, why });
            else
                fit.push(t);
        }
    }
    return { fit, rejected };
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
var client_pricing_dist_cjs = __webpack_require__(4453);
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

;// CONCATENATED MODULE: ./src/backends/aws/candidates.ts





const byPrice = (a, b) => (a.pricePerHour ?? Infinity) - (b.pricePerHour ?? Infinity) || a.instanceType.localeCompare(b.instanceType) || a.zone.localeCompare(b.zone) || (a.subnetId ?? '').localeCompare(b.subnetId ?? '');
/** Pure: every allowed (type, zone, market) under max_price, cheapest first within each market. */
function rankCandidates(inputs) {
    const spot = [];
    const od = [];
    const first = inputs[0];
    if (!first)
        return [];
    for (const inp of inputs) {
        const info = new Map(inp.types.map((t) => [t.instanceType, t]));
        for (const s of inp.slots) {
            const t = info.get(s.instanceType);
            if (!t)
                continue;
            const base = { region: inp.region, instanceType: s.instanceType, zone: s.zone, ...(s.subnetId ? { subnetId: s.subnetId } : {}), vcpus: t.vcpus, gpuCount: t.gpuCount, ...(t.gpuName ? { gpuName: t.gpuName } : {}) };
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
    }
    spot.sort(byPrice);
    od.sort(byPrice);
    return first.preferOnDemand ? [...od, ...spot] : [...spot, ...od];
}
function describeCandidate(c) {
    const price = c.pricePerHour === undefined ? 'price unknown' : `$${c.pricePerHour.toFixed(4)}/h`;
    return `${c.instanceType} ${c.market} in ${c.zone}${c.subnetId ? ` (${c.subnetId})` : ''} at ${price}`;
}
/** I/O: gathers types, zones and prices per region, then ranks. Throws UserError when nothing fits. */
async function findCandidates(clients, spec, o) {
    const inputs = [];
    const notes = [];
    for (const region of o.regions) {
        const ec2 = clients.ec2(region);
        let matched;
        try {
            matched = await describeMatchingTypes(ec2, spec.resources, spec.instanceTypes);
        }
        catch (e) {
            if (errorCode(e) !== 'InvalidInstanceType')
                throw e;
            notes.push(`${region}: instance_types names a type EC2 does not know here (${errorMessage(e)})`);
            continue;
        }
        const { fit, rejected } = matched;
        if (fit.length === 0) {
            const sample = spec.instanceTypes.length ? rejected.map((r) => `${r.instanceType}: ${r.why}`).join('; ') : `${rejected.length} types checked`;
            notes.push(`${region}: no instance type fits the resources (${sample || 'none of the given instance_types exist here'})`);
            continue;
        }
        const typeNames = fit.map((t) => t.instanceType);
        const subnets = await subnetZones(ec2, o.subnetIds);
        const zoneFilter = subnets.size ? [...new Set(subnets.values())] : [];
        const allowedZones = spec.availabilityZones.length ? (zoneFilter.length ? zoneFilter.filter((z) => spec.availabilityZones.includes(z)) : spec.availabilityZones) : zoneFilter;
        if ((spec.availabilityZones.length || subnets.size) && allowedZones.length === 0) {
            notes.push(`${region}: the subnets' zones (${[...subnets.values()].join(', ')}) are not in availability_zones (${spec.availabilityZones.join(', ')})`);
            continue;
        }
        const offered = await offeredZones(ec2, typeNames, allowedZones.length ? allowedZones : undefined);
        const regionSlots = slots(offered, subnets.size ? subnets : undefined);
        if (regionSlots.length === 0) {
            notes.push(`${region}: none of ${typeNames.slice(0, 8).join(', ')}${typeNames.length > 8 ? ', …' : ''} is offered in ${allowedZones.length ? allowedZones.join(', ') : 'any zone'}`);
            continue;
        }
        const offeredTypes = [...offered.keys()];
        const spotPrices = spec.spotPolicy === 'on-demand' ? new Map() : await latestSpotPrices(ec2, offeredTypes, allowedZones.length ? allowedZones : undefined, o.now);
        let pricing;
        try {
            pricing = spec.spotPolicy === 'spot' ? undefined : clients.pricing();
        }
        catch {
            pricing = undefined;
        }
        const odPrices = spec.spotPolicy === 'spot' ? new Map() : await onDemandPrices(pricing, region, offeredTypes, o.log);
        inputs.push({ region, types: fit, slots: regionSlots, spotPrices, onDemandPrices: odPrices, spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice, preferOnDemand: o.preferOnDemand });
    }
    const ranked = rankCandidates(inputs);
    if (ranked.length === 0) {
        const why = notes.length ? notes.join('\n') : `every matching type costs more than max_price ${spec.maxPrice} USD/h, or none is sold as ${spec.spotPolicy}`;
        throw new model/* UserError */.yo(`no EC2 instance type matches this workflow in ${o.regions.join(', ')}:\n${why}`, 'relax resources (gpu, cpu, memory), add instance_types or regions, raise max_price, or use spot_policy: auto');
    }
    return ranked;
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
    const profile = ctx.instanceProfile ? (ctx.instanceProfile.startsWith('arn:') ? { Arn: ctx.instanceProfile } : { Name: ctx.instanceProfile }) : undefined;
    return {
        ImageId: ctx.ami.imageId,
        InstanceType: c.instanceType,
        MinCount: 1,
        MaxCount: 1,
        ClientToken: clientToken(ctx, c),
        InstanceInitiatedShutdownBehavior: 'terminate',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [{ DeviceName: ctx.ami.rootDeviceName, Ebs: { VolumeSize: rootVolumeGiB(ctx.diskMiB, ctx.ami.rootSnapshotGiB), VolumeType: 'gp3', DeleteOnTermination: true } }],
        ...(profile ? { IamInstanceProfile: profile } : {}),
        ...(c.subnetId ? { SubnetId: c.subnetId } : { Placement: { AvailabilityZone: c.zone } }),
        ...(ctx.securityGroupIds.length ? { SecurityGroupIds: ctx.securityGroupIds } : {}),
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

;// CONCATENATED MODULE: ./src/backends/aws/instance-state.ts
/** The state of one instance (DescribeInstances), and what it means for an attempt. */


async function describeInstance(ec2, instanceId) {
    try {
        const out = await ec2.send(new client_ec2_dist_cjs/* DescribeInstancesCommand */.bNs({ InstanceIds: [instanceId] }));
        const i = out.Reservations?.[0]?.Instances?.[0];
        if (!i)
            return { state: 'missing', tags: {} };
        return {
            state: i.State?.Name ?? 'unknown',
            reasonCode: i.StateReason?.Code,
            reasonMessage: i.StateReason?.Message,
            tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
        };
    }
    catch (e) {
        // eventual consistency right after RunInstances
        if (errorCode(e) === 'InvalidInstanceID.NotFound')
            return { state: 'missing', tags: {} };
        throw e;
    }
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

// EXTERNAL MODULE: ./src/runner/render.ts + 2 modules
var render = __webpack_require__(7399);
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
    for (;;) {
        if (d.signal.aborted)
            return { kind: 'aborted' };
        try {
            const info = await ssm.send(new dist_cjs/* DescribeInstanceInformationCommand */.MXw({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
            ping = info.InstanceInformationList?.[0]?.PingStatus;
            if (ping === 'Online')
                return { kind: 'online' };
            lastState = await describeInstance(ec2, instanceId);
            if (isGone(lastState))
                return { kind: 'gone', state: lastState };
        }
        catch (e) {
            if (!isRetryable(e))
                throw e;
        }
        const elapsed = d.now() - start;
        if (elapsed >= d.timeoutSec * 1000)
            return { kind: 'timeout', lastState, pingStatus: ping };
        await sleepOrAbort(d.sleep, Math.min(adaptiveIntervalMs(elapsed, 3000, 10_000), d.timeoutSec * 1000 - elapsed), d.signal);
    }
}
function neverOnlineMessage(instanceId, timeoutSec, r, instanceProfile) {
    return [
        `instance ${instanceId} did not come Online in SSM within ${timeoutSec} s (state ${r.lastState?.state ?? 'unknown'}, SSM ping ${r.pingStatus ?? 'never registered'}); it was terminated.`,
        'Likely causes:',
        `  - the instance profile${instanceProfile ? ` ${instanceProfile}` : ' (none was given)'} lacks the AmazonSSMManagedInstanceCore policy`,
        '  - no route to the ssm, ssmmessages and ec2messages endpoints (a private subnet needs a NAT gateway or VPC endpoints; security groups must allow outbound HTTPS)',
        '  - the AMI has no SSM agent (the Deep Learning AMIs have one)',
        '  - the node takes longer to register: raise ssm-timeout'
    ].join('\n');
}
async function sendCommand(ssm, input) {
    const out = await ssm.send(new dist_cjs/* SendCommandCommand */.VWR(input));
    const id = out.Command?.CommandId;
    if (!id)
        throw new Error('SendCommand returned no command id');
    return id;
}
async function cancelCommand(ssm, commandId, instanceId) {
    try {
        await ssm.send(new dist_cjs/* CancelCommandCommand */.tal({ CommandId: commandId, InstanceIds: [instanceId] }));
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
        return { status: out.Status ?? 'Pending', statusDetails: out.StatusDetails, responseCode: out.ResponseCode };
    }
    catch (e) {
        if (errorCode(e) === 'InvocationDoesNotExist')
            return undefined;
        throw e;
    }
}
/**
 * Pure: the attempt's state from the invocation and the instance. A spot reclaim wins over
 * everything (the attempt is `interrupted`, never `failed`); then a finished invocation; then an
 * instance that disappeared under a running command (`lost`).
 */
function execState(inv, inst, spotInterrupted) {
    if (spotInterrupted)
        return { state: 'ended', interrupted: true, reason: `spot instance reclaimed by AWS (${inst?.reasonCode ?? 'interruption'})` };
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
                return { state: 'ended', exitCode: inv.responseCode !== undefined && inv.responseCode >= 0 ? inv.responseCode : undefined, reason: `the runner exited with ${inv.responseCode}` };
            case 'Cancelled':
                return { state: 'ended', reason: 'the SSM command was cancelled' };
            case 'TimedOut':
                return { state: 'ended', reason: inv.statusDetails === 'Delivery Timed Out' ? 'SSM could not deliver the command in time' : 'SSM stopped the command at its execution timeout (max_duration)' };
            default:
                // Undeliverable, Terminated, Access Denied, Invalid Platform …
                return { state: 'ended', lost: true, reason: `SSM command ${inv.statusDetails ?? inv.status}` };
        }
    }
    if (inst && (isGone(inst) || inst.state === 'missing')) {
        const why = inst.reasonCode === 'Client.InstanceInitiatedShutdown' ? 'the instance shut itself down (max_duration self-destruct?)' : `instance ${inst.state}${inst.reasonCode ? ` (${inst.reasonCode}: ${inst.reasonMessage ?? ''})` : ''}`;
        return { state: 'ended', lost: true, reason: why };
    }
    return { state: 'running' };
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
/** `/dstack/<repo hash>/<run>/<attempt>/env` (bootstrap.ts): only these are ever deleted */
const SECRET_NAME = /^\/dstack\/[0-9a-f]{12}\/[a-z0-9-]+\/\d+\/env$/;
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

// EXTERNAL MODULE: ./src/report/markdown.ts
var markdown = __webpack_require__(4285);
;// CONCATENATED MODULE: ./src/backends/aws/expired-credentials.ts
/** Expired credentials (aws-actions/configure-aws-credentials sessions are not refreshable). */


class ExpiredCredentialsError extends Error {
    instanceId;
    constructor(elapsedMs, what, instanceId) {
        super(`AWS credentials expired after ${(0,markdown/* formatDuration */.a3)(Math.max(0, Math.round(elapsedMs / 1000)))} while ${what}` +
            ` — raise role-duration-seconds (aws-actions/configure-aws-credentials; the role's maximum session duration too).` +
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

;// CONCATENATED MODULE: ./src/backends/aws/handle.ts







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
        const interval = Math.max(this.d.pollMinIntervalMs, this.d.pollMinIntervalMs > 0 ? adaptiveIntervalMs(now - this.d.sentAt) : 0);
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
    async release() {
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
    for (let attempt = 0;; attempt++) {
        try {
            const out = await ec2.send(new client_ec2_dist_cjs/* RunInstancesCommand */.zq7(input));
            const id = out.Instances?.[0]?.InstanceId;
            if (!id)
                return { ok: false, error: { kind: 'other', code: 'NoInstance', message: 'RunInstances returned no instance' } };
            return { ok: true, instanceId: id };
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
    const lines = tried.map((t) => `  - ${describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : `${t.code}: ${t.message}`}`);
    const hints = new Set();
    for (const t of tried) {
        if (t.skipped)
            continue;
        const q = quotaFor(t.candidate.instanceType);
        const region = t.candidate.region;
        const need = Math.max(t.candidate.vcpus, 4);
        if (t.code === 'MaxSpotInstanceCountExceeded') {
            hints.add(q.spot
                ? `raise the spot vCPU quota "${q.spot.name}" (${q.spot.code}) in ${region} to at least ${need}: ${quotaIncreaseCommand(q.spot.code, region, need)}`
                : `raise the ${q.group} spot vCPU quota in ${region} (Service Quotas, service ec2)`);
            if (o.spotPolicy === 'spot')
                hints.add('or allow on-demand: spot_policy: auto');
        }
        else if (t.code === 'VcpuLimitExceeded' || t.code === 'InstanceLimitExceeded') {
            hints.add(q.onDemand
                ? `raise the on-demand vCPU quota "${q.onDemand.name}" (${q.onDemand.code}) in ${region} to at least ${need}: ${quotaIncreaseCommand(q.onDemand.code, region, need)}`
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
    return new model/* NoCapacityError */.Iv(noCapacityMessage(tried, o), tried.map((t) => `${describeCandidate(t.candidate)}: ${t.skipped ? `skipped (${t.skipped})` : t.code}`));
}

;// CONCATENATED MODULE: ./src/backends/aws/clients.ts
/**
 * The one place AWS SDK clients are built (style-anchors §2, lesson 6). Credentials come from the
 * SDK's default provider chain, so aws-actions/configure-aws-credentials (OIDC), profiles and
 * instance roles all work. Retries are the SDK's own (`standard` mode, bounded attempts) except
 * for launches: `launchEc2` has maxAttempts 1 so a capacity error reaches our classification at
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
        ec2: (region) => once(`ec2:${region}`, () => new client_ec2_dist_cjs/* EC2Client */.gu5({ ...common, region, retryMode: 'standard', maxAttempts: cfg.maxAttempts ?? 5 })),
        launchEc2: (region) => once(`ec2-launch:${region}`, () => new client_ec2_dist_cjs/* EC2Client */.gu5({ ...common, region, maxAttempts: 1 })),
        ssm: (region) => once(`ssm:${region}`, () => new dist_cjs/* SSMClient */.jBj({ ...common, region, retryMode: 'adaptive', maxAttempts: cfg.maxAttempts ?? 6 })),
        pricing: () => once('pricing', () => new client_pricing_dist_cjs/* PricingClient */.c4({ ...common, region: 'us-east-1', retryMode: 'standard', maxAttempts: cfg.maxAttempts ?? 3 })),
        destroy() {
            for (const c of made.values())
                c.destroy();
            made.clear();
        }
    };
}

;// CONCATENATED MODULE: ./src/backends/aws/options.ts
/**
 * Options of the AWS backend. Where the run store lives is not an option: every `start()` gets it
 * in `StartRequest.store`. Everything here has a default except the region, which falls back to
 * the workflow's `regions`, then AWS_REGION / AWS_DEFAULT_REGION.
 */


const DEFAULT_AMI_PARAMETER = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id';
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
    const ami = (o.ami ?? '').trim() || DEFAULT_AMI_PARAMETER;
    if (!/^ami-[0-9a-f]{8,17}$/.test(ami) && !/^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/.test(ami)) {
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
    if (subnetIds.length > 0 && regions.length > 1)
        throw new model/* UserError */.yo('subnet ids belong to one region, but several regions were given', 'give one region with subnet ids, or no subnet ids');
    const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    return {
        regions: regions.length ? regions : envRegion ? [envRegion] : [],
        ami,
        instanceProfile: o.instanceProfile?.trim() || undefined,
        subnetIds,
        securityGroupIds,
        keyName: o.keyName || undefined,
        ssmTimeoutSec,
        tags: o.tags ?? {},
        cancelGraceSec: o.cancelGraceSec ?? 30,
        marginSec: o.marginSec ?? 900,
        throttleRetries: o.throttleRetries ?? 5,
        pollMinIntervalMs: o.pollMinIntervalMs ?? 2000,
        clientFactory: o.clientFactory ?? defaultClientFactory(),
        sleep: o.sleep ?? realSleep,
        now: o.now ?? Date.now,
        random: o.random ?? Math.random
    };
}
/** The regions a run may use: the workflow's `regions` narrow the configured ones. */
function runRegions(configured, workflowRegions) {
    if (workflowRegions.length === 0) {
        if (configured.length === 0)
            throw new model/* UserError */.yo('no AWS region', 'set the `region` input, AWS_REGION, or `regions` in the workflow');
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

;// CONCATENATED MODULE: ./src/backends/aws/backend.ts
/**
 * The AWS backend: ranked candidates → RunInstances one at a time → wait for SSM → SendCommand
 * the bootstrap, which fetches and runs the stored runner script. Logs, artifacts and status are
 * the runner's business (it writes them to the store); this backend only launches, watches,
 * stops and terminates.
 */














/** SendCommand delivery timeout: the node is Online, so delivery takes seconds */
const DELIVERY_TIMEOUT_SEC = 120;
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
        if (!o.instanceProfile)
            log('warning: no instance profile given: the instance cannot register with SSM or read the store unless Default Host Management is set up');
        const credentialsSince = this.createdAt;
        const expired = (e, what, id) => rethrowExpired(e, credentialsSince, o.now(), what, id);
        let candidates;
        try {
            candidates = await findCandidates(o.clientFactory, spec, { regions, subnetIds: o.subnetIds, preferOnDemand, now: new Date(o.now()), log });
        }
        catch (e) {
            return expired(e, 'listing instance types and prices');
        }
        log(`${candidates.length} candidate(s), in order: ${candidates.slice(0, 6).map(describeCandidate).join('; ')}${candidates.length > 6 ? '; …' : ''}`);
        const secretParameter = Object.keys(req.secretEnv).length ? secretParameterName(req.repoId, req.runName, req.attempt) : undefined;
        const secretValue = secretParameter ? secretEnvPayload(req.secretEnv) : undefined;
        const amis = new Map();
        const tried = [];
        const spotQuotaHit = new Set();
        const odQuotaHit = new Set();
        let live;
        let secretRegion;
        try {
            for (const c of candidates) {
                if (req.signal.aborted)
                    throw new CancelledError('while starting a machine');
                const group = quotaFor(c.instanceType).group;
                if (c.market === 'spot' && spotQuotaHit.has(group)) {
                    tried.push({ candidate: c, code: 'MaxSpotInstanceCountExceeded', message: '', skipped: `the ${group} spot quota is exhausted` });
                    continue;
                }
                if (c.market === 'on-demand' && odQuotaHit.has(group)) {
                    tried.push({ candidate: c, code: 'VcpuLimitExceeded', message: '', skipped: `the ${group} on-demand quota is exhausted` });
                    continue;
                }
                let ami = amis.get(c.region);
                if (!ami) {
                    try {
                        ami = await resolveAmi(o.clientFactory.ssm(c.region), o.clientFactory.ec2(c.region), o.ami, c.region);
                    }
                    catch (e) {
                        return expired(e, 'resolving the AMI');
                    }
                    amis.set(c.region, ami);
                    log(`AMI ${ami.imageId} (${ami.source}) in ${c.region}`);
                }
                const input = runInstancesInput({ runName: req.runName, repoId: req.repoId, attempt: req.attempt, ami, diskMiB: spec.resources.diskMiB.min, maxPrice: spec.maxPrice, maxDurationSec: spec.maxDurationSec, marginSec: o.marginSec, instanceProfile: o.instanceProfile, securityGroupIds: o.securityGroupIds, keyName: o.keyName, tags: o.tags, now: o.now() }, c);
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
                    if (err.kind === 'fatal')
                        throw new model/* UserError */.yo(`RunInstances failed for ${describeCandidate(c)}: ${err.code}: ${err.message}`, 'check the CI role\'s permissions (examples/iam/ci-role-policy.json), the AMI, subnets, security groups and instance profile');
                    if (err.kind === 'spot-quota')
                        spotQuotaHit.add(group);
                    if (err.kind === 'on-demand-quota')
                        odQuotaHit.add(group);
                    log(`${c.instanceType} ${c.market} in ${c.zone}: ${err.code}: ${err.message}`);
                    tried.push({ candidate: c, code: err.code, message: err.message });
                    continue;
                }
                const id = r.instanceId;
                const machine = { id, backend: 'aws', instanceType: c.instanceType, market: c.market, region: c.region, zone: c.zone, ...(c.pricePerHour !== undefined ? { pricePerHour: c.pricePerHour } : {}), priceSource: c.priceSource, launchedAt: new Date(o.now()).toISOString() };
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
                    tried.push({ candidate: c, code: online.state.reasonCode ?? 'InstanceGone', message: `instance ${id} went ${why}` });
                    continue;
                }
                if (online.kind === 'timeout') {
                    await terminate(ec2, [id]);
                    live = undefined;
                    throw new model/* UserError */.yo(neverOnlineMessage(id, o.ssmTimeoutSec, online, o.instanceProfile));
                }
                if (secretParameter && secretRegion !== c.region) {
                    await ssm.send(new dist_cjs/* PutParameterCommand */.ihh({ Name: secretParameter, Value: secretValue, Type: 'SecureString', Overwrite: true, Tier: 'Intelligent-Tiering', Description: `dstack run ${req.runName} attempt ${req.attempt}: secret env (deleted when the attempt ends)` }));
                    secretRegion = c.region;
                }
                const execTimeout = spec.maxDurationSec + o.marginSec;
                if (execTimeout > MAX_EXECUTION_TIMEOUT)
                    log(`max_duration ${spec.maxDurationSec} s is longer than SSM allows for one command (48 h): SSM stops the runner at 48 h`);
                const attemptFolder = fullKey(store.prefix, req.runnerScriptKey).replace(/[^/]+$/, '');
                const commandId = await sendCommand(ssm, {
                    DocumentName: 'AWS-RunShellScript',
                    InstanceIds: [id],
                    TimeoutSeconds: DELIVERY_TIMEOUT_SEC,
                    Comment: `dstack ${req.runName} attempt ${req.attempt}`.slice(0, 100),
                    Parameters: {
                        commands: renderBootstrap({ bucket: store.bucket, scriptKey: fullKey(store.prefix, req.runnerScriptKey), s3Region: store.region ?? c.region, s3Endpoint: store.endpoint, region: c.region, secretParameter }),
                        executionTimeout: [String(Math.min(execTimeout, MAX_EXECUTION_TIMEOUT))]
                    },
                    // a custom endpoint (MinIO…) is not reachable by the SSM service itself
                    ...(store.endpoint ? {} : { OutputS3BucketName: store.bucket, OutputS3KeyPrefix: `${attemptFolder}ssm`, ...(store.region ? { OutputS3Region: store.region } : {}) })
                });
                log(`SSM command ${commandId} started the runner on ${id}`);
                const handle = new AwsAttemptHandle({ ec2, ssm, machine, commandId, sentAt: o.now(), secretParameter, now: o.now, credentialsSince, cancelGraceSec: o.cancelGraceSec, pollMinIntervalMs: o.pollMinIntervalMs, log });
                live = undefined;
                return handle;
            }
            throw noCapacityError(tried, { spotPolicy: spec.spotPolicy, maxPrice: spec.maxPrice });
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
    /** The post step / after_script: terminate a recorded instance and delete its secret parameter. */
    async releaseMachine(machine) {
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
        await terminate(ec2, [machine.id]);
        const run = tags[TAG.run];
        const repo = tags[TAG.repo];
        const attempt = Number(tags[TAG.attempt]);
        if (run && repo && Number.isInteger(attempt))
            await deleteSecretParameter(this.options.clientFactory.ssm(region), secretParameterName(repo, run, attempt)).catch(() => undefined);
    }
    /** Terminate instances tagged `dstack:run` whose `dstack:expires-at` is past, in every configured region. */
    async cleanupExpired(opts = {}) {
        const regions = this.options.regions;
        if (regions.length === 0)
            throw new model/* UserError */.yo('no AWS region for cleanup', 'set the region input or AWS_REGION');
        const terminated = [];
        const deletedSecrets = [];
        const now = opts.now ?? this.options.now();
        const log = opts.log ?? (() => undefined);
        for (const region of regions) {
            terminated.push(...(await cleanupExpiredIn(this.options.clientFactory.ec2(region), now, Boolean(opts.dryRun), log)));
            deletedSecrets.push(...(await cleanupStaleSecretsIn(this.options.clientFactory.ssm(region), now, Boolean(opts.dryRun), log)));
        }
        return { terminated, deletedSecrets };
    }
    /** destroy the SDK clients (lets the process exit promptly) */
    close() {
        this.options.clientFactory.destroy();
    }
}

;// CONCATENATED MODULE: ./src/backends/aws/cost.ts
/**
 * EC2 Linux bills per second with a 60 s minimum. AWS does not bill a spot instance that AWS
 * itself interrupts within its first hour (pass `interrupted`), which the note says.
 */
function attemptCost(machine, startedAt, endedAt, opts = {}) {
    const ms = new Date(endedAt).getTime() - new Date(startedAt).getTime();
    const billedSeconds = Math.max(60, Math.ceil(Math.max(0, ms) / 1000));
    if (machine.pricePerHour === undefined)
        return { usd: 0, billedSeconds, note: 'no price known for this machine' };
    if (opts.interrupted && machine.market === 'spot' && billedSeconds < 3600) {
        return { usd: 0, billedSeconds, note: 'spot instance interrupted by AWS within its first hour: not billed' };
    }
    const usd = Math.round(((machine.pricePerHour * billedSeconds) / 3600) * 1e6) / 1e6;
    return { usd, billedSeconds, ...(machine.priceSource ? { note: `price from ${machine.priceSource}` } : {}) };
}

;// CONCATENATED MODULE: ./src/backends/aws/index.ts
/** The AWS backend (issue 4): spot/on-demand GPU EC2 + SSM Run Command. */













/** `createBackend('aws', { aws })` (src/backends/index.ts) passes the entries' loose option record. */
function createAwsBackend(opts = {}) {
    return new AwsBackend(opts);
}


/***/ })

};
