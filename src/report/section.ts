/**
 * Pure: a run's whole section, as the job summary, the PR / MR comment and `dstack-run report`
 * show it: the status and attempts (markdown.ts), then why it failed (the failing command and the
 * last lines of its log), the metrics against the baseline with charts of the series, the job's
 * own report, and the artifacts. Everything that came from a user, the job, the CI or the store is
 * escaped for its place (md-escape.ts); the job's report is sanitised (job-report.ts) and
 * shortened last, so the section fits its platform's limit.
 */
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { runMarkdown, type MarkdownContext } from './markdown.js'
import { cellCode, codeSpan, escapeCell, escapeText, fencedBlock, link, type LinkPolicy } from './md-escape.js'
import { compareMetrics, formatDelta, formatMetric, VERDICT_MARK, type DirectionConfig, type RunMetrics } from './metrics.js'
import { seriesChart } from './chart.js'
import { sanitizeJobReport, shortenMarkdown } from './job-report.js'
import { failingNode, lastAttemptNodes } from './node-results.js'
import { nodeLabelMarkdown } from './node-table.js'

/** GitHub: 65,536 characters per comment, 1 MiB per step summary; GitLab: 1,000,000 characters per note */
export const LIMITS = {
  githubComment: 65_536,
  githubSummaryBytes: 1024 * 1024,
  gitlabNote: 1_000_000
} as const

export const LOG_TAIL_LINES = 40
export const LOG_TAIL_CHARS = 4_000
const LOG_LINE_CHARS = 300
/** charts drawn at most (one per series metric) */
export const MAX_CHARTS = 4

export interface BaselineInfo {
  /** how it was chosen: `tag latest-main`, `run wet-mangust-3`, `auto: latest succeeded run on main` */
  label: string
  run?: string
  metrics?: RunMetrics
  /** why there is none (shown instead of the comparison) */
  missing?: string
}

export interface SectionExtras {
  metrics?: RunMetrics
  baseline?: BaselineInfo
  directions?: DirectionConfig
  /** the job's report as it wrote it (sanitised here) */
  report?: string
  /** where the whole report is, in words with a link or a path (already escaped markdown) */
  reportWholeAt?: string
  /** relative targets of the report (artifact paths) → URLs */
  resolveReportTarget?: (target: string, kind: 'image' | 'link') => string | undefined
  missingImageNote?: string
  /** a line under the report (e.g. how long its image links last; escaped markdown) */
  reportNote?: string
  /** the log of the last attempt, already redacted */
  logText?: string
  /** multi-node: the rank of the node `logText` is from (the failing node, else the master) */
  logNode?: number
  /** link to the workflow file at the failing command's line */
  sourceUrl?: (file: string, line: number) => string | undefined
  /** a sentence on where the artifacts are, when they are not linked (escaped markdown) */
  artifactsNote?: string
  /** the scratch folder of the machine's instance-store disks, as its runner described it */
  scratch?: string
}

export interface SectionContext extends MarkdownContext {
  policy: LinkPolicy
  extras?: SectionExtras
}

/** the last lines of a log, without terminal colour codes, each line and the whole length-limited */
export function logTail(text: string, maxLines = LOG_TAIL_LINES, maxChars = LOG_TAIL_CHARS): { text: string; shown: number; total: number } {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r\n?/g, '\n').replace(/\n+$/, '')
  const all = clean === '' ? [] : clean.split('\n')
  const out: string[] = []
  let size = 0
  for (let i = all.length - 1; i >= 0 && out.length < maxLines; i--) {
    let line = all[i]!
    if (line.length > LOG_LINE_CHARS) line = line.slice(0, LOG_LINE_CHARS) + ' …'
    if (size + line.length + 1 > maxChars) break
    out.unshift(line)
    size += line.length + 1
  }
  return { text: out.join('\n'), shown: out.length, total: all.length }
}

const STEP_RE = /`(setup|commands)\[(\d+)\]`/

/**
 * `commands[2]` in a runner reason → which entry of the spec failed. A multi-node run: the failing
 * node's reason, and its group's `commands` when the task has groups.
 */
export function failingStep(r: RunRecord): { kind: 'setup' | 'commands'; index: number; command?: string; line?: number } | undefined {
  const node = failingNode(r)
  const m = STEP_RE.exec(node?.reason ?? '') ?? STEP_RE.exec(r.reason ?? '')
  if (!m) return undefined
  const kind = m[1] as 'setup' | 'commands'
  const index = Number(m[2]) - 1
  const group = node?.group !== undefined ? r.spec.groups?.find((g) => g.name === node.group) : undefined
  const list = (kind === 'commands' && group ? group.commands : r.spec[kind]) ?? []
  const lines = kind === 'commands' ? (group ? group.commandLines : r.spec.commandLines) : r.spec.setupLines
  return { kind, index, command: list[index], line: lines?.[index] ?? r.spec.source?.line }
}

