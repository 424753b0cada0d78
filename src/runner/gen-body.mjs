// Regenerates body.generated.ts from the runner's modules in body/: `node src/runner/gen-body.mjs`;
// with `--check`, writes nothing and exits 1 when body.generated.ts is not what it would write
// (a test runs that, so the bash modules stay the ones to edit).
//
// The body is the modules joined in RUNNER_MODULES' order: a module may use at its top level only
// what the modules before it set. Each module's interface comment (from its `# Reads:` line to the
// end of that comment block: what it reads, needs and offers) is for readers of the source and is
// left out of the rendered script; everything else is copied byte for byte.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** the modules, in the order the rendered script runs them */
export const RUNNER_MODULES = [
  'settings.sh',
  'nodes.sh',
  'work.sh',
  'disks.sh',
  'container.sh',
  'jobuser.sh',
  'store.sh',
  'logs.sh',
  'artifacts.sh',
  'checkpoints.sh',
  'cache.sh',
  'fetch.sh',
  'keep.sh',
  'control.sh',
  'main.sh'
]

/** a module's text without its interface comment (`# Reads:` … through the end of that comment block) */
export function withoutInterface(sh) {
  const lines = sh.split('\n')
  const start = lines.findIndex((l) => l.startsWith('# Reads:'))
  if (start < 0) return sh
  let end = start
  while (end < lines.length && /^# (Reads|Needs|Offers):|^# {3}/.test(lines[end])) end++
  return [...lines.slice(0, start), ...lines.slice(end)].join('\n')
}

/** the body: every module, in order, without its interface comment */
export function assembleBody(readModule) {
  return RUNNER_MODULES.map((m) => withoutInterface(readModule(m))).join('')
}

export function generatedBody(sh) {
  return (
    `// GENERATED from body/*.sh by gen-body.mjs; do not edit.\n` +
    `export const RUNNER_MODULES: readonly string[] = ${JSON.stringify(RUNNER_MODULES)}\n` +
    `export const RUNNER_BODY: string = ${JSON.stringify(sh)}\n`
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generatedBody(assembleBody((m) => readFileSync(join(here, 'body', m), 'utf8')))
  const out = join(here, 'body.generated.ts')
  if (process.argv[2] === '--check') {
    if (readFileSync(out, 'utf8') !== text) {
      process.stderr.write('src/runner/body.generated.ts differs from src/runner/body/*.sh: run `node src/runner/gen-body.mjs`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(out, text)
  }
}
