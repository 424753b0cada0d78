/**
 * A checkout whose folder name is hostile to the places it goes: git's alternates list (split at
 * `:`, C-quoted when it starts with `"`), a shell word, a newline-separated list. The revision
 * and the code snapshot must still be the working tree, with and without local changes.
 */
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { alternatesEntry } from '../../src/revision/snapshot.js'
import { captureRevision } from '../../src/revision/index.js'
import { LAPTOP_ENV, TempDirs, git, readTree, untar, writeFiles } from '../revision/git-fixture.js'

const dirs = new TempDirs()
afterAll(() => dirs.cleanup())

const NAMES = ['colon:in:name', '"starts with a quote', 'back\\slash', 'new\nline', 'tab\there', '$(touch pwned) `id`', "it's; rm -rf ~"]

describe('a checkout in a folder with a hostile name', () => {
  it.each(NAMES)('%j: the snapshot is the working tree, clean and with local changes', async (name) => {
    const parent = dirs.make('hostile-')
    const dir = join(parent, name)
    mkdirSync(dir)
    git(dir, 'init', '-q')
    writeFiles(dir, { 'train.py': 'print(1)\n', 'data/a.txt': 'a\n' })
    git(dir, 'add', '-A')
    git(dir, 'commit', '-q', '-m', 'first')
    const clean = await captureRevision(dir, LAPTOP_ENV)
    expect(readTree(untar(dirs, clean.snapshot.tarGz))).toEqual(readTree(dir))

    writeFileSync(join(dir, 'train.py'), 'print(2)\n')
    const dirty = await captureRevision(dir, LAPTOP_ENV)
    expect(dirty.patch.length).toBeGreaterThan(0)
    expect(readTree(untar(dirs, dirty.snapshot.tarGz))).toEqual(readTree(dir))
    expect(dirty.snapshot.sha256).not.toBe(clean.snapshot.sha256)
  })

  it('alternatesEntry quotes exactly what git would split or unquote', () => {
    expect(alternatesEntry('/home/me/repo/.git/objects')).toBe('/home/me/repo/.git/objects')
    expect(alternatesEntry('/a:b/.git/objects')).toBe('"/a:b/.git/objects"')
    expect(alternatesEntry('/"q/x\\y')).toBe('"/\\"q/x\\\\y"')
    expect(alternatesEntry('/new\nline')).toBe('"/new\\012line"')
  })
})
