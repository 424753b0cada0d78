/** `NAME=VALUE` assignments from `--env` flags or the action's multi-line `env` input. */
import { UserError } from '../model/index.js'

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

export function parseEnvAssignments(items: string[], source: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const raw of items) {
    if (!raw.trim() || raw.trim().startsWith('#')) continue
    const eq = raw.indexOf('=')
    const name = (eq < 0 ? raw : raw.slice(0, eq)).trim()
    if (eq < 0 || !NAME_RE.test(name)) {
      throw new UserError(`${source}: ${JSON.stringify(raw)} is not NAME=VALUE`, 'names are letters, digits and _ and do not start with a digit, e.g. EPOCHS=3')
    }
    env[name] = raw.slice(eq + 1)
  }
  return env
}

/** the action's `env` input: one NAME=VALUE per line */
export function parseEnvInput(text: string): Record<string, string> {
  return parseEnvAssignments(text.split(/\r?\n/), 'input `env`')
}
