/**
 * Pure: the step outputs (strings, as GitHub and GitLab need them) → the same names with JSON types,
 * for `dstack-run run --json`: numbers as numbers, lists as lists, objects as objects, an empty output as null.
 */
export type TypedOutputs = Record<string, string | number | unknown[] | Record<string, unknown> | null>

/** outputs whose value is a number */
export const NUMBER_OUTPUTS = ['exit-code', 'duration', 'attempts', 'nodes', 'cost'] as const
/** outputs whose value is a JSON list */
export const LIST_OUTPUTS = ['artifacts', 'tags', 'terminated', 'node-statuses'] as const
/** outputs whose value is a JSON object (`metrics`: the final metric values) */
export const OBJECT_OUTPUTS = ['metrics'] as const

export function typedOutputs(outputs: Record<string, string>): TypedOutputs {
  const typed: TypedOutputs = {}
  for (const [name, value] of Object.entries(outputs)) {
    if (value === '') typed[name] = null
    else if ((NUMBER_OUTPUTS as readonly string[]).includes(name) && Number.isFinite(Number(value))) typed[name] = Number(value)
    else if ((LIST_OUTPUTS as readonly string[]).includes(name)) typed[name] = parseList(name, value)
    else if ((OBJECT_OUTPUTS as readonly string[]).includes(name)) typed[name] = parseObject(name, value)
    else typed[name] = value
  }
  return typed
}

function parseList(name: string, value: string): unknown[] {
  const v: unknown = JSON.parse(value)
  if (!Array.isArray(v)) throw new Error(`output ${name} is not a JSON list: ${value.slice(0, 80)}`)
  return v
}

function parseObject(name: string, value: string): Record<string, unknown> {
  const v: unknown = JSON.parse(value)
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`output ${name} is not a JSON object: ${value.slice(0, 80)}`)
  return v as Record<string, unknown>
}
