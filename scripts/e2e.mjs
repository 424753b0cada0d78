#!/usr/bin/env node
// `npm run e2e`: the AWS backend's end-to-end scenarios (every __tests__/backends/aws/scenarios*.test.ts, and
// full-run.test.ts: the same through the orchestrator).
// EC2 and SSM are aws-sdk-client-mock doubles; SSM SendCommand hands the real bootstrap to a
// simulated instance that runs it and the real runner script with bash and the real aws CLI
// against s3rver on loopback. No real cloud is called. Prints one line per scenario:
//   PASS <file>: <scenario> (n ms)
// Extra arguments go to jest (e.g. `npm run e2e -- -t 'happy path'`). Exit code: 1 if a scenario failed.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runJestCases } from './jest-cases.mjs'

const root = new URL('..', import.meta.url).pathname
const scenarioFiles = readdirSync(join(root, '__tests__/backends/aws')).filter((f) => /^scenarios.*\.test\.ts$/.test(f)).sort().map((f) => `__tests__/backends/aws/${f}`)
process.exit(await runJestCases({ name: 'e2e', files: [...scenarioFiles, '__tests__/backends/aws/full-run.test.ts'], jestArgs: process.argv.slice(2) }))
