/** The action's `mode: check`: the AWS preflight in the log and the job summary; fails the step when a check fails. */
import * as core from '@actions/core'
import { resolve as resolvePath } from 'node:path'
import type { StoreLocation } from '../model/index.js'
import { checkFailed, runAwsCheck } from './check.js'
import { formatRows } from '../backends/aws/check-rows.js'

export async function actionCheck(aws: Record<string, unknown>, store: StoreLocation): Promise<void> {
  const workflow = core.getInput('workflow') || undefined
  const repoDir = resolvePath(process.env.GITHUB_WORKSPACE ?? process.cwd(), core.getInput('working-directory') || '.')
  const rows = await runAwsCheck({ aws, store: store.kind === 's3' ? store : undefined, repoDir, workflow, log: (l) => core.info(l) })
  core.info(formatRows(rows))
  core.setOutput('checks', JSON.stringify(rows))
  const esc = (t: string) => t.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ')
  await core.summary
    .addHeading('dstack run: AWS check', 3)
    .addRaw(['| | check | found | fix |', '|---|---|---|---|', ...rows.map((r) => `| ${r.status === 'ok' ? '✅' : r.status === 'warn' ? '⚠️' : '❌'} | ${esc(r.check)} | ${esc(r.detail)} | ${esc(r.fix ?? '')} |`)].join('\n') + '\n')
    .write()
    .catch(() => undefined)
  if (checkFailed(rows)) core.setFailed(`${rows.filter((r) => r.status === 'fail').length} AWS check(s) failed; each row says what to change`)
}
