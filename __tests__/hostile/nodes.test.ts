/**
 * Hostile: multi-node tasks, end to end through the CLI on the local backend (every node a real
 * runner process): run arguments in a group's commands, a group name made of shell (refused by dstack's
 * rule for group names), and a node address where it cannot be put. Nothing the user or the job wrote
 * runs as shell.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cleanup, repoWith, runDir, runNameOf, tempDir, type Captured } from './cli-harness.js'

let repo: string
let store: string
let pwn: string
let run: Captured

beforeAll(async () => {
  pwn = join(tempDir('hostile-pwn-'), 'PWNED')
  repo = repoWith({
    'groups.dstack.yml': [
      'type: task',
      'name: hostile-groups',
      'groups:',
      '  - name: head',
      '    nodes: 1',
      '    commands:',
      "      - echo 'head args:${{ run.args }} at ${{ groups[1].nodes[0].IP_ADDRESS }}'",
      '  - name: workers',
      '    nodes: 1',
      '    commands:',
      '      - printf "<%s>" ${{ run.args }}; echo " to ${{ groups[0].nodes[0].IP_ADDRESS }}"',
      ''
    ].join('\n'),
    'shell-name.dstack.yml': ['type: task', 'name: shell-name', 'groups:', `  - name: "$(touch ${pwn})'"`, '    nodes: 1', '    commands:', '      - echo hi', ''].join('\n'),
    'heredoc.dstack.yml': "type: task\nname: address-in-heredoc\ngroups:\n  - name: a\n    commands:\n      - |\n        cat <<'EOF'\n        ${{ groups[0].nodes[0].IP_ADDRESS }}\n        EOF\n"
  })
  store = tempDir('hostile-store-')
  run = await cli(repo, ['run', 'hostile-groups', '--store', store, '--', `$(touch ${pwn})`, `'; touch ${pwn}; '`])
})
afterAll(cleanup)

const nodeLog = (rank: number) => readFileSync(join(runDir(store, runNameOf(run)), 'attempts', '1', 'nodes', String(rank), 'logs', '000000.log'), 'utf8')

describe('multi-node tasks never run what the user or the job wrote', () => {
  test('run arguments in group commands are data on every node, and the run succeeds', () => {
    expect(run.code).toBe(0)
    expect(existsSync(pwn)).toBe(false)
    expect(nodeLog(0)).toContain(`head args:$(touch ${pwn}) '; touch ${pwn}; ' at 127.0.0.1\n`)
    expect(nodeLog(1)).toContain(`<$(touch ${pwn})><'; touch ${pwn}; '> to 127.0.0.1\n`)
  })

  test('a group name made of shell is refused with dstack\'s rule before any run is created', async () => {
    expect(nodeLog(0)).toContain('node 0 of 2 (group head)')
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'shell-name', '--store', fresh])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/shell-name\.dstack\.yml:\d+:\d+: groups\[0\]\.name: Node group name should match regex/)
    expect(existsSync(pwn)).toBe(false)
    expect(existsSync(join(fresh, 'github.com'))).toBe(false)
  })

  test('a node address in a quoted heredoc is refused before any run is created', async () => {
    const fresh = tempDir('hostile-store-')
    const r = await cli(repo, ['run', 'address-in-heredoc', '--store', fresh])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/workflow `address-in-heredoc` \(heredoc\.dstack\.yml:\d+\) `groups\[0\]\.commands\[1\]`: .*quoted heredoc/)
    expect(existsSync(join(fresh, 'github.com'))).toBe(false)
  })
})
