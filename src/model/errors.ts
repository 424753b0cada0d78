/** An error caused by the user's input or setup: printed without a stack, exit code 1. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string
  ) {
    super(message)
    this.name = 'UserError'
  }
}

/** One problem in a workflow file, with its position (1-based line and column). */
export interface WorkflowProblem {
  file: string
  line: number
  column: number
  /** field path, e.g. `workflows[0].resources.gpu` */
  path: string
  message: string
  hint?: string
  /** the workflow the problem belongs to, when it belongs to one (a file-level problem has none) */
  workflow?: string
}

export function formatProblem(p: WorkflowProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path || '(root)'}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`
}

/** Several workflow problems at once; the message lists every one. */
export class WorkflowErrors extends UserError {
  constructor(readonly problems: WorkflowProblem[]) {
    super(problems.map(formatProblem).join('\n'))
    this.name = 'WorkflowErrors'
  }
}
