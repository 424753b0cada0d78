/**
 * `npm ci` prints EBADENGINE when an installed package's `engines.node` excludes the running Node.
 * The lockfile names every package npm ci installs and its engines range, so this checks, without
 * installing, that the lowest Node our `engines` allows and Node 24 (the action's runtime) satisfy
 * all of them. (scripts/install-prereqs.sh also fails on an EBADENGINE line from a real npm ci.)
 */
import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import semver from 'semver'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>
}

function incompatible(node: string): string[] {
  const bad: string[] = []
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined
    if (!path || !range) continue
    if (!semver.satisfies(node, range)) bad.push(`${path.replace(/^.*node_modules\//, '')}@${p.version} needs node ${range}`)
  }
  return bad
}

describe('Node engines', () => {
  const minimum = semver.minVersion(pkg.engines.node)!.version

  it.each([minimum, '22.12.0', '24.0.0'])('every locked package accepts Node %s', (node) => {
    expect(semver.satisfies(node, pkg.engines.node)).toBe(true)
    expect(incompatible(node)).toEqual([])
  })

  it('package.json and the lockfile agree on our engines', () => {
    expect((lock.packages[''] as { engines?: { node?: string } }).engines?.node).toBe(pkg.engines.node)
  })
})
