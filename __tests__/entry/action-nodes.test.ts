/**
 * The action (through @github/local-action against src/) running a multi-node task with `groups`
 * on the local backend: a head and two workers, the last worker fails. The step outputs carry the
 * node count and each node's result, the job summary has a row per node, the failed command of the
 * worker's group with its annotation on that group's line, and the worker's own log tail; the
 * artifacts are the master's.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { makeRepo } from '../helpers/git-repo.js'
import { run } from '../helpers/s3server.js'
import { checkMarkdown } from '../helpers/markdown-check.js'

const ROOT = process.cwd()
const TASK = `type: task
name: ray
groups:
  - name: head
    nodes: 1
    commands:
      - echo "head is rank $DSTACK_NODE_RANK of $DSTACK_NODES_NUM"
      - mkdir -p out && echo 42 > out/answer.txt
  - name: workers
    nodes: 2
    commands:
      - echo "worker is rank $DSTACK_NODE_RANK"
      - if [ "$DSTACK_NODE_RANK" = 2 ]; then echo "worker 2 breaks"; exit 4; fi
artifacts:
  - path: out
`

let repo: { dir: string; cleanup: () => void }
let tmp: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/ray.dstack.yml': TASK })
  tmp = mkdtempSync(join(tmpdir(), 'action-nodes-'))
})
afterAll(() => {
  repo.cleanup()
  rmSync(tmp, { recursive: true, force: true })
})

function childEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete env[k]
  return env
}

describe('the action runs a task with groups whose worker fails', () => {
  it('outputs nodes and node-statuses; the summary has a row per node and the worker\'s failure', async () => {
    const summary = join(tmp, 'summary.md')
    writeFileSync(summary, '')
    const vars = {
      INPUT_WORKFLOW: 'ray', INPUT_STORE: join(tmp, 'store'), INPUT_BACKEND: 'local', 'INPUT_WORKING-DIRECTORY': '.', INPUT_BASELINE: 'none',
      GITHUB_WORKSPACE: repo.dir, GITHUB_STEP_SUMMARY: summary, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/ml-demo', GITHUB_RUN_ID: '99',
      DSTACK_WORK_ROOT: join(tmp, 'work')
    }
    const dotenv = join(tmp, 'la.env')
    writeFileSync(dotenv, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
    const r = await run(join(ROOT, 'node_modules/.bin/local-action'), ['run', ROOT, 'src/entry/action-main.ts', dotenv], { env: childEnv(), cwd: ROOT, timeoutMs: 150_000 })
    const text = r.stdout + r.stderr
    expect(text).toMatch(/::set-output name=status::failed/)
    expect(text).toMatch(/::set-output name=nodes::3$/m)
    const line = /::set-output name=node-statuses::(.*)$/m.exec(text)
    expect(line).not.toBeNull()
    const nodes = JSON.parse(line![1]!) as { rank: number; group: string; status: string; exitCode?: number }[]
    expect(nodes.map((n) => [n.rank, n.group])).toEqual([[0, 'head'], [1, 'workers'], [2, 'workers']])
    expect(nodes[2]).toMatchObject({ status: 'failed', exitCode: 4 })
    // the annotation points at the failing command in the workers group (line 13 of the task file)
    expect(text).toMatch(/::error title=dstack workflow ray(%3A|:) commands\[2\] failed,file=.dstack\/ray.dstack.yml,line=13(,endLine=13)?::run [a-z]+-[a-z]+-\d+ failed/)
    expect(text).toMatch(/::set-output name=artifacts::\[\{"path":"out\/answer.txt","size":3/)

    const md = readFileSync(summary, 'utf8')
    expect(md).toContain('| Nodes | 3 (groups `head` 1, `workers` 2) |')
    expect(md).toMatch(/^\| 0 \(master\) \| `head` \| local:\d+ \| — \| (succeeded|cancelled) \| /m)
    expect(md).toMatch(/^\| 2 \| `workers` \| local:\d+ \| — \| \*\*failed\*\* \| 4 \| /m)
    expect(md).toContain('**Failed command:** `commands[2]` `if [ "$DSTACK_NODE_RANK" = 2 ]; then echo "worker 2 breaks"; exit 4; fi` at [.dstack/ray.dstack.yml:13](https://github.com/acme/ml-demo/blob/')
    expect(md).toMatch(/\*\*Last \d+ of \d+ log lines of node 2 \(group `workers`\)\*\*/)
    expect(md).toContain('worker 2 breaks')
    expect(md).not.toContain('head is rank')
    const check = await checkMarkdown(md, ['github.com'])
    expect(check.problems).toEqual([])
  }, 180_000)
})
