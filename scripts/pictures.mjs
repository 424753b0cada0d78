#!/usr/bin/env node
// The README's pictures of what a reviewer sees, made from the tool's real output: the golden files
// of the report tests (__tests__/report/golden/*.md, which the tests check the code still writes)
// rendered to HTML as GitHub renders markdown (GFM by `marked`, Mermaid charts by Mermaid itself)
// and screenshot by headless Chromium into docs/images/*.png. docs/images/pictures.json records the
// sha256 of each picture's markdown, so a test can tell when a picture is out of date.
// Usage: node scripts/pictures.mjs   (needs Debian's `chromium` and `fonts-noto-color-emoji`, or
//        CHROMIUM=/path/to/chrome)
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { marked } from 'marked'

const root = new URL('..', import.meta.url).pathname
const IMAGES = 'docs/images'
const WIDTH = 860

/** each picture: the markdown it shows and the frame GitHub puts around it */
export const PICTURES = [
  { image: 'pr-comment.png', source: '__tests__/report/golden/success-metrics-baseline.comment.md', frame: 'comment' },
  { image: 'job-summary.png', source: '__tests__/report/golden/regression.summary.md', frame: 'summary' }
]

export const sha256 = (text) => createHash('sha256').update(text).digest('hex')

const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])

/** markdown → the HTML GitHub shows: GFM, and Mermaid blocks left to Mermaid */
export function toHtml(md) {
  const renderer = new marked.Renderer()
  const code = renderer.code.bind(renderer)
  renderer.code = (token) => (token.lang === 'mermaid' ? `<pre class="mermaid">${escape(token.text)}</pre>` : code(token))
  return marked.parse(md, { gfm: true, async: false, renderer })
}

const CSS = `
body { margin: 0; background: #fff; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.frame { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; border-radius: 6px 6px 0 0; color: #59636e; }
.head b { color: #1f2328; }
.md { padding: 16px; }
.md h2, .md h3 { border-bottom: 1px solid #d1d9e0b3; padding-bottom: .3em; margin: 24px 0 16px; font-weight: 600; }
.md h2 { font-size: 1.5em; } .md h3 { font-size: 1.25em; } .md h4 { font-size: 1em; margin: 24px 0 16px; }
.md > :first-child { margin-top: 0; }
.md table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
.md th, .md td { border: 1px solid #d1d9e0; padding: 6px 13px; }
.md th { font-weight: 600; } .md tr:nth-child(2n) { background: #f6f8fa; }
.md code { font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #818b981f; border-radius: 6px; padding: .2em .4em; }
.md pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; }
.md pre code { background: none; padding: 0; font-size: 100%; }
.md pre.mermaid { background: none; text-align: center; }
.md blockquote { margin: 0 0 16px; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.md a { color: #0969da; text-decoration: none; }
.md p, .md ul { margin: 0 0 16px; }
`

export function page(md, frame) {
  const head = frame === 'comment' ? '<b>github-actions</b> <span>bot commented</span>' : '<b>train summary</b>'
  const mermaid = join(root, 'node_modules/mermaid/dist/mermaid.min.js')
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style>
<script src="file://${mermaid}"></script></head>
<body><div class="frame" id="frame"><div class="head">${head}</div><div class="md">${toHtml(md)}</div></div>
<script>
mermaid.initialize({ startOnLoad: false, theme: 'default' })
mermaid.run({ querySelector: 'pre.mermaid' }).finally(() => {
  document.title = 'height=' + Math.ceil(document.getElementById('frame').getBoundingClientRect().bottom + 16)
})
</script></body></html>`
}

function chromium() {
  return process.env.CHROMIUM || 'chromium'
}

function headless(args) {
  return execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--allow-file-access-from-files', '--force-device-scale-factor=1', '--virtual-time-budget=10000', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const work = mkdtempSync(join(tmpdir(), 'pictures-'))
  mkdirSync(join(root, IMAGES), { recursive: true })
  const record = {}
  try {
    for (const p of PICTURES) {
      const md = readFileSync(join(root, p.source), 'utf8')
      const html = join(work, p.image.replace(/\.png$/, '.html'))
      writeFileSync(html, page(md, p.frame))
      // first the page's height once Mermaid has drawn, then a screenshot of exactly that
      const dom = headless([`--window-size=${WIDTH},800`, '--dump-dom', `file://${html}`])
      const height = Number(/<title>height=(\d+)<\/title>/.exec(dom)?.[1])
      if (!height) throw new Error(`${p.source}: the page did not finish rendering (no height in its title)`)
      const png = join(work, p.image)
      headless([`--window-size=${WIDTH},${height}`, `--screenshot=${png}`, `file://${html}`])
      copyFileSync(png, join(root, IMAGES, p.image))
      record[p.image] = { source: p.source, sha256: sha256(md), width: WIDTH, height }
      console.log(`${IMAGES}/${p.image}: ${p.source} (${WIDTH}×${height})`)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  writeFileSync(join(root, IMAGES, 'pictures.json'), JSON.stringify(record, null, 2) + '\n')
}
