/** The baseline a run is compared with, the log tail and where artifacts can be reached from. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FolderStore, RunStore, keys, sha256 } from '../../src/store/index.js'
import { DEFAULTS, type RunRecord, type RunSpec } from '../../src/model/index.js'
import { resolveBaseline, readLogTail } from '../../src/orchestrate/report-data.js'
import { logTail } from '../../src/report/section.js'
import { ephemeralCi, wantWorkflowArtifact, gitlabJobArtifactLinks, artifactsNote } from '../../src/ci/artifact-place.js'
import { SecretRedactor } from '../../src/ci/redact.js'

const REPO = 'github.com/acme/ml'
const spec = { workflow: 'train', format: 'workflows.yaml', source: { file: 'w.yaml', line: 1, column: 1 }, commands: ['x'], setup: [], env: {}, secretEnv: {}, workingDir: '.', args: [], artifacts: [], deps: [], ports: [], cache: [], resources: { cpu: DEFAULTS.cpu, memoryMiB: DEFAULTS.memoryMiB, diskMiB: DEFAULTS.diskMiB }, spotPolicy: 'auto', maxDurationSec: 60, retry: DEFAULTS.retry, instanceTypes: [], regions: [], availabilityZones: [], nodes: 1 } satisfies RunSpec
const rec = (run: string, branch: string, submittedAt: string, status: RunRecord['status'] = 'succeeded', pr?: number): RunRecord => ({
  run, repoId: REPO, workflow: 'train', spec, backend: 'local', args: [], revision: { repoId: REPO, sha: 'a'.repeat(40), branch, pr, event: 'push', snapshotSha256: 'b'.repeat(64) },
  status, submittedAt, attempts: [{ n: 1, startedAt: submittedAt }], tags: [],
  // pushes count as trusted here (the default branch is whichever the test compares with); pull requests never
  trust: pr ? { trusted: false, trigger: `pull_request #${pr}`, why: 'pull / merge request code is untrusted' } : { trusted: true, trigger: `push on ${branch}`, why: 'the default branch' }
})

let dir: string
let store: RunStore
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'report-data-'))
  store = new RunStore(new FolderStore(dir))
  const withMetrics = async (r: RunRecord, loss: number) => {
    await store.saveRun(r)
    const body = `{"loss": ${loss}}\n`
    await store.store.put(keys.artifacts(REPO, r.run, '_dstack/metrics.jsonl'), body)
    await store.store.put(keys.manifest(REPO, r.run), JSON.stringify([{ path: '_dstack/metrics.jsonl', size: body.length, sha256: sha256(body) }]))
  }
  await withMetrics(rec('old-main-1', 'main', '2026-01-01T00:00:00Z'), 0.9)
  await withMetrics(rec('new-main-2', 'main', '2026-01-02T00:00:00Z'), 0.8)
  await withMetrics(rec('failed-main-3', 'main', '2026-01-03T00:00:00Z', 'failed'), 0.1)
  await store.saveRun(rec('bare-main-4', 'main', '2026-01-01T12:00:00Z'))
  await store.store.put(keys.tag(REPO, 'best'), JSON.stringify({ tag: 'best', run: 'old-main-1', workflow: 'train', repoId: REPO, revision: { sha: 'a'.repeat(40) }, created_at: '2026-01-01T01:00:00Z' }))
  await store.store.put(keys.logChunk(REPO, 'new-main-2', 1, 0), 'a\nb\n')
  await store.store.put(keys.logChunk(REPO, 'new-main-2', 1, 1), 'c\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('resolveBaseline', () => {
  const pr = rec('pr-run-9', 'feature', '2026-01-05T00:00:00Z', 'succeeded', 7)
  it('auto on a pull request: the latest succeeded run of the workflow on the target branch', async () => {
    expect(await resolveBaseline(store, pr, 'auto', 'main')).toMatchObject({ run: 'new-main-2', metrics: { final: { loss: 0.8 } } })
  })
  it('auto elsewhere: an earlier run on the same branch, never the run itself', async () => {
    expect(await resolveBaseline(store, rec('new-main-2', 'main', '2026-01-02T00:00:00Z'), 'auto')).toMatchObject({ run: 'old-main-1' })
    expect(await resolveBaseline(store, pr, 'auto')).toEqual({ label: 'auto: latest trusted succeeded train run on feature', missing: 'no trusted succeeded run of train on feature yet' })
  })
  it('a tag, a run name, `:tag`; none; unknown names and runs without metrics say so', async () => {
    expect(await resolveBaseline(store, pr, 'best')).toMatchObject({ label: 'tag best', run: 'old-main-1' })
    expect(await resolveBaseline(store, pr, ':best')).toMatchObject({ run: 'old-main-1' })
    expect(await resolveBaseline(store, pr, 'new-main-2')).toMatchObject({ label: 'run new-main-2, trusted (push on main)', run: 'new-main-2' })
    expect(await resolveBaseline(store, pr, 'none')).toBeUndefined()
    expect(await resolveBaseline(store, pr, '')).toBeUndefined()
    expect((await resolveBaseline(store, pr, 'nope'))?.missing).toBe(`no tag or run nope in ${REPO}`)
    expect((await resolveBaseline(store, pr, '../etc'))?.missing).toContain('no tag or run')
    expect((await resolveBaseline(store, pr, 'bare-main-4'))?.missing).toBe('run bare-main-4 stored no metrics')
  })
})

describe('log tail', () => {
  it('reads the last chunks as one text, then keeps the last lines without colour codes', async () => {
    expect(await readLogTail(store, rec('new-main-2', 'main', '2026-01-02T00:00:00Z'))).toBe('a\nb\nc\n')
    const t = logTail(Array.from({ length: 100 }, (_, i) => `\x1b[32mline ${i}\x1b[0m`).join('\n') + '\n' + 'x'.repeat(1000))
    expect(t.shown).toBe(40)
    expect(t.total).toBe(101)
    expect(t.text.split('\n')[0]).toBe('line 61')
    expect(t.text.endsWith('x'.repeat(300) + ' …')).toBe(true)
  })
  it('redacts every secret value and each line of a multi-line one', () => {
    const r = new SecretRedactor()
    r.add('s3cr3t-value')
    r.add('line-one-secret\nline-two-secret')
    r.add('ab')
    expect(r.redact('x s3cr3t-value y line-two-secret ab')).toBe('x *** y *** ab')
  })
})

describe('where the artifacts are', () => {
  const folder = { kind: 'folder', root: '/home/runner/.dstack/store' } as const
  const s3 = { kind: 's3', bucket: 'b', prefix: '' } as const
  it('a folder store on a GitHub-hosted runner is uploaded as a workflow artifact by default', () => {
    const hosted = { GITHUB_ACTIONS: 'true', RUNNER_ENVIRONMENT: 'github-hosted' }
    expect(ephemeralCi(hosted)).toBe('a GitHub-hosted runner')
    expect(wantWorkflowArtifact('', folder, hosted)).toBe(true)
    expect(wantWorkflowArtifact('', s3, hosted)).toBe(false)
    expect(wantWorkflowArtifact('', folder, { GITHUB_ACTIONS: 'true', RUNNER_ENVIRONMENT: 'self-hosted' })).toBe(false)
    expect(wantWorkflowArtifact('false', folder, hosted)).toBe(false)
    expect(wantWorkflowArtifact('true', s3, {})).toBe(true)
  })
  it('GitLab job artifact links, and plain words when nothing can be linked', () => {
    const links = gitlabJobArtifactLinks({ CI_PROJECT_URL: 'https://gitlab.example.com/g/p', CI_JOB_ID: '12' }, 'dstack-artifacts')!
    expect(links.artifactUrl('a b/c.txt')).toBe('https://gitlab.example.com/g/p/-/jobs/12/artifacts/file/dstack-artifacts/a%20b/c.txt')
    expect(gitlabJobArtifactLinks({ CI_PROJECT_URL: 'x', CI_JOB_ID: '1; rm' }, 'd')).toBeUndefined()
    expect(artifactsNote({ loc: folder, environ: { GITLAB_CI: 'true' }, storeUrl: folder.root })).toContain('which is gone when the job ends')
    expect(artifactsNote({ loc: folder, environ: {}, storeUrl: '/x/`y' })).toBe('The artifacts are in the folder store ``/x/`y`` on the machine that ran this job.')
    expect(artifactsNote({ loc: s3, environ: {}, storeUrl: 's3://b' })).toBeUndefined()
  })
})
