// Regenerates body.generated.ts from runner-body.sh: `node src/runner/gen-body.mjs`
// (a test fails when they differ, so the bash source stays the one to edit).
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export function generatedBody(sh) {
  return `// GENERATED from runner-body.sh by gen-body.mjs; do not edit.\nexport const RUNNER_BODY: string = ${JSON.stringify(sh)}\n`
}
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sh = readFileSync(join(here, 'runner-body.sh'), 'utf8')
  writeFileSync(join(here, 'body.generated.ts'), generatedBody(sh))
}
