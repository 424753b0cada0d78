#!/usr/bin/env node
// README's input and output tables, generated from their sources so they cannot drift:
//   <!-- table:action-inputs -->      action.yml inputs
//   <!-- table:action-outputs -->     action.yml outputs
//   <!-- table:component-inputs -->   templates/run.yml spec:inputs
//   <!-- table:component-outputs -->  the DSTACK_* dotenv variables of the component
// Each table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->`.
// Usage: node scripts/docs-tables.mjs          rewrite README.md
//        node scripts/docs-tables.mjs --check  exit 1 (and say so) when README.md is out of date
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'

const root = new URL('..', import.meta.url).pathname
/** outputs the component does not write: a GitHub workflow artifact, the cleanup mode's list */
const GITHUB_ONLY_OUTPUTS = ['workflow-artifact-url', 'terminated']

const cell = (s) => String(s ?? '').replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|')
const code = (s) => (s === '' ? "`''`" : `\`${String(s).replace(/`/g, "'")}\``)
const table = (header, rows) => [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n')

export function tables(actionText, componentText) {
  const action = parse(actionText)
  const docs = parseAllDocuments(componentText)
  const spec = docs[0].toJS().spec
  return {
    'action-inputs': table(
      ['input', 'default', 'description'],
      Object.entries(action.inputs).map(([k, v]) => [code(k) + (v.required ? ' (required)' : ''), v.default === undefined ? '' : code(v.default), v.description])
    ),
    'action-outputs': table(['output', 'description'], Object.entries(action.outputs).map(([k, v]) => [code(k), v.description])),
    'component-inputs': table(
      ['input', 'type', 'default', 'description'],
      Object.entries(spec.inputs).map(([k, v]) => [
        code(k) + (v.default === undefined ? ' (required)' : ''),
        (v.type ?? 'string') + (v.options ? `: ${v.options.join(', ')}` : ''),
        v.default === undefined ? '' : code(v.default),
        v.description
      ])
    ),
    'component-outputs': table(
      ['variable', 'description'],
      Object.entries(action.outputs)
        .filter(([k]) => !GITHUB_ONLY_OUTPUTS.includes(k))
        .map(([k, v]) => [code('DSTACK_' + k.toUpperCase().replace(/[^A-Z0-9]+/g, '_')), v.description])
    )
  }
}

export function render(readme, generated) {
  let out = readme
  for (const [name, text] of Object.entries(generated)) {
    const re = new RegExp(`(<!-- table:${name} -->)[\\s\\S]*?(<!-- /table:${name} -->)`)
    if (!re.test(out)) throw new Error(`README.md has no <!-- table:${name} --> … <!-- /table:${name} --> markers`)
    out = out.replace(re, (_, a, b) => `${a}\n${text}\n${b}`)
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readmePath = join(root, 'README.md')
  const readme = readFileSync(readmePath, 'utf8')
  const next = render(readme, tables(readFileSync(join(root, 'action.yml'), 'utf8'), readFileSync(join(root, 'templates/run.yml'), 'utf8')))
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md: the input/output tables differ from action.yml and templates/run.yml; run: node scripts/docs-tables.mjs')
      process.exit(1)
    }
    console.log('README.md tables are up to date')
  } else {
    writeFileSync(readmePath, next)
    console.log('README.md tables written')
  }
}
