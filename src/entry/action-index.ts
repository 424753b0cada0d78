import './quiet-sdk-warning.js'
import { run } from './action-main.js'

// GitHub cancels a step with SIGINT, then SIGTERM 7.5 s later: both stop the run gracefully
const controller = new AbortController()
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => controller.abort())
/* istanbul ignore next */
void run(controller.signal)
