/**
 * Golden files of the PR / MR comment and the job summary (`__tests__/report/golden/*.md`) for the
 * cases a reviewer meets: success with metrics against a baseline, a regression, no baseline, a
 * failed run with its log tail, a long report shortened, a report with images (GitHub: presigned
 * store links; GitLab: uploaded through the project uploads API of a fake GitLab), and the local
 * backend on CI (folder store). Each is rendered by a GFM renderer (marked) and checked: tables
 * intact, no link or image outside the allowed hosts, no raw HTML, every chart parsed by Mermaid.
 * `UPDATE_GOLDEN=1` rewrites the files after a deliberate change.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore, keys, type ObjectStore } from '../../src/store/index.js'
import { DEFAULTS, type ManifestEntry, type RunRecord, type RunSpec } from '../../src/model/index.js'
import { mergeSection, SECTION_MAX_CHARS, COMMENT_MAX_CHARS } from '../../src/report/comment.js'
import { prepareRunReport } from '../../src/ci/run-report.js'
import { SecretRedactor } from '../../src/ci/redact.js'
import { artifactsNote, gitlabJobArtifactLinks } from '../../src/ci/artifact-place.js'
import { createHash } from 'node:crypto'
import { checkMarkdown, parseMermaid, releaseDom } from '../helpers/markdown-check.js'
import { startFakeGitlab, type FakeGitlab } from '../helpers/fake-gitlab.js'

const GOLDEN = join(process.cwd(), '__tests__/report/golden')
const REPO = 'github.com/acme/ml'
const SUMMARY_MAX = 250_000
const GH_ENV = { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/ml', GITHUB_BASE_REF: 'main', RUNNER_ENVIRONMENT: 'github-hosted' }
const JOB_URL = 'https://github.com/acme/ml/actions/runs/77'
const S3_HOST = 'ml-runs.s3.us-east-1.amazonaws.com'

const spec: RunSpec = {
  workflow: 'train', format: 'workflows.yaml', source: { file: '.dstack/workflows.yaml', line: 3, column: 5 },
  commands: ['pip install -r requirements.txt', 'python train.py --epochs 3'], commandLines: [7, 8], setup: [], env: {}, secretEnv: {},
  workingDir: '.', args: [], artifacts: [{ path: 'model', mount: false }, { path: 'plots', mount: false }], deps: [], ports: [], cache: [],
  resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 21600,
  retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1
}

function record(run: string, over: Partial<RunRecord> = {}, branch = 'feature/better-lr'): RunRecord {
  return {
    run, repoId: REPO, workflow: 'train', spec, backend: 'aws', args: [],
    revision: { repoId: REPO, sha: 'a1b2c3d4e5f6'.padEnd(40, '0'), branch, pr: branch === 'main' ? undefined : 12, event: branch === 'main' ? 'push' : 'pull_request', snapshotSha256: 'b'.repeat(64) },
    status: 'succeeded', reason: 'all commands exited with 0', exitCode: 0,
    submittedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:12:34Z',
    attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:12:30Z', status: 'succeeded', exitCode: 0, machine: { id: 'i-0abc', backend: 'aws', instanceType: 'g5.xlarge', market: 'spot', zone: 'us-east-1a', pricePerHour: 0.4, priceSource: 'spot price history' } }],
    tags: [], costUsd: 0.0838,
    // main's runs are the trusted baselines; the run shown (a pull request's) records no trust, so its section has no Trust row
    ...(branch === 'main' ? { trust: { trusted: true, trigger: 'push on main', why: 'the default branch' } } : {}),
    ...over
  }
}

function series(n: number, f: (i: number) => number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ step: i * 10, loss: Number(f(i).toFixed(5)) })).join('\n')
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

async function putRun(store: RunStore, r: RunRecord, files: Record<string, string | Buffer>, logs?: string[]): Promise<ManifestEntry[]> {
  await store.saveRun(r)
  const manifest: ManifestEntry[] = []
  for (const [path, body] of Object.entries(files)) {
    await store.store.put(keys.artifacts(r.repoId, r.run, path), body)
    manifest.push({ path, size: Buffer.byteLength(body), sha256: sha(body) })
  }
  await store.store.put(keys.manifest(r.repoId, r.run), JSON.stringify(manifest))
  for (const [i, chunk] of (logs ?? []).entries()) await store.store.put(keys.logChunk(r.repoId, r.run, 1, i), chunk)
  return manifest
}

/** a folder store that presigns like S3 (deterministic, for golden files) */
function presigning(inner: ObjectStore): ObjectStore {
  return Object.assign(Object.create(inner) as ObjectStore, {
    url: (key: string) => `https://${S3_HOST}/${key}`,
    presignGet: async (key: string, seconds: number) => `https://${S3_HOST}/${key}?X-Amz-Expires=${seconds}&X-Amz-Signature=0f0f`
  })
}

