import { main } from './cli.js'

// `dstack-run ps | head`: the reader left. Keep going quietly (a run still has to end and release
// its machine) instead of dying on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
  })
}

const controller = new AbortController()
let interrupts = 0
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupts++
    if (interrupts > 2) process.exit(130)
    process.stderr.write(`\n${sig}: stopping the run (its artifacts and logs are still saved); press Ctrl+C twice more to quit at once\n`)
    controller.abort()
  })
}
main(process.argv.slice(2), { environ: process.env, cwd: process.cwd(), out: process.stdout, err: process.stderr, signal: controller.signal }).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`error: ${String(e)}\n`)
    process.exitCode = 1
  }
)
