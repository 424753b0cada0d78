/**
 * Hostile markdown: every string a user, a job, the CI or the store controls, placed where it lands
 * in the summary / PR comment, rendered by a GFM renderer (marked) and checked: no injected link,
 * image or HTML, no table broken, no code span or fence escaped, no forged comment marker. The last
 * case runs a hostile job end to end on the local backend and checks `dstack-run report`.
 * One `it` per case.
 */
import './job-user-on.js'
import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runMarkdown } from '../../src/report/markdown.js'
import { runSection } from '../../src/report/section.js'
import { sanitizeJobReport } from '../../src/report/job-report.js'
import { parseMetrics } from '../../src/report/metrics.js'
import { seriesChart } from '../../src/report/chart.js'
import { codeSpan, fencedBlock, policyFor, safeUrl } from '../../src/report/md-escape.js'
import { mergeSection, parseSections } from '../../src/report/comment.js'
import { DEFAULTS, type RunRecord, type RunSpec } from '../../src/model/index.js'
import { checkMarkdown, parseMermaid, releaseDom } from '../helpers/markdown-check.js'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'

const ALLOWED = ['github.com', 'ml-runs.s3.amazonaws.com']
const policy = policyFor(['https://github.com/acme/ml', 'https://ml-runs.s3.amazonaws.com/x'])
const ctx = { artifactUrl: (p: string) => `https://ml-runs.s3.amazonaws.com/${encodeURI(p)}`, artifactsUrl: 'https://ml-runs.s3.amazonaws.com/', policy }

const spec = {
  workflow: 'train', format: 'workflows.yaml', source: { file: '.dstack/workflows.yaml', line: 3, column: 5 }, commands: ['python train.py'], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [], deps: [], ports: [], cache: [], resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB },
  spotPolicy: 'auto', maxDurationSec: 600, retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
} satisfies RunSpec

function rec(over: Partial<RunRecord> = {}, branch = 'main'): RunRecord {
  return {
    run: 'wet-cat-1', repoId: 'github.com/acme/ml', workflow: 'train', spec, backend: 'local', args: [],
    revision: { repoId: 'github.com/acme/ml', sha: 'a'.repeat(40), branch, event: 'push', snapshotSha256: 'b'.repeat(64) },
    status: 'failed', exitCode: 1, reason: 'x', submittedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:01:00Z',
    attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z', status: 'failed', reason: 'x' }], tags: [], ...over
  }
}

async function clean(md: string): Promise<void> {
  const r = await checkMarkdown(md, ALLOWED)
  expect(r.problems).toEqual([])
  for (const c of r.mermaid) await parseMermaid(c)
}

const entry = (path: string) => ({ path, size: 1, sha256: 'c'.repeat(64) })

