/** File-system errors of the folder store name the file and the reason; mkdir never spins. */
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { storeFsError, makeDirs } from '../../src/store/fs-errors.js'
import { UserError } from '../../src/model/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'fs-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const errno = (code: string) => Object.assign(new Error(`${code}: x`), { code })

describe('storeFsError', () => {
  it.each([
    ['EROFS', 'the file system is read-only'],
    ['EACCES', 'permission denied'],
    ['ENOSPC', 'no space left on the device'],
    ['ENOTDIR', 'a part of the path is a file, not a folder']
  ])('%s: what, where and why in one line, with a hint', (code, why) => {
    const e = storeFsError('write', '/s/a/run.json', '/s', errno(code)) as UserError
    expect(e).toBeInstanceOf(UserError)
    expect(e.message).toBe(`cannot write /s/a/run.json in the run store /s: ${why} (${code})`)
    expect(e.hint).toMatch(/--store/)
  })
  it('other errors pass through unchanged', () => {
    const other = new Error('boom')
    expect(storeFsError('write', 'p', 'r', other)).toBe(other)
  })
})

describe('makeDirs', () => {
  it('creates every missing level', async () => {
    await makeDirs(join(dir, 'a', 'b', 'c'))
    expect(statSync(join(dir, 'a', 'b', 'c')).isDirectory()).toBe(true)
    await makeDirs(join(dir, 'a', 'b', 'c'))
  })
  it('fails at once where a parent can never be created', async () => {
    await expect(makeDirs('/proc/dstack-no/such/dir')).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
