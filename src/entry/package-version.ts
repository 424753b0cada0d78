/**
 * The version of this package, for `dstack-run --version`. Both the source (src/entry/) and the
 * bundle (dist/cli/) sit two folders under the package root, so its package.json is read from
 * there at run time (the name is built at run time so the bundler leaves the file where it is).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(moduleUrl: string = import.meta.url): string {
  const file = join(dirname(fileURLToPath(moduleUrl)), '..', '..', ['package', 'json'].join('.'))
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
    if (pkg.name === 'run-action' && pkg.version) return pkg.version
  } catch {
    /* not found: below */
  }
  return 'unknown (package.json not found beside the CLI)'
}
