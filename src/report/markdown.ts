/** Pure: a run → the markdown of the job summary, the PR / MR comment and `--markdown`. */
import { diskRow } from './disk-row.js'
import type { ManifestEntry, RunRecord } from '../model/index.js'
import { runDurationSec } from './outputs.js'
import { cellCode, codeSpan, escapeCell as escapeCellText, escapeText, link, policyFor, type LinkPolicy } from './md-escape.js'
import { shortenMarkdown } from './job-report.js'
import { nodesStatusRow, nodeTable } from './node-table.js'

const ICON: Record<string, string> = {
  succeeded: '✅',
  failed: '❌',
  interrupted: '⚡',
  cancelled: '⏹️',
  'timed-out': '⏱️',
  submitted: '⏳',
  provisioning: '⏳',
  running: '🏃',
  uploading: '⏫'
}

/** text for a table cell (md-escape.ts) */
export function escapeCell(s: string): string {
  return escapeCellText(s)
}

export function formatDuration(sec: number | undefined): string {
  if (sec === undefined) return '—'
  const h = Math.floor(sec / 3600)
  const m = Math.floor((sec % 3600) / 60)
  const s = sec % 60
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

export interface MarkdownContext {
  artifactUrl: (path: string) => string
  artifactsUrl: string
  /** the CI job that ran it (its log) */
  jobUrl?: string
  /** cap for the whole text (a PR comment holds 65,536 characters, a summary 1 MiB) */
  maxChars?: number
  /** hosts links may point at (default: the artifacts URL's host) */
  policy?: LinkPolicy
  /** the scratch folder the runner made of the machine's instance-store disks (status.json `scratch`) */
  scratch?: string
  /** more markdown (failure, metrics, report: section.ts), placed before the artifacts */
  blocks?: string[]
}

export function runMarkdown(r: RunRecord, manifest: ManifestEntry[], ctx: MarkdownContext): string {
  const lines: string[] = []
  const rev = r.revision
  const policy = ctx.policy ?? policyFor([ctx.artifactsUrl])
  lines.push(`### ${ICON[r.status] ?? ''} ${codeSpan(r.workflow)} — run ${codeSpan(r.run)} ${r.status}`)
  lines.push('')
  if (r.reason && r.status !== 'succeeded') lines.push(`> ${escapeText(r.reason)}`, '')
  lines.push('| | |', '|---|---|')
  lines.push(`| Status | ${r.status}${r.exitCode !== undefined ? ` (exit code ${r.exitCode})` : ''} |`)
  lines.push(`| Revision | ${cellCode(rev.sha.slice(0, 12))}${rev.branch ? ` on ${cellCode(rev.branch)}` : ''}${rev.pr ? ` (PR/MR #${rev.pr})` : ''}${rev.diffSha256 ? ' + local changes' : ''} |`)
  lines.push(`| Backend | ${r.backend} |`)
  if (r.trust) lines.push(`| Trust | ${r.trust.trusted ? 'trusted' : '**untrusted**'}: ${escapeCell(r.trust.trigger)} |`)
  for (const d of r.provenance?.deps ?? []) {
    const trust = d.trusted === undefined ? '' : ` — ${d.trusted ? 'trusted' : '**untrusted**'}${d.via ? `, by ${escapeCell(d.via)}` : ''}`
    lines.push(`| Dep ${cellCode(d.label)} | run ${cellCode(d.run)}${d.repoId !== r.repoId ? ` in ${cellCode(d.repoId)}` : ''}${trust} |`)
  }
  lines.push(...nodesStatusRow(r))
  lines.push(`| Duration | ${formatDuration(runDurationSec(r))} |`)
  if (r.costUsd !== undefined) lines.push(`| Cost | $${r.costUsd.toFixed(4)} |`)
  lines.push(...diskRow(r, ctx.scratch))
  if (r.tags.length) lines.push(`| Tags | ${r.tags.map((t) => cellCode(t)).join(', ')} |`)
  if (ctx.jobUrl) lines.push(`| Job log | ${link('open the CI job', ctx.jobUrl, policy, { inTable: true, showUrl: true })} |`)
  lines.push('')
  if (r.attempts.length) {
    lines.push('| Attempt | Machine | Market | Price/h | Status | Reason |', '|---|---|---|---|---|---|')
    for (const a of r.attempts) {
      const m = a.machine
      lines.push(
        `| ${a.n} | ${escapeCell([m?.instanceType, m?.zone, m?.id, m?.regionsTried && m.regionsTried.length > 1 ? `(regions tried: ${m.regionsTried.join(' → ')})` : undefined].filter(Boolean).join(' ') || '—')} | ${m?.market ?? '—'} | ${m?.pricePerHour !== undefined ? `$${m.pricePerHour.toFixed(4)}${m.priceSource ? ` (${escapeCell(m.priceSource)})` : ''}` : '—'} | ${a.status ?? '…'} | ${escapeCell(a.reason ?? '')} |`
      )
    }
    lines.push('')
  }
  lines.push(...nodeTable(r, (ctx.maxChars ?? 60_000) / 3))
  if (ctx.blocks?.length) lines.push(...ctx.blocks)
  if (manifest.length) {
    const all = link('all', ctx.artifactsUrl, policy)
    lines.push(`**Artifacts**${all === 'all' ? '' : ` (${all})`}: ${manifest.length} files, ${formatBytes(manifest.reduce((a, e) => a + e.size, 0))}`, '')
    lines.push('| File | Size | sha256 |', '|---|---|---|')
    const shown = manifest.slice(0, 50)
    for (const e of shown) lines.push(`| ${link(e.path, ctx.artifactUrl(e.path), policy, { inTable: true })} | ${formatBytes(e.size)} | ${cellCode(e.sha256.slice(0, 12))} |`)
    if (manifest.length > shown.length) lines.push(`| … ${manifest.length - shown.length} more | | |`)
    lines.push('')
  }
  let text = lines.join('\n')
  const max = ctx.maxChars ?? 60_000
  if (text.length > max) text = shortenMarkdown(text, max, 'The whole record: `dstack-run report ' + r.run + '`.', 'section').markdown + '\n'
  return text
}
