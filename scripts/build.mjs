#!/usr/bin/env node
// Builds the three committed bundles with @vercel/ncc (ESM output, one file each):
//   dist/index.js       the action's main step   (action.yml runs.main)
//   dist/post/index.js  the action's post step   (action.yml runs.post)
//   dist/cli.js         the CLI, package bin `dstack-run`
// ncc emits ESM because package.json has "type": "module" and writes dist/package.json itself.
// Output must be byte-identical for the same sources: .ci/run rebuilds and diffs it.
import { execFileSync } from 'node:child_process'
import { mkdirSync, renameSync, rmSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const ncc = join(root, 'node_modules/.bin/ncc')
const tmp = join(root, '.tmp/build')
const entries = [
  { src: 'src/entry/action-index.ts', out: 'dist', name: 'index.js' },
  { src: 'src/entry/post-index.ts', out: 'dist/post', name: 'index.js' },
  { src: 'src/entry/cli-index.ts', out: 'dist', name: 'cli.js' }
]

rmSync(tmp, { recursive: true, force: true })
rmSync(join(root, 'dist'), { recursive: true, force: true })
for (const e of entries) {
  const outDir = join(tmp, e.src.replace(/[/.]/g, '_'))
  execFileSync(ncc, ['build', e.src, '-o', outDir, '--license', 'licenses.txt', '--quiet', '--no-source-map-register'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const files = readdirSync(outDir)
  const extra = files.filter((f) => !['index.js', 'licenses.txt', 'package.json'].includes(f))
  if (extra.length) throw new Error(`ncc emitted extra chunks for ${e.src}: ${extra.join(', ')}; the build expects one file`)
  mkdirSync(join(root, e.out), { recursive: true })
  let code = readFileSync(join(outDir, 'index.js'), 'utf8')
  if (e.name === 'cli.js' && !code.startsWith('#!')) code = '#!/usr/bin/env node\n' + code
  writeFileSync(join(root, e.out, e.name), code, { mode: e.name === 'cli.js' ? 0o755 : 0o644 })
  // one licence file for all bundles (they share dependencies); dist/post gets its own package.json
  if (e.out === 'dist' && e.name === 'index.js') renameSync(join(outDir, 'licenses.txt'), join(root, 'dist/licenses.txt'))
  if (!existsSync(join(root, e.out, 'package.json'))) writeFileSync(join(root, e.out, 'package.json'), '{"type":"module"}\n')
}
rmSync(tmp, { recursive: true, force: true })
console.log('built: ' + entries.map((e) => join(e.out, e.name)).join(', '))
