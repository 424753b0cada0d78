export type { RunnerPlan } from './plan.js'
export { renderRunnerScript, renderJobScript, interpolateCommand, RUNNER_EXIT } from './render.js'
export { shellQuote, shellArray } from './quote.js'
