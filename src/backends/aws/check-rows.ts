/** Pure: the rows of a preflight check (no SDK import, so the CLI can print them without loading AWS). */
export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface CheckRow {
  check: string
  status: CheckStatus
  detail: string
  fix?: string
}

export function formatRows(rows: CheckRow[]): string {
  const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const
  return rows.map((r) => `${mark[r.status]}  ${r.check}: ${r.detail}${r.fix ? `\n      fix: ${r.fix}` : ''}`).join('\n')
}

