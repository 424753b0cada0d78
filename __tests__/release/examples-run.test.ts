/**
 * The examples run as written, against this repository's own workflows and scripts (the real
 * `examples/linear/train.py` and `evaluate.py`, not stubs), on the local backend with a folder store:
 * - every run step of examples/github/*.yml and every component include of examples/gitlab/*.yml:
 *   its `workflow`, `args` (with `${{ inputs.X }}` / `$[[ inputs.X ]]` at their defaults), `tag` and
 *   `force-tag`; only the cloud settings (backend, bucket, region, role…) are left out;
 * - the workflows the evaluate examples show in their header, with the other repository's
 *   `nightly` tag made by the nightly examples;
 * - examples/tasks/*.dstack.yml;
 * - every GitHub workflow and GitLab pipeline a README or docs page shows (its run steps as above;
 *   the GitHub ones also pass actionlint, and both use only inputs the action / component declare);
 * - every `dstack-run …` / `node dist/cli.js …` line of a ```sh block in the README and docs pages,
 *   in order, in a repository holding the page's `# .dstack/workflows.yaml` example (and train.py,
 *   as the page says), or this repository's workflows when the page has none. Lines that need AWS
 *   (`--backend aws`, `s3://`, `check`, `cleanup`, `release`) are left to the AWS tests.
 * A run passes when the CLI exits 0 and the script saw the arguments the example gives it.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { marked, type Tokens } from 'marked'
import { makeRepo, git } from '../helpers/git-repo.js'
import { runCli } from '../helpers/cli-main.js'
import { run } from '../helpers/s3server.js'

const ROOT = process.cwd()
const own = (p: string) => readFileSync(join(ROOT, p), 'utf8')
/** this repository's workflows and the scripts they run */
const OWN_FILES = Object.fromEntries(
  ['.dstack/workflows.yaml', 'examples/linear/train.py', 'examples/linear/evaluate.py', ...readdirSync(join(ROOT, 'examples/tasks')).map((f) => `examples/tasks/${f}`)].map((p) => [p, own(p)])
)

