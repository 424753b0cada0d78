#!/usr/bin/env node
// The docs' input and output tables, generated from their sources so they cannot drift:
//   docs/action.md  <!-- table:action-inputs -->      action.yml inputs
//   docs/action.md  <!-- table:action-outputs -->     action.yml outputs
//   docs/gitlab.md  <!-- table:component-inputs -->   templates/run.yml spec:inputs
//   docs/gitlab.md  <!-- table:component-outputs -->  the DSTACK_* dotenv variables of the component
// Each table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->`.
// Usage: node scripts/docs-tables.mjs          rewrite those pages
//        node scripts/docs-tables.mjs --check  exit 1 (and say which page) when one is out of date
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'

const root = new URL('..', import.meta.url).pathname
/** the page each table lives on */
export const PAGES = {
  'docs/action.md': ['action-inputs', 'action-outputs'],
  'docs/gitlab.md': ['component-inputs', 'component-outputs']
}
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

export function render(page, generated, pageName = 'the page') {
  let out = page
  for (const [name, text] of Object.entries(generated)) {
    const re = new RegExp(`(<!-- table:${name} -->)[\\s\\S]*?(<!-- /table:${name} -->)`)
    if (!re.test(out)) throw new Error(`${pageName} has no <!-- table:${name} --> … <!-- /table:${name} --> markers`)
    out = out.replace(re, (_, a, b) => `${a}\n${text}\n${b}`)
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const all = tables(readFileSync(join(root, 'action.yml'), 'utf8'), readFileSync(join(root, 'templates/run.yml'), 'utf8'))
  const check = process.argv.includes('--check')
  let stale = 0
  for (const [page, names] of Object.entries(PAGES)) {
    const path = join(root, page)
    const text = readFileSync(path, 'utf8')
    const next = render(text, Object.fromEntries(names.map((n) => [n, all[n]])), page)
    if (next === text) continue
    if (check) {
      console.error(`${page}: the input/output tables differ from action.yml and templates/run.yml; run: node scripts/docs-tables.mjs`)
      stale++
    } else {
      writeFileSync(path, next)
      console.log(`${page}: tables written`)
    }
  }
  if (stale) process.exit(1)
  console.log(check ? 'the docs tables are up to date' : 'the docs tables are written')
}
