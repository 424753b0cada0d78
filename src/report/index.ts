export { runOutputs, runDurationSec, type ArtifactOutput, type OutputContext } from './outputs.js'
export { runMarkdown, formatDuration, formatBytes, escapeCell, type MarkdownContext } from './markdown.js'
export { typedOutputs, NUMBER_OUTPUTS, LIST_OUTPUTS, type TypedOutputs } from './typed-outputs.js'
