/**
 * Hostile: what a job's code writes leaves the machine only redacted, parsed and cleaned. A job that
 * knows a secret puts it into its report, a metric name and an artifact name; the outputs, the
 * dotenv file, `--json` and the provenance statement never show it. The report sanitiser is checked
 * by a CommonMark parser and runs in linear time; the CLI's last line cannot steer the terminal;
 * names in the summary drop bidi and zero-width characters.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { Lexer } from 'marked'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir } from './cli-harness.js'
import { sanitizeJobReport } from '../../src/report/job-report.js'
import { runMarkdown } from '../../src/report/markdown.js'
import { runOutputs } from '../../src/report/outputs.js'
import type { ManifestEntry, RunRecord } from '../../src/model/index.js'

const SECRET = 'hunter2-very-secret-token'

const WORKFLOWS = `workflows:
  - name: leak
    provider: bash
    env:
      - LEAK_TOKEN=\${{ secrets.LEAK_TOKEN }}
    commands:
      - mkdir -p out && echo x > "out/file-$LEAK_TOKEN.txt"
      - printf '# report\\n\\nthe token is %s\\n' "$LEAK_TOKEN" > "$DSTACK_REPORT"
      - |
        printf '{"acc-%s": 1, "loss": 0.5}\\n' "$LEAK_TOKEN" >> "$DSTACK_METRICS"
    artifacts:
      - path: out
  - name: steer
    provider: bash
    commands:
      - |
        printf 'commands[1] \\033]0;pwned\\007\\033[2J\\033[31mred\\n' > "$DSTACK_RUNNER_DIR/step"; exit 3
`

let repo: string
let store: string
let work: string

beforeAll(() => {
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS })
  store = tempDir('untrusted-out-store-')
  work = tempDir('untrusted-out-work-')
})
afterAll(cleanup)

describe('one redaction for everything that leaves the machine', () => {
  test('redaction: a secret in the report, a metric name and an artifact name reaches neither outputs, dotenv, --json nor provenance', async () => {
    const dotenv = join(work, 'out.env')
    const env: Record<string, string | undefined> = { ...process.env, LEAK_TOKEN: SECRET }
    for (const k of Object.keys(env)) if (/^(GITHUB_|GITLAB_CI|CI_)/.test(k)) delete env[k]
    const r = await cli(repo, ['run', 'leak', '--store', store, '--json', '--dotenv', dotenv, '--comment', 'false'], env)
    expect({ code: r.code, err: r.code ? r.err : '' }).toEqual({ code: 0, err: '' })
    const doc = JSON.parse(r.out) as { outputs: Record<string, unknown>; record: RunRecord }
    // the job did write it: the artifact's name and the report in the store hold it
    const name = runNameOf(r)
    expect(readdirSync(join(runDir(store, name), 'artifacts', 'out'))).toEqual([`file-${SECRET}.txt`])
    expect(JSON.stringify(doc.outputs)).toContain('***')
    for (const [where, text] of [['stdout (--json)', r.out], ['stderr', r.err], ['dotenv', readFileSync(dotenv, 'utf8')], ['provenance statement', readFileSync(join(runDir(store, name), 'provenance.intoto.json'), 'utf8')]] as const) {
      expect({ where, leaked: text.includes(SECRET) }).toEqual({ where, leaked: false })
    }
  })
})

describe('the report sanitiser parses', () => {
  const policy = { hosts: ['example.com'] }
  /** what follows the report in a shared comment is still its own paragraph, as a CommonMark parser reads it */
  const nextSectionSurvives = (md: string) => {
    const tokens = Lexer.lex(`${md}\n\n<!-- dstack-run-action:section next -->\n\nNEXT SECTION\n`)
    const last = tokens.filter((t) => t.type !== 'space').pop()
    return last?.type === 'paragraph' && last.raw.trim() === 'NEXT SECTION'
  }

  test.each([
    ['an unclosed fence', '```\nopen fence, everything after it is code'],
    ['an unclosed tilde fence', '~~~~\nopen'],
    ['raw HTML details', '<details><summary>ok</summary>\n\nhidden'],
    ['an HTML comment', '<!--\nhidden until the end'],
    ['a forged section marker', '<!-- dstack-run-action:section other -->\n### ✅ other — all passed'],
    ['an indented code block', '    code\n    more'],
    ['a setext underline trick', 'text\n==='],
    ['a table without end', '| a |\n|---|\n| x'],
    ['a lazy blockquote', '> q\nlazy'],
    ['a list', '- a\n\n  - b']
  ])('sanitiser: %s cannot hide or forge the next workflow\'s section', (_what, report) => {
    const r = sanitizeJobReport(report, { policy })
    expect(r.markdown).not.toContain('<!-- dstack-run-action')
    expect(nextSectionSurvives(r.markdown)).toBe(true)
    const tokens = Lexer.lex(r.markdown)
    expect(JSON.stringify(tokens)).not.toMatch(/"type":"html"/)
  })

  test('sanitiser: no raw HTML, reference definitions, or links and images outside the allow-list survive', () => {
    const r = sanitizeJobReport('[d]: https://evil.com\n\n[ref][d] [ok](https://example.com/a) ![x](https://evil.com/p.png) <img src=x> <https://evil.com> www.evil.com', { policy })
    const tokens = Lexer.lex(r.markdown)
    const hrefs: string[] = []
    const walk = (ts: unknown[] | undefined) => {
      for (const t of (ts ?? []) as { type: string; href?: string; tokens?: unknown[] }[]) {
        expect(t.type).not.toBe('html')
        expect(t.type).not.toBe('def')
        if (t.type === 'link' || t.type === 'image') hrefs.push(t.href!)
        walk(t.tokens)
      }
    }
    walk(tokens)
    expect(Object.keys(tokens.links)).toEqual([])
    expect(hrefs).toEqual(['https://example.com/a'])
  })

  test('sanitiser time: a 4 MiB report is handled in under 2 s of CPU, and 4 MiB costs under 5x 1 MiB', () => {
    const unit = '## Part\n\nSome *text* with `code`, x@y.z, [a link](https://example.com/x), <b>html</b> and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n\n' + 'a'.repeat(2000) + '@\n\n'
    const report = (mib: number) => unit.repeat(Math.ceil((mib * 1048576) / unit.length))
    const cpu = (text: string) => {
      const t0 = process.cpuUsage()
      sanitizeJobReport(text, { policy })
      const u = process.cpuUsage(t0)
      return (u.user + u.system) / 1e6
    }
    cpu(report(0.1)) // warm-up
    const one = cpu(report(1))
    const four = cpu(report(4))
    expect(four).toBeLessThan(2)
    expect(four / one).toBeLessThan(5)
  })
})

