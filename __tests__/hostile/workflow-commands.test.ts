/**
 * Hostile job output never becomes a CI command. A real job on the local backend prints workflow
 * commands (and GitLab section markers); what the action and the CLI write to the CI log is read
 * back with a model of the GitHub runner's command parser (helpers/github-command-reader.ts) and
 * with GitLab's section regex. One `it` per case.
 */
import './job-user-on.js'
import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runWorkflow, type RunEvent } from '../../src/orchestrate/index.js'
import { FolderStore, RunStore } from '../../src/store/index.js'
import { LocalBackend } from '../../src/backends/local/index.js'
import { githubEventSink } from '../../src/ci/github.js'
import { main } from '../../src/entry/cli.js'
import { makeRepo } from '../helpers/git-repo.js'
import { processedCommands } from '../helpers/github-command-reader.js'

/** what the job prints: every line is an attempt to reach the CI */
const HOSTILE = [
  '::add-mask::JOB x',
  '::error::JOB x',
  '::warning file=a.txt,line=1::JOB x',
  '::endgroup::',
  '::group::JOB fake group',
  '::set-output name=status::JOB succeeded',
  '::save-state name=dstack-machines::JOB []',
  '  ::error::JOB indented',
  '::ERROR::JOB upper case',
  'text before ##[error]JOB legacy form',
  '##[set-output name=status;]JOB succeeded',
  '::stop-commands::x',
  '::x::',
  '::error::JOB after a stop-commands of its own',
  '::dstack-000000000000000000000000000000000000000000000000::',
  '##[dstack-000000000000000000000000000000000000000000000000]',
  '::stop-commands::dstack-guess',
  '::dstack-guess::',
  '::error::JOB after guessing'
]
const SCRIPT = [
  ...HOSTILE.map((l) => `printf '%s\\n' '${l}'`),
  // a command right after a carriage return, and one split over two writes
  `printf 'progress 50%%\\r::error::JOB after CR\\n'`,
  `printf '::err'; printf 'or::JOB split write\\n'`,
  // GitLab: a forged collapsed section that would hide the rest of the log
  `printf '\\033[0Ksection_start:1700000000:hidden[collapsed=true]\\r\\033[0Kforged header\\n'`,
  `printf 'hidden text\\n'`,
  `printf '\\033[0Ksection_end:1700000000:hidden\\r\\033[0K\\n'`,
  `printf 'visible-end\\n'`
].join('\n')

