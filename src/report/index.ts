export { runOutputs, runDurationSec, type ArtifactOutput, type OutputContext } from './outputs.js'
export { runMarkdown, formatDuration, formatBytes, escapeCell, type MarkdownContext } from './markdown.js'
export { typedOutputs, NUMBER_OUTPUTS, LIST_OUTPUTS, type TypedOutputs } from './typed-outputs.js'
export { nodeCount, isMultiNode, lastAttemptNodes, nodeStatusOutputs, nodeStatusesOutput, failingNode, nodeLabel, type NodeStatusOutput } from './node-results.js'