function failureBlock(r: RunRecord, x: SectionExtras, policy: LinkPolicy): string[] {
  if (r.status === 'succeeded' || r.status === 'running' || r.status === 'submitted' || r.status === 'provisioning' || r.status === 'uploading') return []
  const out: string[] = []
  const step = failingStep(r)
  if (step) {
    const file = r.spec.source?.file
    const where = file && step.line ? `${file}:${step.line}` : undefined
    const at = where ? ` at ${link(where, x.sourceUrl?.(file!, step.line!), policy, { showUrl: false })}` : ''
    const cmd = step.command ? ` ${codeSpan((step.command.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 200))}` : ''
    out.push(`**Failed command:** ${codeSpan(`${step.kind}[${step.index + 1}]`)}${cmd}${at}`, '')
  }
  if (x.logText !== undefined) {
    const tail = logTail(x.logText)
    if (tail.shown) {
      const node = x.logNode === undefined ? undefined : (lastAttemptNodes(r).find((n) => n.rank === x.logNode) ?? { rank: x.logNode })
      const of = node ? ` of ${nodeLabelMarkdown(node)}` : ''
      out.push(`**Last ${tail.shown} of ${tail.total} log lines${of}** (secrets redacted):`, '', fencedBlock(tail.text, 'text'), '')
    }
  }
  return out
}

function metricsBlock(x: SectionExtras): string[] {
  const cur = x.metrics
  const hasFinal = cur && Object.keys(cur.final).length > 0
  if (!hasFinal) return []
  const b = x.baseline
  const base = b?.metrics
  const rows = compareMetrics(cur, base, x.directions)
  const out: string[] = []
  if (base) {
    const worse = rows.filter((r) => r.verdict === 'worse').length
    const better = rows.filter((r) => r.verdict === 'better').length
    out.push(`**Metrics** against the baseline ${escapeText(b!.label)}${b!.run ? ` (run ${codeSpan(b!.run)})` : ''}: ${better} better, ${worse} worse`, '')
    out.push('| Metric | This run | Baseline | Difference | |', '|---|---:|---:|---:|---|')
    for (const r of rows) {
      out.push(`| ${cellCode(r.name)} ${r.direction === 'lower' ? '↓' : '↑'} | ${formatMetric(r.value)} | ${formatMetric(r.baseline)} | ${escapeCell(formatDelta(r))} | ${VERDICT_MARK[r.verdict]} |`)
    }
    out.push('', '*↓ lower is better, ↑ higher is better (input `lower-is-better` / `higher-is-better` changes it).*', '')
  } else {
    out.push(`**Metrics**${b?.missing ? ` (no baseline: ${escapeText(b.missing)})` : ''}`, '')
    out.push('| Metric | Value |', '|---|---:|')
    for (const r of rows) out.push(`| ${cellCode(r.name)} | ${formatMetric(r.value)} |`)
    out.push('')
  }
  const names = Object.keys(cur!.series).slice(0, MAX_CHARTS)
  for (const name of names) {
    const chart = seriesChart({ name, current: cur!.series[name]!, baseline: base?.series[name], baselineLabel: base ? (b!.run ?? b!.label) : undefined })
    if (chart) out.push(chart, '')
  }
  if (Object.keys(cur!.series).length > names.length) out.push(`*${Object.keys(cur!.series).length - names.length} more series not drawn.*`, '')
  return out
}

function reportBlock(x: SectionExtras, policy: LinkPolicy, budget: number): string[] {
  if (!x.report || x.report.trim() === '') return []
  const clean = sanitizeJobReport(x.report, { policy, resolve: x.resolveReportTarget, missingImageNote: x.missingImageNote })
  const heading = '#### Report from the job'
  const room = budget - heading.length - 10
  if (room < 400) return [heading, '', `*The job wrote a report (${x.report.length.toLocaleString('en-US')} characters), left out here for length. ${x.reportWholeAt ?? ''}*`, '']
  const note = x.reportNote ? ['', x.reportNote] : []
  const short = shortenMarkdown(clean.markdown, room - (x.reportNote?.length ?? 0) - 2, x.reportWholeAt ?? '')
  return [heading, '', short.markdown, ...note, '']
}

/** the section's markdown, within `ctx.maxChars` */
export function runSection(r: RunRecord, manifest: ManifestEntry[], ctx: SectionContext): string {
  const x = ctx.extras ?? {}
  const max = ctx.maxChars ?? 60_000
  const before = [...failureBlock(r, x, ctx.policy), ...metricsBlock(x)]
  const note = x.artifactsNote ? [x.artifactsNote, ''] : []
  if (x.scratch) ctx = { ...ctx, scratch: x.scratch }
  const withoutReport = runMarkdown(r, manifest, { ...ctx, blocks: [...before, ...note], maxChars: max })
  const budget = max - withoutReport.length - 200
  const report = reportBlock(x, ctx.policy, budget)
  if (!report.length) return withoutReport
  return runMarkdown(r, manifest, { ...ctx, blocks: [...before, ...report, ...note], maxChars: max })
}