const WORKFLOWS = `workflows:
  - name: hostile
    provider: bash
    commands:
      - bash hostile.sh
`
/** GitLab's own section regex (its trace parser): the \\r\\e[0K suffix is required */
const GITLAB_SECTION = /section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\x1b\[0K/

let repo: { dir: string; cleanup: () => void }
let store: string
beforeAll(() => {
  repo = makeRepo({ '.dstack/workflows.yaml': WORKFLOWS, 'hostile.sh': SCRIPT + '\n' })
  store = mkdtempSync(join(tmpdir(), 'hostile-wc-'))
  // the job's own user passes through to its work folder (DSTACK_WORK_ROOT under it)
  chmodSync(store, 0o711)
})
afterAll(() => {
  repo.cleanup()
  rmSync(store, { recursive: true, force: true })
})

function ownCommandsOnly(output: string): void {
  const cmds = processedCommands(output)
  // the job's lines reach the log as text ...
  for (const l of HOSTILE) expect(output).toContain(l)
  expect(output).toContain('visible-end')
  // ... and the runner acts on no command the job printed
  expect(cmds.filter((c) => /JOB/.test(c.line))).toEqual([])
  expect(cmds.filter((c) => c.name === 'endgroup').length).toBeLessThanOrEqual(cmds.filter((c) => c.name === 'group').length)
  // every fence is ours (random, never one the job printed) and is closed by us, with its own token
  const fences = cmds.filter((c) => c.name === 'stop-commands')
  const resumes = cmds.filter((c) => c.name === 'resume')
  expect(fences.length).toBeGreaterThan(0)
  expect(resumes).toHaveLength(fences.length)
  fences.forEach((f, i) => {
    expect(f.data).toMatch(/^dstack-[0-9a-f]{48}$/)
    expect(resumes[i]!.line).toBe(`::${f.data}::`)
  })
}

describe('hostile job output on GitHub', () => {
  it('the action: every line the job prints stays text; our groups still work', async () => {
    let output = ''
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((s: string | Uint8Array) => {
      output += typeof s === 'string' ? s : Buffer.from(s).toString('utf8')
      return true
    }) as typeof process.stdout.write)
    let record
    try {
      const sink = githubEventSink()
      const events: RunEvent[] = []
      record = await runWorkflow({
        repoDir: repo.dir,
        workflow: 'hostile',
        args: [],
        environ: { ...process.env, GITHUB_ACTIONS: 'true' },
        backend: new LocalBackend({ env: { DSTACK_WORK_ROOT: join(store, 'work') }, graceMs: 5000 }),
        store: new RunStore(new FolderStore(join(store, 'action'))),
        storeLocation: { kind: 'folder', root: join(store, 'action') },
        signal: new AbortController().signal,
        pollIntervalMs: 200,
        emit: (ev) => {
          events.push(ev)
          sink(ev)
        }
      })
      sink.end()
      // an annotation of ours after the run is still processed
      const core = await import('@actions/core')
      core.error('our own annotation')
    } finally {
      spy.mockRestore()
    }
    expect(record.status).toBe('succeeded')
    ownCommandsOnly(output)
    const cmds = processedCommands(output)
    expect(cmds.filter((c) => c.name === 'group').length).toBeGreaterThan(0)
    expect(cmds[cmds.length - 1]).toMatchObject({ name: 'error', data: 'our own annotation' })
  })

  it('the CLI in a GitHub step (GITHUB_ACTIONS=true): the same fence on stdout, plain lines on stderr', async () => {
    let out = ''
    let err = ''
    const code = await main(['run', 'hostile', '-C', repo.dir, '--store', join(store, 'cli')], {
      environ: { ...process.env, GITHUB_ACTIONS: 'true', DSTACK_WORK_ROOT: join(store, 'work') },
      cwd: repo.dir,
      out: { write: (s: string) => ((out += s), true) },
      err: { write: (s: string) => ((err += s), true) },
      signal: new AbortController().signal
    })
    expect(code).toBe(0)
    ownCommandsOnly(out)
    expect(processedCommands(err)).toEqual([])
    // and `logs` reads them back the same way
    const run = /run ([a-z]+-[a-z]+-\d+) succeeded/.exec(err)![1]!
    let logs = ''
    await main(['logs', run, '-C', repo.dir, '--store', join(store, 'cli')], {
      environ: { ...process.env, GITHUB_ACTIONS: 'true' },
      cwd: repo.dir,
      out: { write: (s: string) => ((logs += s), true) },
      err: { write: () => true },
      signal: new AbortController().signal
    })
    ownCommandsOnly(logs)
  })
})

describe('hostile job output on GitLab', () => {
  it('a forged collapsible section marker is printed but no longer parses as a section', async () => {
    let out = ''
    const code = await main(['run', 'hostile', '-C', repo.dir, '--store', join(store, 'gitlab')], {
      environ: { ...process.env, GITLAB_CI: 'true', DSTACK_WORK_ROOT: join(store, 'work') },
      cwd: repo.dir,
      out: { write: (s: string) => ((out += s), true) },
      err: { write: () => true },
      signal: new AbortController().signal
    })
    expect(code).toBe(0)
    expect(out).toContain('section_start:1700000000:hidden')
    expect(out).toContain('hidden text')
    expect(out).not.toMatch(GITLAB_SECTION)
    // the terminal still draws it the same way: \e[K is \e[0K
    expect(out).toContain('\r\x1b[Kforged header')
  })
})
