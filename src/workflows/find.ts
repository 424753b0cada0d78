/** Pick the workflow to run by name. */
import { UserError, type RunSpec } from '../model/index.js'
import { closest } from './suggest.js'

export function findWorkflow(specs: RunSpec[], name: string): RunSpec {
  const found = specs.find((s) => s.workflow === name)
  if (found) return found
  const names = specs.map((s) => s.workflow)
  if (!names.length) {
    throw new UserError(`workflow \`${name}\` not found: no workflows are defined`, 'define one in .dstack/workflows.yaml or a *.dstack.yml file')
  }
  const near = closest(name, names)
  throw new UserError(
    `workflow \`${name}\` not found${near ? `; did you mean \`${near}\`?` : ''}`,
    `available: ${[...names].sort().join(', ')}`
  )
}