describe('hostile markdown', () => {
  it('control: the checker flags what unescaped values would do', async () => {
    const raw = '| a | b |\n|---|---|\n| x|y | z |\n\n[c](https://evil.example) <img src=x onerror=alert(1)> ![i](https://evil.example/i.png)'
    const r = await checkMarkdown(raw, ALLOWED)
    expect(r.problems.some((p) => p.startsWith('table row has 3 cells'))).toBe(true)
    expect(r.problems).toEqual(expect.arrayContaining(['link to "https://evil.example"', 'raw HTML "<img src=x onerror=alert(1)>"', 'image from "https://evil.example/i.png"', 'event handler attribute onerror']))
  })

  it('artifact named `out/x) [click](https://evil.example).txt` makes no link and keeps the table', async () => {
    const md = runMarkdown(rec(), [entry('out/x) [click](https://evil.example).txt')], ctx)
    await clean(md)
    expect(md).not.toContain('](https://evil.example')
  })

  it('artifact names with `|`, backticks, `<img>` and `](javascript:…)` stay in their cell', async () => {
    await clean(runMarkdown(rec(), ['a|b|c', 'x`y``z', '<img src=x onerror=alert(1)>', '](javascript:alert(1))', 'x\\|y'].map(entry), ctx))
  })

  it('a branch name with backticks cannot break out of its code span', async () => {
    const md = runMarkdown(rec({}, 'feat/`](https://evil.example)`<img src=x>|'), [], ctx)
    await clean(md)
    expect(md).toContain(codeSpan('feat/`](https://evil.example)`<img src=x>\\|'))
  })

  it('a reason written by the job (markdown, HTML, links, pipes, newlines) is plain text', async () => {
    const reason = '[click](https://evil.example) ![i](https://evil.example/p.png) <details><summary>x</summary>\n| a | b |\n# head https://evil.example @someone www.evil.example'
    const md = runMarkdown(rec({ reason, attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z', status: 'failed', reason }] }), [], ctx)
    await clean(md)
    expect(md).not.toMatch(/\]\(https:\/\/evil/)
  })

  it('tags and price sources with table and link syntax', async () => {
    const r = rec({ tags: ['a|b', '[x](https://evil.example)'], attempts: [{ n: 1, startedAt: '2026-01-01T00:00:00Z', machine: { id: 'i-1|x', backend: 'aws', instanceType: '<b>g5</b>', pricePerHour: 1, priceSource: '|](javascript:x)' } }] })
    await clean(runMarkdown(r, [], ctx))
  })

  it('store URLs with other hosts, javascript:, data: and credentials are never links', () => {
    for (const u of ['javascript:alert(1)', 'data:text/html,x', 'https://evil.example/', 'https://user:pw@github.com/', 'http://github.com.evil.example/', 'file:///etc/passwd', 'https://github.com/a b']) {
      expect(safeUrl(u, policy)).toBeUndefined()
    }
    expect(safeUrl('https://github.com/a)b(c', policy)).toBe('https://github.com/a%29b%28c')
  })

  it('a log tail with fences, comment markers and HTML stays inside its fenced block', async () => {
    const log = 'ok\n```\n<img src=x onerror=alert(1)>\n````\n<!-- dstack-run-action:end train -->\n[x](https://evil.example)\n~~~\n'
    const md = runSection(rec({ reason: '`commands[1]` (python train.py) exited with 1' }), [], { ...ctx, extras: { logText: log } })
    await clean(md)
    const body = mergeSection(undefined, 'train', md)
    expect(parseSections(body)).toHaveLength(1)
    expect(parseSections(body)[0]!.markdown).toBe(md.trimEnd())
    expect(fencedBlock('a\n`````\nb')).toMatch(/^``````\n/)
  })

  it('the job report: HTML, javascript:/data: links and images, reference definitions, autolinks, mentions, entities', async () => {
    const report = [
      '# ok', '<script>alert(1)</script>', '<img src="https://evil.example/p.png">', '<details open><summary>s</summary>x</details>',
      '[a](javascript:alert(1)) [b](data:text/html,x) [c]( https://evil.example ) [d](<https://evil.example>) [e](https://evil.example "t")',
      '![f](https://evil.example/p.png) ![g](data:image/png;base64,AAAA) ![h](../../etc/passwd)',
      '[ref]: https://evil.example', '[use it][ref] and [ref]', '<https://evil.example> https://evil.example www.evil.example mail@evil.example @org/team',
      '[i](https://github.com&#64;evil.example/) [j](https:&#x2F;&#x2F;evil.example) [k](https://github.com\\@evil.example)',
      '[nested [l](https://evil.example)](https://github.com/ok) `code <b>kept</b> [x](https://evil.example)`',
      '<!-- dstack-run-action:end train -->', '```', '<!-- dstack-run-action:end train -->', 'unclosed fence'
    ].join('\n')
    const s = sanitizeJobReport(report, { policy })
    await clean(s.markdown)
    expect(s.markdown).not.toMatch(/<!-- dstack-run-action/)
    expect(s.markdown).toContain('[l\\] (`https://evil.example`: link removed)](https://github.com/ok)')
  })

  it('the job report keeps its own markdown: tables, lists, emphasis, allowed links, code', async () => {
    const s = sanitizeJobReport('| a | b |\n|---|---|\n| 1 | 2 |\n\n- *x* **y**\n\n[docs](https://github.com/acme/ml)\n\n```py\nprint("<b>")\n```', { policy })
    const r = await checkMarkdown(s.markdown, ALLOWED)
    expect(r.problems).toEqual([])
    expect(r.tables).toBe(1)
    expect(r.links).toEqual(['https://github.com/acme/ml'])
    expect(r.html).toContain('print(&quot;&lt;b&gt;&quot;)')
  })

  it('metric names with pipes, backticks, HTML and quotes: table cells and Mermaid charts stay valid', async () => {
    const names = ['loss|x', 'a`b', '<img src=x>', 'q"uote\nline', '1. list', '](javascript:x)']
    const text = [0, 1, 2].map((s) => JSON.stringify(Object.fromEntries([['step', s], ...names.map((n, i) => [n, i + s])]))).join('\n')
    const metrics = parseMetrics(text)
    const md = runSection(rec({ status: 'succeeded', reason: undefined }), [], { ...ctx, extras: { metrics, baseline: { label: 'tag x|y', run: 'r', metrics } } })
    await clean(md)
    for (const n of names) await parseMermaid(seriesChart({ name: n, current: metrics.series[n]!, baseline: metrics.series[n] }).split('\n').slice(1, -2).join('\n'))
  })

  it('Mermaid: a metric name starting with %% and steps or values of 1e21 still make a chart both Mermaid versions parse', async () => {
    for (const [name, points] of [
      ['%%{init: {"theme":"dark"}}%% loss', [{ step: 0, value: 1 }, { step: 1, value: 2 }]],
      ['%% comment', [{ step: 0, value: 1 }, { step: 1, value: 2 }]],
      ['big steps', [{ step: 1e21, value: 1 }, { step: 3e21, value: 2e22 }]],
      ['huge values', [{ step: 0, value: -1e300 }, { step: 1, value: 1e300 }]]
    ] as const) {
      const chart = seriesChart({ name, current: [...points] }).split('\n').slice(1, -2).join('\n')
      expect(chart).not.toMatch(/%%|e\+/)
      await parseMermaid(chart)
    }
  })

  it('end to end on the local backend: a hostile job, then `dstack-run report` prints a clean section', async () => {
    const store = mkdtempSync(join(tmpdir(), 'hostile-md-'))
    const repo = makeRepo({
      '.dstack/workflows.yaml': 'workflows:\n  - name: train\n    provider: bash\n    commands:\n      - bash hostile.sh\n    artifacts:\n      - path: out\n',
      'hostile.sh': [
        'f="out/x) [click](https://evil.example).txt"; mkdir -p "$(dirname "$f")" && echo x > "$f" && echo y > \'out/a|b<img src=x>.txt\'',
        'printf \'{"step": 1, "loss|x": 2}\\n{"step": 2, "loss|x": 1}\\n{"acc<b>": 0.5}\\n\' > "$DSTACK_METRICS"',
        'printf \'# Hi\\n<script>x</script>\\n[c](javascript:alert(1))\\n![p](https://evil.example/p.png)\\n\' > "$DSTACK_REPORT"',
        "echo '<!-- dstack-run-action:end train -->'; echo '```'; echo '| a | b |'",
        'exit 3'
      ].join('\n') + '\n'
    })
    const io = (out: string[]) => ({
      environ: { ...process.env, DSTACK_WORK_ROOT: mkdtempSync(join(tmpdir(), 'hostile-work-')) },
      cwd: repo.dir,
      out: { write: (s: string) => (out.push(s), true) },
      err: { write: (s: string) => (process.env.HOSTILE_DEBUG && process.stderr.write(s), true) },
      signal: new AbortController().signal
    })
    try {
      const ran: string[] = []
      expect(await main(['run', 'train', '--store', store, '--comment', 'false', '--json'], io(ran))).toBe(3)
      const run = (JSON.parse(ran.join('').slice(ran.join('').indexOf('{'))) as { record: RunRecord }).record.run
      const out: string[] = []
      expect(await main(['report', run, '--store', store], io(out))).toBe(0)
      const md = out.join('')
      if (process.env.HOSTILE_DEBUG) process.stderr.write(md)
      await clean(md)
      expect(md).toContain('**Failed command:** `commands[1]` `bash hostile.sh` at .dstack/workflows.yaml:5')
      expect(md).toContain('#### Report from the job')
      expect(md).not.toContain('<script>')
      expect(parseSections(mergeSection(undefined, 'train', md))[0]!.markdown).toBe(md.trimEnd())
    } finally {
      repo.cleanup()
      rmSync(store, { recursive: true, force: true })
    }
  })
})

afterAll(() => releaseDom())