describe('terminal and names', () => {
  test('terminal: control sequences in a failing run\'s reason never reach the CLI\'s final line', async () => {
    const r = await cli(repo, ['run', 'steer', '--store', store, '--comment', 'false'])
    expect({ code: r.code, err: r.err.includes('run ') ? '' : r.err }).toEqual({ code: 3, err: '' })
    const last = r.err.split('\n').find((l) => /^run \S+ failed/.test(l))!
    expect(last).toContain('commands[1]')
    // eslint-disable-next-line no-control-regex
    expect(last).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
  })

  test('names: bidi and zero-width characters are dropped from artifact names shown in the summary', () => {
    const rec = { run: 'r-1', repoId: 'github.com/a/b', workflow: 'w\u202egnp.exe', spec: {}, revision: { sha: 'a'.repeat(40), repoId: 'github.com/a/b', event: 'push', snapshotSha256: '' }, backend: 'local', args: [], status: 'succeeded', submittedAt: '2026-01-01T00:00:00Z', attempts: [], tags: [] } as unknown as RunRecord
    const manifest: ManifestEntry[] = [{ path: 'model\u200b.pt\u2066x\u2069', size: 1, sha256: 'b'.repeat(64) }]
    const md = runMarkdown(rec, manifest, { artifactUrl: () => '', artifactsUrl: '' })
    expect(md).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]/)
    expect(md).toContain('wgnp.exe')
    expect(md).toContain('model.ptx')
  })
})

describe('outputs stay within their limits', () => {
  test('caps: 10,000 artifacts do not make an `artifacts` output over 1 MB; the output says how many are left out', () => {
    const manifest = Array.from({ length: 10_000 }, (_, i) => ({ path: `checkpoints/epoch-${i}/model-shard-${i}.safetensors`, size: i, sha256: 'c'.repeat(64) }))
    const rec = { run: 'r-1', repoId: 'github.com/a/b', workflow: 'w', revision: { sha: 'a'.repeat(40) }, status: 'succeeded', submittedAt: '2026-01-01T00:00:00Z', attempts: [], tags: [] } as unknown as RunRecord
    const out = runOutputs(rec, manifest, { artifactUrl: (p) => `https://bucket.s3.amazonaws.com/github.com/a/b/runs/r-1/artifacts/${p}`, artifactsUrl: '' })
    expect(Buffer.byteLength(out.artifacts!)).toBeLessThan(1_000_000)
    const shown = JSON.parse(out.artifacts!) as unknown[]
    expect(shown.length + Number(out['artifacts-truncated'])).toBe(10_000)
    expect(shown.length).toBeGreaterThan(1000)
  })
})

describe('the snapshot never holds the store', () => {
  test('snapshot: a folder store inside the repository is never swept into the next run\'s code with --include-untracked', async () => {
    const r2 = repoWith({ '.dstack/workflows.yaml': WORKFLOWS, 'train.py': 'print(1)\n' })
    const inside = join(r2, 'runs-store')
    const env: Record<string, string | undefined> = { ...process.env, LEAK_TOKEN: SECRET }
    for (const k of Object.keys(env)) if (/^(GITHUB_|GITLAB_CI|CI_)/.test(k)) delete env[k]
    expect((await cli(r2, ['run', 'leak', '--store', inside, '--comment', 'false'], env)).code).toBe(0)
    writeFileSync(join(r2, 'notes.txt'), 'untracked, sent\n')
    expect((await cli(r2, ['run', 'leak', '--store', inside, '--include-untracked', '--comment', 'false'], env)).code).toBe(0)
    const codeDir = join(inside, 'code')
    const tars = readdirSync(codeDir).map((f) => execFileSync('tar', ['-tzf', join(codeDir, f)], { encoding: 'utf8' }))
    const withNotes = tars.filter((t) => /(^|\/)notes\.txt$/m.test(t))
    expect(withNotes.length).toBe(1)
    expect(withNotes[0]).not.toMatch(/runs-store/)
  })
})
