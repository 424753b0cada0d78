#!/usr/bin/env node
// `npm run hostile`: the hostile-input suite (every __tests__/hostile/*.test.ts): injection,
// symlinks, secrets, tampering, markdown, store damage. End to end on the local backend (real
// CLI or orchestrator, real runner script run by bash, real folder store). Prints one line per case:
//   PASS <file>: <case> (n ms)
// and a closing line `N passed, N failed`. Extra arguments go to jest. Exit code: 1 if a case failed.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runJestCases } from './jest-cases.mjs'

const root = new URL('..', import.meta.url).pathname
const files = readdirSync(join(root, '__tests__/hostile')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `__tests__/hostile/${f}`)
if (files.length === 0) {
  process.stdout.write('no hostile test files in __tests__/hostile\n0 passed, 0 failed\n')
  process.exit(1)
}
process.exit(await runJestCases({ name: 'hostile', files, jestArgs: ['--maxWorkers=1', ...process.argv.slice(2)] }))
