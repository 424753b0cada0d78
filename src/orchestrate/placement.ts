/**
 * Where absolute paths may be written (README "Absolute paths"): inside the run's container, or on
 * a machine the run owns (aws). The local backend without `image` runs on a machine the run does
 * not own, so an absolute `working_dir`, absolute artifact paths, or deps with absolute artifacts
 * are refused there before anything starts. Pure.
 */
import { UserError, type RunSpec } from '../model/index.js'

export function checkPlacement(spec: RunSpec, deps: { label: string; spec: RunSpec }[], backend: string | undefined): void {
  if (backend !== 'local' || spec.image) return
  const at = `workflow \`${spec.workflow}\` (${spec.source.file}:${spec.source.line})`
  const hint = 'give the workflow an `image` (absolute paths are then inside its container), use paths relative to the repository, or run it with `--backend aws` (a machine the run owns)'
  const why = 'on the local backend without `image` the run does not own this machine, and nothing is written outside the run\'s own folder'
  if (spec.workingDir.startsWith('/')) throw new UserError(`${at}: \`working_dir: ${spec.workingDir}\` is an absolute path; ${why}`, hint)
  const own = spec.artifacts.filter((a) => a.path.startsWith('/')).map((a) => a.path)
  if (own.length) throw new UserError(`${at}: artifact path${own.length > 1 ? 's' : ''} ${own.map((p) => `\`${p}\``).join(', ')} ${own.length > 1 ? 'are' : 'is'} absolute; ${why}`, hint)
  for (const d of deps) {
    const abs = d.spec.artifacts.filter((a) => a.path.startsWith('/')).map((a) => a.path)
    if (abs.length) throw new UserError(`${at}: dependency ${d.label} restores absolute artifact paths (${abs.map((p) => `\`${p}\``).join(', ')}); ${why}`, hint)
  }
}