let dir: string
let plain: RunStore
let s3like: RunStore
let gitlab: FakeGitlab
const now = () => new Date('2026-03-01T10:13:00Z')

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'golden-'))
  const folder = new FolderStore(dir)
  plain = new RunStore(folder)
  s3like = new RunStore(presigning(folder))
  gitlab = await startFakeGitlab({ token: 'glpat-test' })
  // the baseline: tagged run on main
  await putRun(plain, record('calm-otter-1', { tags: ['latest-main'] }, 'main'), {
    'model/weights.json': '{"w": 2.9}',
    '_dstack/metrics.jsonl': series(21, (i) => 2.5 * Math.exp(-i / 6) + 0.12) + '\n{"accuracy": 0.901, "val_loss": 0.2}\n'
  })
  await plain.store.put(keys.tag(REPO, 'latest-main'), JSON.stringify({ tag: 'latest-main', run: 'calm-otter-1', workflow: 'train', repoId: REPO, revision: { sha: 'c'.repeat(40) }, created_at: '2026-02-28T00:00:00Z', manifest_sha256: 'd'.repeat(64) }))
})
afterAll(async () => {
  releaseDom()
  await gitlab.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Case {
  name: string
  run: RunRecord
  files: Record<string, string | Buffer>
  logs?: string[]
  baseline?: string
  platform: 'github' | 'gitlab'
  store?: () => RunStore
  environ?: Record<string, string>
  secrets?: string[]
  workflowArtifactUrl?: string
  gitlabExport?: boolean
}

const REPORT = `## Training report

The learning rate schedule changed from *step* to **cosine**.

| epoch | loss |
|---|---|
| 1 | 0.91 |
| 3 | 0.14 |

See [the paper](https://github.com/acme/ml/blob/main/PAPER.md) and the [weights](model/weights.json).
`

const CASES: Case[] = [
  {
    name: 'success-metrics-baseline',
    store: () => s3like,
    run: record('brave-lynx-4'),
    files: { 'model/weights.json': '{"w": 3.0}', '_dstack/metrics.jsonl': series(21, (i) => 2.4 * Math.exp(-i / 5) + 0.1) + '\n{"accuracy": 0.913, "val_loss": 0.18}\n', '_dstack/report.md': REPORT },
    baseline: 'latest-main',
    platform: 'github'
  },
  {
    name: 'regression',
    store: () => s3like,
    run: record('slow-snail-2'),
    files: { 'model/weights.json': '{"w": 2.1}', '_dstack/metrics.jsonl': series(21, (i) => 2.6 * Math.exp(-i / 9) + 0.3) + '\n{"accuracy": 0.874, "val_loss": 0.31}\n' },
    baseline: 'auto',
    platform: 'github'
  },
  {
    name: 'no-baseline',
    run: record('new-newt-1', {}, 'experiment'),
    files: { '_dstack/metrics.jsonl': '{"accuracy": 0.5, "latency_ms": 12.5}\n' },
    baseline: 'auto',
    environ: { GITHUB_BASE_REF: 'release-2' },
    platform: 'github'
  },
  {
    name: 'failed-log-tail',
    store: () => s3like,
    run: record('sad-seal-3', {
      status: 'failed', exitCode: 1, reason: '`commands[2]` (python train.py --epochs 3) exited with 1',
      attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:02:00Z', status: 'failed', exitCode: 1, reason: '`commands[2]` (python train.py --epochs 3) exited with 1' }]
    }),
    files: { 'model/partial.txt': 'x' },
    logs: [
      Array.from({ length: 80 }, (_, i) => `epoch ${i} step ok`).join('\n') + '\n',
      '\x1b[31mTraceback (most recent call last):\x1b[0m\n  File "train.py", line 9, in <module>\n    token = "hf_SECRETVALUE123"\n```\n<!-- dstack-run-action:end train -->\n<img src=x onerror=alert(1)>\nValueError: loss is NaN | at step 30\n'
    ],
    secrets: ['hf_SECRETVALUE123'],
    platform: 'github'
  },
  {
    name: 'long-report',
    store: () => s3like,
    run: record('wordy-wren-1'),
    files: {
      '_dstack/report.md': '# Long report\n\n' + Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum '.repeat(8)}`).join('\n\n') + '\n\n```python\n' + 'print(1)\n'.repeat(2000) + '```\n\n' + Array.from({ length: 300 }, (_, i) => `More ${i}.`).join('\n\n') + '\n\nThe end.\n'
    },
    baseline: 'none',
    platform: 'github'
  },
  {
    name: 'report-images-github',
    run: record('pretty-puma-2'),
    files: { 'plots/loss.png': Buffer.from('\x89PNG fake'), '_dstack/report.md': '## Curves\n\n![loss curve](plots/loss.png)\n\n![external](https://evil.example/track.png)\n' },
    baseline: 'none',
    platform: 'github',
    store: () => s3like
  },
  {
    name: 'report-images-gitlab',
    run: record('pretty-puma-3'),
    files: { 'plots/loss.png': Buffer.from('\x89PNG fake'), '_dstack/report.md': '## Curves\n\n![loss curve](./plots/loss.png)\n' },
    baseline: 'none',
    platform: 'gitlab',
    environ: { GITLAB_CI: 'true', CI_SERVER_URL: 'https://gitlab.example.com', CI_PROJECT_URL: 'https://gitlab.example.com/acme/ml', CI_PROJECT_ID: '42', DSTACK_GITLAB_TOKEN: 'glpat-test', CI_JOB_URL: 'https://gitlab.example.com/acme/ml/-/jobs/9' }
  },
  {
    name: 'local-backend-on-ci',
    run: record('home-hare-1', { backend: 'local', attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:12:30Z', status: 'succeeded', exitCode: 0, machine: { id: 'local:4242', backend: 'local' } }], costUsd: undefined }),
    files: { 'model/weights.json': '{"w": 3.0}' },
    baseline: 'none',
    platform: 'github',
    workflowArtifactUrl: 'https://github.com/acme/ml/actions/runs/77/artifacts/1234'
  },
  {
    name: 'local-backend-on-gitlab',
    run: record('home-hare-2', { backend: 'local', attempts: [{ n: 1, startedAt: '2026-03-01T10:00:05Z', endedAt: '2026-03-01T10:12:30Z', status: 'succeeded', exitCode: 0, machine: { id: 'local:4243', backend: 'local' } }], costUsd: undefined }),
    files: { 'model/weights.json': '{"w": 3.0}' },
    baseline: 'none',
    platform: 'gitlab',
    gitlabExport: true,
    environ: { GITLAB_CI: 'true', CI_SERVER_URL: 'https://gitlab.example.com', CI_PROJECT_URL: 'https://gitlab.example.com/acme/ml', CI_JOB_ID: '9', CI_JOB_URL: 'https://gitlab.example.com/acme/ml/-/jobs/9' }
  }
]

/** every host a link may legitimately point at in these cases */
const ALLOWED = ['github.com', S3_HOST, 'gitlab.example.com']

function golden(file: string, text: string): void {
  const path = join(GOLDEN, file)
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text)
  expect(text).toBe(readFileSync(path, 'utf8'))
}

describe.each(CASES)('$name', (c) => {
  let comment = ''
  let summary = ''
  beforeAll(async () => {
    const store = c.store?.() ?? plain
    const manifest = await putRun(store, c.run, c.files, c.logs)
    const environ: Record<string, string> = { ...GH_ENV, ...(c.platform === 'gitlab' ? { GITHUB_ACTIONS: '', GITHUB_SERVER_URL: '', GITHUB_REPOSITORY: '', GITHUB_BASE_REF: '', CI_API_V4_URL: gitlab.apiUrl } : {}), ...c.environ }
    const redactor = new SecretRedactor()
    for (const s of c.secrets ?? []) redactor.add(s)
    const exported = c.gitlabExport ? gitlabJobArtifactLinks(environ, 'dstack-artifacts') : undefined
    const links = exported ?? store.artifactLinks(c.run)
    const loc = store === plain ? ({ kind: 'folder', root: '/home/runner/.dstack/store' } as const) : ({ kind: 's3', bucket: 'ml-runs', prefix: '' } as const)
    const report = await prepareRunReport({
      store, environ, record: c.run, manifest, baseline: c.baseline, redactor, links,
      jobUrl: c.platform === 'gitlab' ? environ.CI_JOB_URL : JOB_URL,
      workflowArtifactUrl: c.workflowArtifactUrl,
      artifactsNote: artifactsNote({ loc, environ, storeUrl: loc.kind === 'folder' ? loc.root : 's3://ml-runs', workflowArtifactUrl: c.workflowArtifactUrl, workflowArtifactName: `dstack-${c.run.run}`, gitlabExported: exported }),
      warn: (m) => {
        throw new Error(`unexpected warning: ${m}`)
      },
      now
    })
    comment = mergeSection(undefined, c.run.workflow, await report.render(c.platform, SECTION_MAX_CHARS))
    summary = await report.render(c.platform, SUMMARY_MAX)
  })

  it('matches the golden comment and summary', () => {
    golden(`${c.name}.comment.md`, comment)
    if (c.platform === 'github') golden(`${c.name}.summary.md`, summary)
    expect(comment.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
  })

  it('renders as GFM with intact tables, only allowed links and images, no raw HTML', async () => {
    for (const md of [comment, summary]) {
      const r = await checkMarkdown(md, ALLOWED)
      expect(r.problems).toEqual([])
      expect(r.tables).toBeGreaterThanOrEqual(2)
      for (const chart of r.mermaid) await parseMermaid(chart)
    }
  })
})

describe('what the golden cases prove', () => {
  const read = (f: string) => readFileSync(join(GOLDEN, f), 'utf8')
  it('success: metrics against the tagged baseline, both series drawn, report links kept', () => {
    const md = read('success-metrics-baseline.comment.md')
    expect(md).toContain('against the baseline tag latest-main (run `calm-otter-1`): 3 better, 0 worse')
    expect(md).toMatch(/\| `loss` ↓ \| 0\.144 \| 0\.2092 \| −0\.06522 \\\(−31\.2%\\\) \| 🟢 better \|/)
    expect(md).toMatch(/```mermaid\nxychart-beta\n {4}title "loss - this run vs baseline"/)
    expect(md).toContain('[the paper](https://github.com/acme/ml/blob/main/PAPER.md)')
    expect(md).toContain(`[weights](https://${S3_HOST}/${REPO}/runs/brave-lynx-4/artifacts/model/weights.json?X-Amz-Expires=604800&X-Amz-Signature=0f0f)`)
  })
  it('regression: worse marks against the auto baseline on the base branch', () => {
    const md = read('regression.comment.md')
    expect(md).toContain('auto: latest trusted succeeded train run on main')
    expect(md).toMatch(/🔴 worse/)
  })
  it('no baseline says why', () => {
    expect(read('no-baseline.comment.md')).toContain('(no baseline: no trusted succeeded run of train on release-2 yet)')
  })
  it('failure: command, its line, the redacted and neutralised tail', () => {
    const md = read('failed-log-tail.comment.md')
    expect(md).toContain('**Failed command:** `commands[2]` `python train.py --epochs 3` at [.dstack/workflows.yaml:8](https://github.com/acme/ml/blob/')
    expect(md).not.toContain('hf_SECRETVALUE123')
    expect(md).toContain('token = "***"')
    expect(md).not.toContain('\x1b[')
    expect(md).not.toContain('<!-- dstack-run-action:end train -->\n<img')
  })
  it('long report: shortened inside its code block (closed again), says what was cut and where the whole report is', async () => {
    const md = read('long-report.comment.md')
    expect(md).toMatch(/The report was shortened: \d+ of \d+ lines/)
    expect(md).toContain(`The whole report is the artifact [\\_dstack/report.md](https://${S3_HOST}/${REPO}/runs/wordy-wren-1/artifacts/_dstack/report.md) of run \`wordy-wren-1\``)
    expect(md).toMatch(/print\(1\)\n```\n\n> ✂️ The report was shortened/)
    // the artifacts table after the cut report still renders as a table
    expect((await checkMarkdown(md, ALLOWED)).html).toContain('<th>File</th>')
    const summary = read('long-report.summary.md')
    expect(summary).not.toContain('shortened')
    expect(summary).toContain('The end.')
  })
  it('images: presigned on GitHub with the expiry stated, uploaded on GitLab, unknown hosts dropped', () => {
    const gh = read('report-images-github.comment.md')
    expect(gh).toContain(`![loss curve](https://${S3_HOST}/${REPO}/runs/pretty-puma-2/artifacts/plots/loss.png?X-Amz-Expires=604800&X-Amz-Signature=0f0f)`)
    expect(gh).toContain('valid until 2026-03-08 at the latest')
    expect(gh).not.toContain('](https://evil.example')
    const gl = read('report-images-gitlab.comment.md')
    expect(gl).toMatch(/!\[loss curve\]\(https:\/\/gitlab\.example\.com\/acme\/ml\/uploads\/[0-9a-f]{32}\/loss\.png\)/)
    expect(gitlab.uploads.map((u) => [u.project, u.name])).toEqual([['42', 'loss.png']])
    expect(gitlab.uploads[0]!.bytes.equals(Buffer.from('\x89PNG fake'))).toBe(true)
  })
  it('local backend on CI: artifacts linked through the CI', () => {
    expect(read('local-backend-on-ci.comment.md')).toContain('The artifacts are in the workflow artifact [dstack-home-hare-1](https://github.com/acme/ml/actions/runs/77/artifacts/1234) (the folder store on a GitHub-hosted runner is gone when the job ends)')
    expect(read('local-backend-on-gitlab.comment.md')).toContain('[model/weights.json](https://gitlab.example.com/acme/ml/-/jobs/9/artifacts/file/dstack-artifacts/model/weights.json)')
    expect(read('local-backend-on-ci.comment.md')).toContain('| Job log | [open the CI job](https://github.com/acme/ml/actions/runs/77) |')
  })
})
