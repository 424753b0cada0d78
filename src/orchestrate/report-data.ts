/**
 * What a run's section needs beyond its record, read from the store: the job's metrics and report
 * (artifacts `_dstack/metrics.jsonl`, `_dstack/report.md`), the tail of the last attempt's log,
 * and the baseline run with its metrics (input `baseline`: a tag, a run name, or `auto`).
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { UserError } from '../model/errors.js'
import { trustLabel, trustOf } from '../model/trust.js'
import type { RunStore } from '../store/index.js'
import { IntegrityError, keys, verifiedArtifact } from '../store/index.js'
import { parseMetrics, type RunMetrics } from '../report/metrics.js'
import type { BaselineInfo } from '../report/section.js'
import { failingNode, isMultiNode } from '../report/node-results.js'

export const METRICS_PATH = '_dstack/metrics.jsonl'
export const REPORT_PATH = '_dstack/report.md'
/** bytes of log read back for the tail (from the end) */
const LOG_TAIL_BYTES = 64 * 1024
const REPORT_MAX_BYTES = 4 * 1024 * 1024

export interface ReportData {
  metrics?: RunMetrics
  report?: string
  logText?: string
  /** multi-node: the node `logText` is from */
  logRank?: number
  baseline?: BaselineInfo
  /** the scratch folder the last attempt's runner made of the instance-store disks (its status.json) */
  scratch?: string
}

export interface ReportDataOptions {
  /** '' or undefined: no baseline; `auto`; a tag; a run name (`:tag` forces a tag) */
  baseline?: string
  /** the pull / merge request's target branch (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME) */
  baseBranch?: string
  /** `auto` and tags may pick untrusted runs (default: trusted runs only; docs/trust-model.md) */
  untrustedRuns?: boolean
  /** the CI's masking of secret values, applied to the log before it is shown */
  redact?: (text: string) => string
}

async function artifactText(store: RunStore, repoId: string, run: string, manifest: ManifestEntry[], path: string, max: number): Promise<string | undefined> {
  const entry = manifest.find((e) => e.path === path)
  if (!entry || entry.size > max) return undefined
  const buf = await store.store.get(keys.artifacts(repoId, run, path))
  return buf?.toString('utf8')
}

export async function readRunMetrics(store: RunStore, repoId: string, run: string, manifest?: ManifestEntry[]): Promise<RunMetrics | undefined> {
  const m = manifest ?? (await store.readManifest(repoId, run)) ?? []
  const text = await artifactText(store, repoId, run, m, METRICS_PATH, 16 * 1024 * 1024)
  return text === undefined ? undefined : parseMetrics(text)
}

/**
 * A baseline run's metrics, checked against the hashes that run recorded (store/integrity.ts): a
 * forged file is never compared with; the integrity error says why there is no baseline.
 */
async function baselineMetrics(store: RunStore, rec: RunRecord): Promise<{ metrics?: RunMetrics; error?: string }> {
  try {
    const bytes = await verifiedArtifact(store, rec, METRICS_PATH, 16 * 1024 * 1024)
    return bytes === undefined ? {} : { metrics: parseMetrics(bytes.toString('utf8')) }
  } catch (e) {
    if (e instanceof IntegrityError) return { error: e.message }
    throw e
  }
}

/**
 * the end of the last attempt's log (whole chunks, at least LOG_TAIL_BYTES when there are that many);
 * `rank`: of that node of a multi-node attempt
 */
export async function readLogTail(store: RunStore, r: RunRecord, rank?: number): Promise<string | undefined> {
  const n = r.attempts.length
  if (!n) return undefined
  const seqs = await store.listLogChunks(r.repoId, r.run, n, rank)
  const parts: Buffer[] = []
  let size = 0
  for (let i = seqs.length - 1; i >= 0 && size < LOG_TAIL_BYTES; i--) {
    const b = await store.readLogChunk(r.repoId, r.run, n, seqs[i]!, rank)
    if (!b) continue
    parts.unshift(b)
    size += b.length
  }
  if (!parts.length) return undefined
  let buf = Buffer.concat(parts)
  if (buf.length > LOG_TAIL_BYTES) {
    buf = buf.subarray(buf.length - LOG_TAIL_BYTES)
    const nl = buf.indexOf(0x0a)
    if (nl >= 0) buf = buf.subarray(nl + 1) // start at a whole line (and never inside a UTF-8 sequence)
  }
  return buf.toString('utf8')
}

