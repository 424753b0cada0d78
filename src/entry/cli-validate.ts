/**
 * `dstack-run validate`: every workflow file of the repository, read the way `run` reads it.
 * Lists the runnable workflows (with the names derived from paths), the skipped ones with their
 * reasons, every problem with file:line:column, and the warnings. Exit 1 only when there are
 * problems. `--json` always prints exactly one JSON document on stdout (README "validate --json").
 */
import type { Command } from 'commander'
import { effectiveSettings, loadWorkflows, type LoadedWorkflows } from '../workflows/index.js'
import { formatProblem } from '../model/index.js'
import { printTable } from './cli-views.js'
import { repoFolder } from './cli-repo-folder.js'

interface Io {
  cwd: string
  out: { write(s: string): boolean }
  err: { write(s: string): boolean }
}

/** the `--json` document: stable keys, documented in the README */
export function validateReport(loaded: LoadedWorkflows, repoDir: string): Record<string, unknown> {
  return {
    ok: loaded.problems.length === 0,
    repo: repoDir,
    files: loaded.files,
    workflows: loaded.workflows,
    skipped: loaded.skipped.map(({ spec: _spec, ...s }) => s),
    problems: loaded.problems,
    warnings: loaded.warnings,
    specs: loaded.specs,
    // the settings whose defaults differ from dstack's: value, where it came from, dstack's default
    effective: Object.fromEntries(loaded.specs.map((s) => [s.workflow, effectiveSettings(s)]))
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function printText(loaded: LoadedWorkflows, repoDir: string, io: Io): void {
  if (!loaded.files.length) io.err.write(`no workflow files found in ${repoDir} (.dstack/workflows.yaml, .dstack/workflows/*.yaml, *.dstack.yml)\n`)
  const help = new Map(loaded.specs.map((s) => [s.workflow, s.help ?? '']))
  if (loaded.workflows.length) {
    printTable(io.out, ['WORKFLOW', 'FORMAT', 'SOURCE', 'HELP'], loaded.workflows.map((w) => [
      w.name,
      w.format,
      `${w.file}:${w.line}${w.derivedName ? ' (name from the path)' : ''}`,
      help.get(w.name) ?? ''
    ]))
  }
  const rows = loaded.specs.flatMap((s) => effectiveSettings(s).filter((e) => e.from !== 'file').map((e) => [s.workflow, e.setting, e.value, e.from, e.dstackDefault]))
  if (rows.length) {
    io.out.write('\nsettings left to run-action\'s defaults, which differ from dstack\'s (docs/dstack-differences.md):\n')
    printTable(io.out, ['WORKFLOW', 'SETTING', 'VALUE', 'FROM', 'DSTACK'], rows)
  }
  if (loaded.skipped.length) {
    io.out.write('\nskipped (cannot run in CI):\n')
    printTable(io.out, ['SOURCE', 'WORKFLOW', 'KIND', 'REASON'], loaded.skipped.map((s) => [`${s.file}:${s.line}`, s.workflow ?? '-', s.kind, s.reason]))
  }
  for (const w of loaded.warnings) io.err.write(`warning: ${formatProblem(w)}\n`)
  for (const p of loaded.problems) io.err.write(formatProblem(p) + '\n')
  const files = new Set(loaded.problems.map((p) => p.file)).size
  io.err.write(
    `${plural(loaded.workflows.length, 'runnable workflow')}, ${loaded.skipped.length} skipped, ` +
    `${plural(loaded.problems.length, 'problem')}${loaded.problems.length ? ` in ${plural(files, 'file')}` : ''}, ${plural(loaded.warnings.length, 'warning')}\n`
  )
}

/** registers `validate` on the program; `setExit` receives 1 when there are problems */
export function registerValidate(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('find, parse and validate the workflow files: runnable workflows, skipped ones with reasons, problems with file:line:column, warnings')
    .option('-C, --repo <dir>', 'the repository folder', '.')
    .option('--json', 'print one JSON document: workflows, skipped, problems, warnings and the normalised specs')
    .action(async (o: { repo: string; json?: boolean }) => {
      const repoDir = repoFolder(io.cwd, o.repo)
      let loaded: LoadedWorkflows
      try {
        loaded = await loadWorkflows(repoDir)
      } catch (e) {
        if (!o.json) throw e
        // still exactly one document: the files could not be read at all
        const problem = { file: '', line: 1, column: 1, path: '', message: `cannot read the workflow files in ${repoDir}: ${(e as Error).message}` }
        io.out.write(JSON.stringify({ ok: false, repo: repoDir, files: [], workflows: [], skipped: [], problems: [problem], warnings: [], specs: [] }, null, 2) + '\n')
        setExit(1)
        return
      }
      if (o.json) io.out.write(JSON.stringify(validateReport(loaded, repoDir), null, 2) + '\n')
      else printText(loaded, repoDir, io)
      if (loaded.problems.length) setExit(1)
    })
}
