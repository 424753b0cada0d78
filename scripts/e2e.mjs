#!/usr/bin/env node
// `npm run e2e`: the AWS backend's end-to-end scenarios (every __tests__/backends/aws/scenarios*.test.ts, and
// full-run.test.ts: the same through the orchestrator).
// EC2 and SSM are aws-sdk-client-mock doubles; SSM SendCommand hands the real bootstrap to a
// simulated instance that runs it and the real runner script with bash and the real aws CLI
// against s3rver on loopback. No real cloud is called. Prints one line per scenario:
//   PASS <scenario> (n ms)
// Extra arguments go to jest (e.g. `npm run e2e -- -t 'happy path'`). Exit code: jest's.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = mkdtempSync(join(tmpdir(), 'e2e-'))
const report = join(out, 'jest.json')
const env = {
  ...process.env,
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--openssl-legacy-provider'].filter(Boolean).join(' '),
  NODE_NO_WARNINGS: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}
const scenarioFiles = readdirSync(join(root, '__tests__/backends/aws')).filter((f) => /^scenarios.*\.test\.ts$/.test(f)).sort().map((f) => `__tests__/backends/aws/${f}`)
const args = [join(root, 'node_modules/jest/bin/jest.js'), ...scenarioFiles, '__tests__/backends/aws/full-run.test.ts', '--json', `--outputFile=${report}`, '--silent', ...process.argv.slice(2)]
const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
let stderr = ''
child.stderr.on('data', (d) => (stderr += d.toString()))
child.on('close', (code) => {
  let results
  try {
    results = JSON.parse(readFileSync(report, 'utf8'))
  } catch {
    process.stderr.write(stderr)
    process.stderr.write('e2e: jest wrote no report\n')
    process.exit(code || 1)
  }
  let failed = 0
  for (const file of results.testResults) {
    for (const t of file.assertionResults) {
      if (t.status === 'pending' || t.status === 'skipped') continue
      const ok = t.status === 'passed'
      if (!ok) failed++
      process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${t.title} (${t.duration ?? 0} ms)\n`)
      if (!ok) for (const m of t.failureMessages ?? []) process.stdout.write(m.split('\n').slice(0, 12).map((l) => `    ${l}`).join('\n') + '\n')
    }
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      failed++
      process.stdout.write(`FAIL ${file.name}\n${file.message}\n`)
    }
  }
  process.stdout.write(`${results.numPassedTests} passed, ${failed} failed\n`)
  rmSync(out, { recursive: true, force: true })
  process.exit(failed ? 1 : code ?? 1)
})
