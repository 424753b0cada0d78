/**
 * Hostile: the run's arguments are data in every place a workflow can write `${{ run.args }}`
 * (unquoted, in either quotes, in heredocs, in env values) and `${{ run.name }}`: end to end through
 * the CLI on the local backend, the runner executed by bash for real.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir, type Captured } from './cli-harness.js'

const WORKFLOWS = `workflows:
  - name: contexts
    provider: bash
    env:
      - ARGS_ENV=env:\${{ run.args }}
    commands:
      - printf 'word:'; printf '<%s>' \${{ run.args }}; echo
      - echo "double:\${{ run.args }}"
      - echo 'single:\${{ run.args }}'
      - |
        cat <<EOF
        heredoc:\${{ run.args }}
        EOF
      - echo "$ARGS_ENV"
      - echo "name:\${{ run.name }}" 'name:\${{ run.name }}'
  - name: quoted-heredoc
    provider: bash
    commands:
      - |
        cat <<'EOF'
        quoted:\${{ run.args }}
        EOF
  - name: arithmetic
    provider: bash
    commands:
      - echo $(( \${{ run.args }} + 1 ))
`

let repo: string
let store: string
let pwn: string
let hostile: string[]
let run: Captured
let log: string

function logOf(storeDir: string, name: string): string {
  const dir = join(runDir(storeDir, name), 'attempts', '1', 'logs')
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
}

beforeAll(async () => {
  repo = repoWith({ '.dstack/workflows.yaml': WORKFLOWS })
  store = tempDir('hostile-store-')
  pwn = join(tempDir('hostile-pwn-'), 'PWNED')
  hostile = [`$(touch ${pwn})`, `\`touch ${pwn}\``, `'; touch ${pwn}; '`, `"; touch ${pwn}; "`, `x\nEOF\ntouch ${pwn}`, '$HOME', '*']
  run = await cli(repo, ['run', 'contexts', '--store', store, '--', ...hostile])
  log = logOf(store, runNameOf(run))
})
afterAll(cleanup)

describe('${{ run.args }} never runs as shell', () => {
  const joined = () => hostile.join(' ')

  test('the run succeeds and no hostile argument executed anything', () => {
    expect(run.code).toBe(0)
    expect(existsSync(pwn)).toBe(false)
  })
  test('unquoted: one word per argument, each literal', () => {
    expect(log).toContain(`word:${hostile.map((a) => `<${a}>`).join('')}\n`)
  })
  test('inside double quotes: the literal joined text', () => {
    expect(log).toContain(`double:${joined()}\n`)
  })
  test('inside single quotes: the literal joined text', () => {
    expect(log).toContain(`single:${joined()}\n`)
  })
  test('unquoted heredoc: the literal text, an `EOF` line in an argument does not end it', () => {
    expect(log).toContain(`heredoc:${joined()}\n`)
  })
  test('env value: the literal joined text', () => {
    expect(log).toContain(`env:${joined()}\n`)
  })
  test('${{ run.name }} in double and single quotes is the run name', () => {
    const name = runNameOf(run)
    expect(log).toContain(`name:${name} name:${name}\n`)
  })
  test('quoted heredoc: the text as is', async () => {
    const args = [`$(touch ${pwn})`, "it's", '`x`']
    const r = await cli(repo, ['run', 'quoted-heredoc', '--store', store, '--', ...args])
    expect(r.code).toBe(0)
    expect(logOf(store, runNameOf(r))).toContain(`quoted:${args.join(' ')}\n`)
    expect(existsSync(pwn)).toBe(false)
  })
  test('quoted heredoc: an argument line that would end it is refused before any run is created', async () => {
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'quoted-heredoc', '--store', fresh, '--', `x\nEOF\ntouch ${pwn}`])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/workflow `quoted-heredoc` \(\.dstack\/workflows\.yaml:\d+\) `commands\[1\]`: .*line `EOF`.*quoted heredoc/)
    expect(existsSync(join(fresh, 'github.com'))).toBe(false)
    expect(existsSync(pwn)).toBe(false)
  })
  test('arithmetic context: refused with a hint, before any run is created', async () => {
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'arithmetic', '--store', fresh, '--', `a[$(touch ${pwn})]`])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/arithmetic/)
    expect(r.err).toMatch(/hint: .*case \$n in/)
    expect(existsSync(join(fresh, 'github.com'))).toBe(false)
    expect(existsSync(pwn)).toBe(false)
  })
})