/** the baseline run for `ref`; `missing` says why there is none */
export async function resolveBaseline(store: RunStore, r: RunRecord, ref: string | undefined, baseBranch?: string, opts: { untrustedRuns?: boolean } = {}): Promise<BaselineInfo | undefined> {
  const usable = (x: RunRecord) => opts.untrustedRuns || trustOf(x).trusted
  const want = (ref ?? '').trim()
  if (!want || want === 'none' || want === 'false') return undefined
  let baseRun: RunRecord | undefined
  let label: string
  if (want === 'auto') {
    const branch = baseBranch || r.revision.branch
    const which = opts.untrustedRuns ? 'succeeded' : 'trusted succeeded'
    label = `auto: latest ${which} ${r.workflow} run on ${branch ?? 'this branch'}`
    if (!branch) return { label, missing: 'the branch of this run is not known, so auto has nothing to compare with' }
    const runs = await store.listRuns(r.repoId)
    const candidates = runs.filter((x) => x.run !== r.run && x.workflow === r.workflow && x.status === 'succeeded' && x.revision.branch === branch && x.submittedAt <= r.submittedAt && usable(x))
    if (!candidates.length) return { label, missing: `no ${which} run of ${r.workflow} on ${branch} yet` }
    // the newest one that stored metrics (a few tries: older runs may predate DSTACK_METRICS)
    for (const c of candidates.slice(0, 20)) {
      const { metrics, error } = await baselineMetrics(store, c)
      if (error) return { label, run: c.run, missing: error }
      if (metrics) return { label, run: c.run, metrics }
    }
    baseRun = candidates[0]!
  } else {
    const asTag = want.startsWith(':') ? want.slice(1) : want
    let tag
    try {
      tag = await store.findTag(r.repoId, asTag, { untrusted: opts.untrustedRuns })
    } catch (e) {
      if (!(e instanceof UserError)) throw e
    }
    if (tag) {
      label = `${tag.trusted === false ? 'untrusted ' : ''}tag ${asTag}`
      baseRun = await store.getRun(r.repoId, tag.run)
      // a trusted tag that points at an untrusted run was not written by this tool
      if (baseRun && !usable(baseRun)) return { label, run: baseRun.run, missing: `run ${baseRun.run} is ${trustLabel(trustOf(baseRun))}` }
    } else {
      label = `run ${want}`
      try {
        baseRun = want.startsWith(':') ? undefined : await store.getRun(r.repoId, want)
      } catch (e) {
        if (!(e instanceof UserError)) throw e
      }
      // a run named explicitly is used whatever its trust, and says which it is
      if (baseRun) label = `run ${want}, ${trustLabel(trustOf(baseRun))}`
    }
    if (!baseRun) return { label, missing: `no tag or run ${want} in ${r.repoId}` }
  }
  if (baseRun.run === r.run) return { label, run: baseRun.run, missing: 'the baseline is this run itself' }
  const { metrics, error } = await baselineMetrics(store, baseRun)
  if (error) return { label, run: baseRun.run, missing: error }
  if (!metrics) return { label, run: baseRun.run, missing: `run ${baseRun.run} stored no metrics` }
  return { label, run: baseRun.run, metrics }
}

/** what the last attempt's runner (the master's) says of its scratch folder; nothing when it cannot be read */
async function readScratch(store: RunStore, r: RunRecord, rank?: number): Promise<string | undefined> {
  const n = r.attempts.length
  if (!n || r.backend === 'local') return undefined
  const st = await store.readStatus(r.repoId, r.run, n, rank).catch(() => undefined)
  return typeof st?.scratch === 'string' ? st.scratch.slice(0, 200) : undefined
}

export async function loadReportData(store: RunStore, r: RunRecord, manifest: ManifestEntry[], o: ReportDataOptions = {}): Promise<ReportData> {
  // a multi-node run's logs are per node: the tail of the node that failed, else the master's
  const logRank = isMultiNode(r) ? (failingNode(r)?.rank ?? 0) : undefined
  const [metrics, report, log, baseline, scratch] = await Promise.all([
    readRunMetrics(store, r.repoId, r.run, manifest),
    artifactText(store, r.repoId, r.run, manifest, REPORT_PATH, REPORT_MAX_BYTES),
    r.status === 'succeeded' ? Promise.resolve(undefined) : readLogTail(store, r, logRank),
    resolveBaseline(store, r, o.baseline, o.baseBranch, { untrustedRuns: o.untrustedRuns }),
    readScratch(store, r, isMultiNode(r) ? 0 : undefined)
  ])
  const redact = o.redact ?? ((t: string) => t)
  return { metrics, report, logText: log === undefined ? undefined : redact(log), logRank: log === undefined ? undefined : logRank, baseline, ...(scratch ? { scratch } : {}) }
}