let store: string
let work: string
const repos: { cleanup: () => void }[] = []
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), 'examples-run-store-'))
  work = mkdtempSync(join(tmpdir(), 'examples-run-work-'))
})
afterAll(() => {
  for (const r of repos) r.cleanup()
  rmSync(store, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

function repo(files: Record<string, string>, remote: string): string {
  const r = makeRepo(files, remote)
  // an upstream that has the commit: no "no upstream branch" warning
  git(r.dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD')
  git(r.dir, 'branch', '-q', '--set-upstream-to=origin/main')
  repos.push(r)
  return r.dir
}

const env = () => ({ ...process.env, DSTACK_STORE: store, DSTACK_WORK_ROOT: work, HF_TOKEN: 'hf-test-token', GITHUB_ACTIONS: undefined, GITLAB_CI: undefined, CI: undefined })

interface RunOutputs {
  status: string
  reason: string
  artifacts: { path: string; url: string }[]
  tags: string[]
}
/** `dstack-run run … --json` in `dir`; the run must succeed */
async function runExample(dir: string, argv: string[], what: string): Promise<RunOutputs> {
  const r = await runCli([...argv, '--json'], { cwd: dir, environ: env() })
  let outputs: RunOutputs | undefined
  try {
    outputs = (JSON.parse(r.out) as { outputs: RunOutputs }).outputs
  } catch {
    /* reported below */
  }
  expect({ what, code: r.code, status: outputs?.status, reason: outputs?.reason, err: r.code === 0 ? '' : r.err.slice(-2000) }).toEqual({ what, code: 0, status: 'succeeded', reason: outputs?.reason, err: '' })
  return outputs!
}

/** the metrics.json train.py wrote: its epochs and learning rate show that the arguments reached it */
function trained(o: RunOutputs): { epochs: number; lr: number } {
  const m = o.artifacts.find((a) => a.path === 'model/metrics.json')
  expect(m).toBeDefined()
  return JSON.parse(readFileSync(m!.url, 'utf8')) as { epochs: number; lr: number }
}

/** what an example's run step asks for, as CLI arguments */
interface Step {
  workflow: string
  args: string
  tag: string
  forceTag: boolean
}
const cliArgs = (s: Step) => ['run', s.workflow, ...(s.args.trim() ? ['--args', s.args] : []), ...(s.tag ? ['--tag', s.tag] : []), ...(s.forceTag ? ['--force-tag'] : [])]

function githubSteps(file: string, text = own(`examples/github/${file}`)): Step[] {
  const wf = parse(text) as {
    on: { workflow_dispatch?: { inputs?: Record<string, { default?: unknown }> } } | string[]
    jobs: Record<string, { strategy?: { matrix?: Record<string, unknown[]> }; steps: { uses?: string; with?: Record<string, unknown> }[] }>
  }
  const inputs = (!Array.isArray(wf.on) && wf.on.workflow_dispatch?.inputs) || {}
  // `${{ inputs.X }}` at its default; `${{ matrix.X }}` as the matrix's first job has it
  const expr = (v: unknown, matrix: Record<string, unknown[]>) =>
    String(v ?? '')
      .replace(/\$\{\{\s*inputs\.([\w-]+)(?:\s*\|\|\s*false)?\s*\}\}/g, (_, name: string) => {
        expect(Object.keys(inputs)).toContain(name)
        return String(inputs[name]!.default ?? '')
      })
      .replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (_, name: string) => {
        expect(Object.keys(matrix)).toContain(name)
        return String(matrix[name]![0])
      })
  return Object.values(wf.jobs).flatMap((j) => {
    const m = j.strategy?.matrix ?? {}
    return j.steps
      .filter((s) => s.uses?.startsWith('dstack/run-action@') && (s.with?.mode ?? 'run') === 'run')
      .map((s) => ({ workflow: expr(s.with!.workflow, m), args: expr(s.with!.args, m), tag: expr(s.with!.tag, m), forceTag: expr(s.with!['force-tag'], m) === 'true' }))
  })
}

function gitlabSteps(file: string, text = own(`examples/gitlab/${file}`)): Step[] {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>)
  const spec = docs.length > 1 ? (docs[0] as { spec: { inputs: Record<string, { default?: unknown }> } }).spec.inputs : {}
  const expr = (v: unknown) =>
    String(v ?? '').replace(/\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g, (_, name: string) => {
      expect(Object.keys(spec)).toContain(name)
      return String(spec[name]!.default ?? '')
    })
  const pipeline = docs[docs.length - 1] as { include: { component: string; inputs: Record<string, unknown> }[] } & Record<string, { parallel?: { matrix?: Record<string, unknown>[] } }>
  // a `parallel:matrix` variable in an input (GitLab expands it in the job's variables) as its first job has it
  const matrixVars: Record<string, string> = {}
  for (const job of Object.values(pipeline)) {
    const first = (job as { parallel?: { matrix?: Record<string, unknown>[] } })?.parallel?.matrix?.[0] ?? {}
    for (const [k, v] of Object.entries(first)) matrixVars[k] = String(Array.isArray(v) ? v[0] : v)
  }
  const withMatrix = (v: string) => v.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (all, name: string) => matrixVars[name] ?? all)
  return pipeline.include
    .filter((i) => i.component.includes('/run-action/run@') && (i.inputs.mode ?? 'run') === 'run')
    .map((i) => ({ workflow: expr(i.inputs.workflow), args: withMatrix(expr(i.inputs.args)), tag: expr(i.inputs.tag), forceTag: expr(i.inputs['force-tag']) === 'true' }))
}

/** the `.dstack/workflows.yaml` an example shows in its header comment */
function headerWorkflows(text: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => /^#\s+workflows:/.test(l))
  expect(start).toBeGreaterThanOrEqual(0)
  const body: string[] = []
  for (const l of lines.slice(start)) {
    if (!/^# {2,}\S/.test(l)) break
    body.push(l.slice(1))
  }
  const indent = Math.min(...body.map((l) => /^ */.exec(l)![0].length))
  return body.map((l) => l.slice(indent)).join('\n') + '\n'
}

const githubFiles = readdirSync(join(ROOT, 'examples/github')).filter((f) => f.endsWith('.yml'))
const gitlabFiles = readdirSync(join(ROOT, 'examples/gitlab')).filter((f) => f.endsWith('.gitlab-ci.yml'))
const TRAIN_EXAMPLES = [
  ...githubFiles.filter((f) => !f.startsWith('evaluate')).flatMap((f) => githubSteps(f).map((s) => [`examples/github/${f}`, s] as const)),
  ...gitlabFiles.filter((f) => !f.startsWith('evaluate')).flatMap((f) => gitlabSteps(f).map((s) => [`examples/gitlab/${f}`, s] as const))
].map(([f, s]) => [f, cliArgs(s).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '), s] as const)

describe('the examples run as written against this repository\'s scripts', () => {
  let ownRepo: string
  beforeAll(() => {
    ownRepo = repo(OWN_FILES, 'https://github.com/acme/ml-demo.git')
  })

  it('every training example is found, with the arguments train.py takes', () => {
    expect(TRAIN_EXAMPLES.map(([f]) => f)).toEqual(expect.arrayContaining(['examples/github/dispatch-train.yml', 'examples/github/nightly-retrain.yml', 'examples/github/pr-training.yml', 'examples/gitlab/manual-train.gitlab-ci.yml', 'examples/gitlab/mr-training.gitlab-ci.yml']))
  })

  it.each(TRAIN_EXAMPLES)('%s: `dstack-run %s` succeeds and train.py gets its arguments', async (file, _cmd, step) => {
    expect(step.workflow).toBe('train')
    const o = await runExample(ownRepo, cliArgs({ ...step, tag: '', forceTag: false }), file)
    const m = trained(o)
    // the arguments the example passes are the ones train.py used
    const words = step.args.split(/\s+/).filter(Boolean)
    const at = (flag: string) => (words.includes(flag) ? Number(words[words.indexOf(flag) + 1]) : undefined)
    if (at('--epochs') !== undefined) expect(m.epochs).toBe(at('--epochs'))
    if (at('--lr') !== undefined) expect(m.lr).toBe(at('--lr'))
  }, 120_000)

  it.each(readdirSync(join(ROOT, 'examples/tasks')))('examples/tasks/%s runs', async (f) => {
    const name = (parse(own(`examples/tasks/${f}`)) as { name: string }).name
    const o = await runExample(ownRepo, ['run', name, '--args', '--epochs 5'], `examples/tasks/${f}`)
    expect(trained(o).epochs).toBe(5)
  }, 120_000)

  it.each([
    ['examples/github/evaluate-other-repo.yml', 'https://github.com/acme/ml-train.git', 'https://github.com/acme/ml-eval.git', githubSteps('nightly-retrain.yml'), githubSteps('evaluate-other-repo.yml')],
    ['examples/gitlab/evaluate-other-project.gitlab-ci.yml', 'https://gitlab.com/acme/ml-train.git', 'https://gitlab.com/acme/ml-eval.git', gitlabSteps('nightly-retrain.gitlab-ci.yml'), gitlabSteps('evaluate-other-project.gitlab-ci.yml')]
  ] as const)('%s: evaluates the model the nightly example tagged in the other repository', async (file, trainRemote, evalRemote, nightly, evaluate) => {
    // the nightly example, in the repository the evaluation names
    const trainRepo = repo(OWN_FILES, trainRemote)
    for (const step of nightly) {
      expect(step).toMatchObject({ tag: 'nightly', forceTag: true })
      const o = await runExample(trainRepo, cliArgs(step), `${file}: its nightly training`)
      expect(o.tags).toContain('nightly')
    }
    // the evaluating repository: the workflow the example shows, with evaluate.py where it says
    const evalRepo = repo({ '.dstack/workflows.yaml': headerWorkflows(own(file)), 'evaluate.py': own('examples/linear/evaluate.py') }, evalRemote)
    for (const step of evaluate) {
      const o = await runExample(evalRepo, cliArgs(step), file)
      expect(o.artifacts.map((a) => a.path)).toContain('report/eval.json')
    }
  }, 240_000)
})

/** `dstack-run` lines of the ```sh blocks of a page, each with the nearest workflows example above it */
function pageCommands(page: string): { line: string; workflows?: string }[] {
  const out: { line: string; workflows?: string }[] = []
  let workflows: string | undefined
  for (const t of marked.lexer(own(page))) {
    if (t.type !== 'code') continue
    const c = t as Tokens.Code
    if (c.lang === 'yaml' && c.text.startsWith('# .dstack/workflows.yaml\n')) workflows = c.text + '\n'
    if (c.lang !== 'sh') continue
    for (const raw of c.text.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim()
      if (/^(dstack-run|node dist\/cli\.js) /.test(line)) out.push({ line, workflows })
    }
  }
  return out
}
const needsAws = (line: string) => /--backend aws|s3:\/\/|^(dstack-run|node dist\/cli\.js) (check|cleanup|release)\b/.test(line)
const DOC_PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const PAGE_COMMANDS = DOC_PAGES.map((p) => [p, pageCommands(p).filter((c) => !needsAws(c.line))] as const).filter(([, cs]) => cs.length > 0)

describe('the command lines of the README and the docs pages', () => {
  it('are found: the quick start and the laptop path', () => {
    const readme = PAGE_COMMANDS.find(([p]) => p === 'README.md')?.[1].map((c) => c.line) ?? []
    expect(readme).toEqual(expect.arrayContaining(['node dist/cli.js run train', 'dstack-run run train --tag baseline', 'dstack-run run train -- --lr 0.1']))
  })

  it.each(PAGE_COMMANDS)('%s: every dstack-run line runs, in order', async (page, commands) => {
    const dirs = new Map<string, string>()
    for (const { line, workflows } of commands) {
      const key = workflows ?? ''
      if (!dirs.has(key)) {
        // the page's workflow example runs `python3 train.py`: the page says to copy it in
        const files = workflows ? { '.dstack/workflows.yaml': workflows, 'train.py': own('examples/linear/train.py') } : OWN_FILES
        dirs.set(key, repo(files, `https://github.com/acme/${page.replace(/\W+/g, '-').toLowerCase()}-${dirs.size}.git`))
      }
      const argv = line.replace(/^(dstack-run|node dist\/cli\.js) /, '').split(/\s+/)
      const r = await runCli(argv, { cwd: dirs.get(key)!, environ: env() })
      expect({ page, line, code: r.code, err: r.code === 0 ? '' : r.err.slice(-2000) }).toEqual({ page, line, code: 0, err: '' })
      // a run's arguments reach the script: `-- --lr 0.1` is the learning rate train.py used
      if (argv[0] === 'run' && argv.includes('--lr')) {
        const artifacts = /artifacts \(\d+ files?\): (\S+)/.exec(r.err + r.out)?.[1]
        expect(artifacts).toBeDefined()
        expect((JSON.parse(readFileSync(join(artifacts!, 'model/metrics.json'), 'utf8')) as { lr: number }).lr).toBe(Number(argv[argv.indexOf('--lr') + 1]))
      }
    }
  }, 240_000)
})

/** the GitHub workflows and GitLab pipelines the pages show (yaml blocks that use the action or include the component) */
function pagePipelines(): { page: string; line: number; kind: 'github' | 'gitlab'; text: string }[] {
  const out: { page: string; line: number; kind: 'github' | 'gitlab'; text: string }[] = []
  for (const page of DOC_PAGES) {
    const md = own(page)
    for (const t of marked.lexer(md)) {
      if (t.type !== 'code' || (t as Tokens.Code).lang !== 'yaml') continue
      const text = (t as Tokens.Code).text
      const v = parse(text) as Record<string, unknown> | null
      const line = md.slice(0, md.indexOf(t.raw)).split('\n').length
      if (v && 'jobs' in v && text.includes('dstack/run-action@')) out.push({ page, line, kind: 'github', text })
      if (v && 'include' in v && text.includes('/run-action/run@')) out.push({ page, line, kind: 'gitlab', text })
    }
  }
  return out
}
const PIPELINES = pagePipelines()
const action = parse(own('action.yml')) as { inputs: Record<string, unknown> }
const componentInputs = (parseAllDocuments(own('templates/run.yml'))[0]!.toJS() as { spec: { inputs: Record<string, unknown> } }).spec.inputs

describe('the GitHub workflows and GitLab pipelines of the README and the docs pages', () => {
  let ownRepo: string
  beforeAll(() => {
    ownRepo = repo(OWN_FILES, 'https://github.com/acme/ml-pages.git')
  })

  it('are found in the README (GitHub and GitLab) and in the action and GitLab pages', () => {
    const where = PIPELINES.map((p) => `${p.page} ${p.kind}`)
    expect(where).toEqual(expect.arrayContaining(['README.md github', 'README.md gitlab', 'docs/action.md github', 'docs/gitlab.md gitlab']))
  })

  it('the GitHub ones pass actionlint', async () => {
    // written out as files (actionlint stats its path), linted in one process
    const dir = mkdtempSync(join(tmpdir(), 'page-workflows-'))
    const files = PIPELINES.filter((p) => p.kind === 'github').map((p) => {
      const path = join(dir, `${p.page.replace(/\W+/g, '-')}-${p.line}.yml`)
      writeFileSync(path, p.text)
      return { path, at: `${p.page}:${p.line}` }
    })
    const r = await run(process.execPath, [join(ROOT, '__tests__/helpers/actionlint-files.cjs'), JSON.stringify(files)], { cwd: ROOT, timeoutMs: 180_000 })
    rmSync(dir, { recursive: true, force: true })
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual([])
  }, 200_000)

  it.each(PIPELINES.map((p) => [`${p.page}:${p.line}`, p] as const))('%s uses only declared inputs, and its run steps run', async (_at, p) => {
    const steps = p.kind === 'github' ? githubSteps('', p.text) : gitlabSteps('', p.text)
    expect(steps.length).toBeGreaterThan(0)
    if (p.kind === 'github') {
      const wf = parse(p.text) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> }
      for (const s of Object.values(wf.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith('dstack/run-action@'))) {
        for (const input of Object.keys(s.with ?? {})) expect({ input, declared: input in action.inputs }).toEqual({ input, declared: true })
      }
    } else {
      const pipeline = parse(p.text) as { include: { component: string; inputs: Record<string, unknown> }[] }
      for (const i of pipeline.include) for (const input of Object.keys(i.inputs)) expect({ input, declared: input in componentInputs }).toEqual({ input, declared: true })
    }
    for (const step of steps) {
      expect(step.workflow + step.args).not.toMatch(/\$\{\{|\$\[\[/)
      await runExample(ownRepo, cliArgs(step), `${p.page}:${p.line}`)
    }
  }, 120_000)
})
