#!/usr/bin/env node
// `npm run e2e`: the AWS backend's end-to-end scenarios (every __tests__/backends/aws/scenarios*.test.ts, and
// full-run.test.ts: the same through the orchestrator), and the one-step set-up's CloudFormation template
// deployed into moto (cloudformation-template.test.ts: `dstack-run check` against what it made).
// EC2 and SSM are aws-sdk-client-mock doubles; SSM SendCommand hands the real bootstrap to a
// simulated instance that runs it and the real runner script with bash and the real aws CLI
// against s3rver on loopback. scenarios-moto.test.ts runs the backend against moto's server instead
// (an independent AWS emulator; docs/aws-checks.md). No real cloud is called. Prints one line per scenario:
//   PASS <file>: <scenario> (n ms)
// then how many aws CLI processes the simulated instances started (each costs ~0.5 CPU s: the count
// says more about the suite's cost than its seconds on a shared machine).
// Extra arguments go to jest (e.g. `npm run e2e -- -t 'happy path'`). Exit code: 1 if a scenario failed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runJestCases } from './jest-cases.mjs'
import { awsCallSummary } from './e2e-aws-calls.mjs'

const root = new URL('..', import.meta.url).pathname
const scenarioFiles = readdirSync(join(root, '__tests__/backends/aws')).filter((f) => /^scenarios.*\.test\.ts$/.test(f)).sort().map((f) => `__tests__/backends/aws/${f}`)
const notes = mkdtempSync(join(tmpdir(), 'e2e-aws-calls-'))
process.env.E2E_AWS_CALLS = join(notes, 'calls.jsonl')
const code = await runJestCases({ name: 'e2e', files: [...scenarioFiles, '__tests__/backends/aws/full-run.test.ts', '__tests__/backends/aws/cloudformation-template.test.ts'], jestArgs: process.argv.slice(2) })
let lines = ''
try {
  lines = readFileSync(process.env.E2E_AWS_CALLS, 'utf8')
} catch {
  /* no scenario reached an instance */
}
process.stdout.write(awsCallSummary(lines))
rmSync(notes, { recursive: true, force: true })
process.exit(code)
