/**
 * The AWS SDK for JavaScript warns once per process, on stderr, that its future versions will need a
 * newer Node.js (NodeVersionSupportWarning): seven lines about the SDK's own support policy that a
 * user of this tool can do nothing about, printed in the middle of a run's output. This drops that
 * warning, and only that one, in the CLI and the action; every other process warning is printed as
 * before. (The SDK's own switch, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, is an environment
 * variable that the job and every child process would inherit.)
 */

/** true for the SDK's Node-version support warning, whichever way it was emitted */
export function isSdkNodeVersionWarning(warning: string | Error, type?: unknown): boolean {
  const text = typeof warning === 'string' ? warning : `${warning.name}: ${warning.message}`
  return type === 'NodeVersionSupportWarning' || /^(Warning: )?NodeVersionSupportWarning\b/.test(text) || /\bThe AWS SDK for JavaScript \(v3\)[\s\S]*will require node\b/.test(text)
}

/** installs the filter on `proc.emitWarning` (once) */
export function quietSdkNodeVersionWarning(proc: { emitWarning: (...args: never[]) => void } = process): void {
  const original = proc.emitWarning as (warning: string | Error, ...rest: unknown[]) => void
  if ((original as { quiet?: boolean }).quiet) return
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type
    if (isSdkNodeVersionWarning(warning, type)) return
    original.call(proc, warning, ...rest)
  }
  Object.assign(filtered, { quiet: true })
  proc.emitWarning = filtered as never
}

quietSdkNodeVersionWarning()
