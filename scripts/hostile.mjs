#!/usr/bin/env node
// `npm run hostile`: the hostile-input suite (every __tests__/hostile/*.test.ts): injection,
// symlinks, secrets, tampering, markdown, store damage. End to end on the local backend (real
// CLI or orchestrator, real runner script run by bash, real folder store). Prints one line per case:
//   PASS <file>: <case> (n ms)
// and a closing line `N passed, N failed`. Extra arguments go to jest. Exit code: 1 if a case failed.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const files = readdirSync(join(root, '__tests__/hostile')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `__tests__/hostile/${f}`)
if (files.length === 0) {
  process.stdout.write('no hostile test files in __tests__/hostile\n0 passed, 0 failed\n')
  process.exit(1)
}
const out = mkdtempSync(join(tmpdir(), 'hostile-'))
const report = join(out, 'jest.json')
const env = {
  ...process.env,
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--openssl-legacy-provider'].filter(Boolean).join(' '),
  NODE_NO_WARNINGS: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}
const args = [join(root, 'node_modules/jest/bin/jest.js'), ...files, '--maxWorkers=1', '--json', `--outputFile=${report}`, '--silent', ...process.argv.slice(2)]
const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
let stderr = ''
child.stderr.on('data', (d) => (stderr += d.toString()))
child.on('close', (code) => {
  let results
  try {
    results = JSON.parse(readFileSync(report, 'utf8'))
  } catch {
    process.stderr.write(stderr)
    process.stdout.write('hostile: jest wrote no report\n0 passed, 1 failed\n')
    process.exit(code || 1)
  }
  let passed = 0
  let failed = 0
  for (const file of results.testResults) {
    const name = basename(file.name, '.test.ts')
    for (const t of file.assertionResults) {
      if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') continue
      const ok = t.status === 'passed'
      if (ok) passed++
      else failed++
      const title = [...t.ancestorTitles, t.title].join(' › ').replace(/\s+/g, ' ')
      process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${name}: ${title} (${t.duration ?? 0} ms)\n`)
      if (!ok) for (const m of t.failureMessages ?? []) process.stdout.write(m.split('\n').slice(0, 12).map((l) => `    ${l}`).join('\n') + '\n')
    }
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      failed++
      process.stdout.write(`FAIL ${name}: the file did not run\n${String(file.message).split('\n').slice(0, 20).map((l) => `    ${l}`).join('\n')}\n`)
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  rmSync(out, { recursive: true, force: true })
  process.exit(failed ? 1 : code ?? 1)
})
