import './quiet-sdk-warning.js'
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
    if (interrupts > 2) process.exit(sig === 'SIGTERM' ? 143 : 130)
    process.stderr.write(`\n${sig}: stopping the run (its artifacts and logs are still saved); press Ctrl+C twice more to quit at once\n`)
    // the reason gives the exit code: 130 for SIGINT, 143 for SIGTERM (cli.ts)
    controller.abort(sig)
  })
}
main(process.argv.slice(2), { environ: process.env, cwd: process.cwd(), out: process.stdout, err: process.stderr, signal: controller.signal }).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    // main reports its own errors; this is the last resort, still one line
    process.stderr.write(`error: unexpected error: ${String((e as Error)?.message ?? e).split('\n')[0]}\n`)
    process.exitCode = 1
  }
)
