// Runs jest on some test files and prints one line per case, then `N passed, N failed`:
//   PASS <label>: <case> (n ms)
// Shared by `npm run e2e` and `npm run hostile`. Resolves with the exit code (1 if a case failed).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

/** `files`: test files relative to the repository; `name`: the suite's name in its own messages */
export function runJestCases({ name, files, jestArgs = [] }) {
  const out = mkdtempSync(join(tmpdir(), `${name}-`))
  const report = join(out, 'jest.json')
  const env = {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--openssl-legacy-provider'].filter(Boolean).join(' '),
    NODE_NO_WARNINGS: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
  }
  const args = [join(root, 'node_modules/jest/bin/jest.js'), ...files, '--json', `--outputFile=${report}`, '--silent', ...jestArgs]
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d.toString()))
  return new Promise((resolve) => {
    child.on('close', (code) => {
      let results
      try {
        results = JSON.parse(readFileSync(report, 'utf8'))
      } catch {
        process.stderr.write(stderr)
        process.stdout.write(`${name}: jest wrote no report\n0 passed, 1 failed\n`)
        rmSync(out, { recursive: true, force: true })
        return resolve(code || 1)
      }
      let passed = 0
      let failed = 0
      for (const file of results.testResults) {
        const label = basename(file.name, '.test.ts')
        for (const t of file.assertionResults) {
          if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') continue
          const ok = t.status === 'passed'
          if (ok) passed++
          else failed++
          const title = [...t.ancestorTitles, t.title].join(' › ').replace(/\s+/g, ' ')
          process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${label}: ${title} (${t.duration ?? 0} ms)\n`)
          if (!ok) for (const m of t.failureMessages ?? []) process.stdout.write(m.split('\n').slice(0, 12).map((l) => `    ${l}`).join('\n') + '\n')
        }
        if (file.status === 'failed' && file.assertionResults.length === 0) {
          failed++
          process.stdout.write(`FAIL ${label}: the file did not run\n${String(file.message).split('\n').slice(0, 20).map((l) => `    ${l}`).join('\n')}\n`)
        }
      }
      process.stdout.write(`${passed} passed, ${failed} failed\n`)
      rmSync(out, { recursive: true, force: true })
      resolve(failed ? 1 : code ?? 1)
    })
  })
}
