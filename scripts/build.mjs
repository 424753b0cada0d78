#!/usr/bin/env node
// Builds the three committed bundles with @vercel/ncc (ESM output):
//   dist/index.js       the action's main step   (action.yml runs.main)
//   dist/post/index.js  the action's post step   (action.yml runs.post)
//   dist/cli/index.js   the CLI, started by dist/cli.js (package bin `dstack-run`)
// Each bundle sits in its own folder with the chunks ncc splits off at dynamic imports (the aws
// backend and the SDK's credential providers load only when used: ~0.4 s of start-up saved).
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
  { src: 'src/entry/cli-index.ts', out: 'dist/cli', name: 'index.js' }
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
  const unexpected = files.filter((f) => !['index.js', 'licenses.txt', 'package.json'].includes(f) && !/^\d+\.index\.js$/.test(f))
  if (unexpected.length) throw new Error(`ncc emitted unexpected files for ${e.src}: ${unexpected.join(', ')}`)
  mkdirSync(join(root, e.out), { recursive: true })
  // the entry and its chunks (`<id>.index.js`, loaded relative to the entry)
  for (const f of files.filter((f) => f.endsWith('.js'))) writeFileSync(join(root, e.out, f), readFileSync(join(outDir, f)))
  // one licence file for all bundles (they share dependencies); every folder gets its package.json
  if (e.out === 'dist') renameSync(join(outDir, 'licenses.txt'), join(root, 'dist/licenses.txt'))
  if (!existsSync(join(root, e.out, 'package.json'))) writeFileSync(join(root, e.out, 'package.json'), '{"type":"module"}\n')
}
// the CLI's bin: a two-line launcher, so the bundle's chunks stay beside the bundle
writeFileSync(join(root, 'dist/cli.js'), "#!/usr/bin/env node\nimport './cli/index.js'\n", { mode: 0o755 })
rmSync(tmp, { recursive: true, force: true })
console.log('built: ' + entries.map((e) => join(e.out, e.name)).join(', ') + ', dist/cli.js')
