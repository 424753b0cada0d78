#!/usr/bin/env node
// `npm run e2e:busy`: the e2e suite (`npm run e2e`) three times in a row beside two CPU-bound
// processes, the way a shared 2-core CI runner feels. On a machine with more cores everything
// (the suite and the hogs) is pinned to two of them with `taskset` when it is there.
// Prints each round's pass/fail and its failed scenarios, then a summary; exit 1 if any round failed.
//   --runs N   rounds (3)      --hogs N   CPU-bound processes beside the suite (2)
// Extra arguments after `--` go to jest, as with `npm run e2e`.
// The hogs are this script's children (`node -e 'for(;;){}'`), stopped by their pid when it exits.
import { spawn, spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const argv = process.argv.slice(2)
const dashes = argv.indexOf('--')
const own = dashes < 0 ? argv : argv.slice(0, dashes)
const jestArgs = dashes < 0 ? [] : argv.slice(dashes + 1)
const opt = (name, dflt) => {
  const i = own.indexOf(`--${name}`)
  return i < 0 ? dflt : Number(own[i + 1])
}
const runs = opt('runs', 3)
const hogCount = opt('hogs', 2)

// two cores: pinned when the machine has more and taskset exists
const pin = availableParallelism() > 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0 ? ['taskset', '-c', '0,1'] : []
const withPin = (cmd, args) => (pin.length ? [pin[0], [...pin.slice(1), cmd, ...args]] : [cmd, args])

const hogs = []
function stopHogs() {
  for (const h of hogs) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL')
}
process.on('exit', stopHogs)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130))

for (let i = 0; i < hogCount; i++) {
  const [cmd, args] = withPin(process.execPath, ['-e', 'for(;;){}'])
  hogs.push(spawn(cmd, args, { stdio: 'ignore' }))
}
console.log(`e2e:busy: ${runs} round(s) beside ${hogCount} CPU-bound process(es) (pids ${hogs.map((h) => h.pid).join(', ')})${pin.length ? ', pinned to cores 0,1' : ''}`)

function round() {
  return new Promise((resolve) => {
    const [cmd, args] = withPin(process.execPath, [join(root, 'scripts/e2e.mjs'), ...jestArgs])
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d.toString()
      process.stdout.write(d)
    })
    child.on('close', (code) => resolve({ code, failed: out.split('\n').filter((l) => l.startsWith('FAIL ')), summary: /\d+ passed, \d+ failed/.exec(out)?.[0] ?? 'no summary' }))
  })
}

const results = []
for (let r = 1; r <= runs; r++) {
  const t0 = Date.now()
  console.log(`\n== e2e:busy round ${r}/${runs} ==`)
  const res = await round()
  results.push({ ...res, secs: Math.round((Date.now() - t0) / 1000) })
  console.log(`== round ${r}: ${res.code === 0 ? 'PASS' : 'FAIL'} (${res.summary}, ${results.at(-1).secs} s) ==`)
}
stopHogs()
console.log('\ne2e:busy summary')
results.forEach((r, i) => {
  console.log(`  round ${i + 1}: ${r.code === 0 ? 'PASS' : 'FAIL'} — ${r.summary}, ${r.secs} s`)
  for (const f of r.failed) console.log(`    ${f}`)
})
process.exit(results.every((r) => r.code === 0) ? 0 : 1)
