/**
 * Before anything is stored or launched: every `${{ run.args }}` / `${{ run.name }}` (and node
 * address, in a group's commands) in the workflow's commands can be rendered with these args (runner/interpolate.ts refuses an arithmetic
 * context, and a quoted heredoc the args would end). The error names the workflow file and entry.
 */
import { UserError, type RunSpec } from '../model/index.js'
import { interpolateCommand } from '../runner/interpolate.js'

/** a stand-in with the shape of a generated name; the real one is only known once the run is created */
const NAME_PLACEHOLDER = 'run-name-1'

export function checkCommandInterpolation(spec: RunSpec, args: string[]): void {
  const lists: [string, string[]][] = [['setup', spec.setup], ['commands', spec.commands], ...(spec.groups ?? []).map((g, k): [string, string[]] => [`groups[${k}].commands`, g.commands])]
  // dstack's `node_groups`: a task without `groups` is one group of all its nodes
  const groupSizes = spec.groups?.map((g) => g.nodes) ?? (spec.nodes > 1 ? [spec.nodes] : undefined)
  for (const [field, list] of lists) {
    list.forEach((command, i) => {
      try {
        interpolateCommand(command, { args, runName: NAME_PLACEHOLDER, ...(groupSizes ? { groupSizes } : {}) })
      } catch (e) {
        if (!(e instanceof UserError)) throw e
        throw new UserError(`workflow \`${spec.workflow}\` (${spec.source.file}:${spec.source.line}) \`${field}[${i + 1}]\`: ${e.message}`, e.hint)
      }
    })
  }
}
