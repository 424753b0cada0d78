#!/usr/bin/env node
// Checks, before `vX.Y.Z` is tagged (.github/workflows/release.yml), that the repository is ready
// for that version, and prints every problem at once:
//   - package.json's version is X.Y.Z
//   - CHANGELOG.md has a `## [X.Y.Z]` section (move the Unreleased entries there)
//   - every schemas/*.json `$id` points at this repository's `vX` tag, the one the release moves,
//     and at its own path, so editors that follow the `$id` find it
//   - package.json declares no runtime dependency and packs the CLI's bundle (npm install -g stays small)
//   - dist/ equals a fresh build of the sources (run with --built after `npm run build`)
// Usage: node scripts/release-check.mjs X.Y.Z [--built]
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const [version, ...flags] = process.argv.slice(2)
const problems = []
if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) {
  console.error('usage: node scripts/release-check.mjs X.Y.Z [--built]   (a version like 1.2.3, without the v)')
  process.exit(2)
}
const major = version.split('.')[0]

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
if (pkg.version !== version) problems.push(`package.json: version is ${pkg.version}, expected ${version} (npm version ${version} --no-git-tag-version)`)

// the npm tarball is the CLI's bundle: what it uses is inside dist/cli/, so nothing is installed beside it
const runtimeDeps = Object.keys(pkg.dependencies ?? {})
if (runtimeDeps.length) problems.push(`package.json: dependencies ${runtimeDeps.join(', ')} would be installed with the CLI, which bundles them (move them to devDependencies)`)
if (!(pkg.files ?? []).includes('dist/cli/')) problems.push('package.json: files must list dist/cli.js and dist/cli/ (the CLI and its bundle)')

const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8')
if (!changelog.includes(`## [${version}]`)) problems.push(`CHANGELOG.md: no "## [${version}]" section (move the Unreleased entries under it)`)

if (major === '0') problems.push(`version ${version}: the action is used as @v1, and the schemas' $id point at v1; release 1.0.0 or later`)
for (const f of readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.json'))) {
  const id = JSON.parse(readFileSync(join(root, 'schemas', f), 'utf8')).$id
  const want = `https://raw.githubusercontent.com/dstack/run-action/v${major}/schemas/${f}`
  if (id !== want) problems.push(`schemas/${f}: $id is ${id}, expected ${want} (the tag this release moves)`)
}

if (flags.includes('--built')) {
  const changed = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { cwd: root, encoding: 'utf8' }).trim()
  if (changed) problems.push(`dist/ differs from a fresh build (run npm run build and commit dist/):\n${changed}`)
}

if (problems.length) {
  for (const p of problems) console.error(`release ${version}: ${p}`)
  process.exit(1)
}
console.log(`release ${version}: ready (tag v${version}, move v${major})`)
