/**
 * 0.x workflows interpolate `${{ run.name }}` in every string (dstack 0.x `Provider._inject_context`),
 * so an artifact path like `output/${{ run.name }}` names a folder per run. The name exists only
 * once the run is created, so the spec keeps the reference until then and this puts the name in.
 * Run names are `<adjective>-<animal>-<n>` (letters, digits, `-`), safe in a path and a key.
 */
import { assertName, type RunSpec } from '../model/index.js'

const RUN_NAME = /\$\{\{\s*run\.name\s*\}\}/g

/** the spec with the run's name in its artifact paths (the same object when none refers to it) */
export function withRunName(spec: RunSpec, runName: string): RunSpec {
  if (!spec.artifacts.some((a) => a.path.match(RUN_NAME))) return spec
  const name = assertName('run name', runName)
  return { ...spec, artifacts: spec.artifacts.map((a) => ({ ...a, path: a.path.replace(RUN_NAME, name) })) }
}
