/**
 * The README's pictures show what the tool writes today: each docs/images/*.png a page shows is
 * recorded in docs/images/pictures.json with the sha256 of the markdown it was made from (a golden
 * file of the report tests, which the tests check the code still writes), and that markdown has not
 * changed since. When this fails, run `node scripts/pictures.mjs` (headless Chromium) and commit.
 */
import { describe, it, expect } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = process.cwd()
const IMAGES = join(ROOT, 'docs/images')
interface Picture {
  source: string
  sha256: string
  width: number
  height: number
}
const record = JSON.parse(readFileSync(join(IMAGES, 'pictures.json'), 'utf8')) as Record<string, Picture>

/** width and height from a PNG's IHDR chunk, after checking its signature */
function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file)
  expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR')
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) }
}

describe('pictures of the PR comment and the job summary', () => {
  const shown = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(docs\/images\/([^)]+\.png)\)/g)].map((m) => m[1]!)

  it('the README shows the PR comment and the job summary, and every picture it shows is recorded', () => {
    expect(shown).toEqual(expect.arrayContaining(['pr-comment.png', 'job-summary.png']))
    for (const p of shown) expect({ picture: p, recorded: p in record }).toEqual({ picture: p, recorded: true })
    expect(readdirSync(IMAGES).filter((f) => f.endsWith('.png')).sort()).toEqual(Object.keys(record).sort())
  })

  it.each(Object.entries(record).map(([image, p]) => [image, p.source, p] as const))('%s was made from the current %s', (image, _source, p) => {
    expect(p.source).toMatch(/^__tests__\/report\/golden\/[\w.-]+\.md$/)
    const md = readFileSync(join(ROOT, p.source), 'utf8')
    const current = createHash('sha256').update(md).digest('hex')
    if (current !== p.sha256) throw new Error(`docs/images/${image} shows an older ${p.source}: run node scripts/pictures.mjs`)
    expect(existsSync(join(IMAGES, image))).toBe(true)
    expect(pngSize(join(IMAGES, image))).toEqual({ width: p.width, height: p.height })
  })
})
