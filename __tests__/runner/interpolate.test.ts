/**
 * `${{ run.args }}` / `${{ run.name }}` in every shell context a user can write, executed by bash for
 * real through the rendered job script, with hostile arguments: none of them may run as shell.
 */
import { describe, expect, test, afterAll } from '@jest/globals'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderJobScript } from '../../src/runner/render.js'
import { findPlaceholders } from '../../src/runner/interpolate.js'
import { makePlan, removeTempDirs, sh, tempDir } from './fixture.js'

afterAll(removeTempDirs)

const HOSTILE = ['$(touch PWNED)', '`touch PWNED`', "it's", 'say "hi"', 'x; touch PWNED', '$HOME', '*', 'a\\b', 'two\nlines', "'; touch PWNED; '", '"; touch PWNED; "']
const JOINED = HOSTILE.join(' ')

async function runJob(commands: string[], args: string[], env: Record<string, string> = {}): Promise<{ out: string; pwned: boolean; code: number | null }> {
  const dir = tempDir('interp-')
  const job = renderJobScript(makePlan({ kind: 'folder', root: '/nowhere' }, { commands, args, env }))
  writeFileSync(join(dir, 'job.sh'), job)
  const r = await sh('bash', ['job.sh'], { cwd: dir, env: { PATH: process.env.PATH, DSTACK_RUNNER_DIR: dir } })
  return { out: r.stdout, pwned: existsSync(join(dir, 'PWNED')), code: r.code }
}

describe('${{ run.args }} is data in every context', () => {
  test.each([
    ['unquoted: one word per argument', "printf '<%s>' ${{ run.args }}", HOSTILE.map((a) => `<${a}>`).join('')],
    ['inside double quotes: the joined text', 'printf "%s" "x=${{ run.args }}"', `x=${JOINED}`],
    ['inside single quotes: the joined text', "printf '%s' 'x=${{ run.args }}'", `x=${JOINED}`],
    ['inside $\'…\'', "printf '%s' $'x=${{ run.args }}'", `x=${JOINED}`],
    ['unquoted heredoc', 'cat <<EOF\nx=${{ run.args }}\nEOF', `x=${JOINED}\n`],
    ['unquoted heredoc with <<-', 'cat <<-END\n\tx=${{ run.args }}\n\tEND', `x=${JOINED}\n`],
    ['quoted heredoc: the text as is', "cat <<'EOF'\nx=${{ run.args }}\nEOF", `x=${JOINED}\n`],
    ['inside $(…) inside double quotes', 'printf "%s" "$(printf \'<%s>\' ${{ run.args }})"', HOSTILE.map((a) => `<${a}>`).join('')],
    ['inside backticks', "printf '%s' \"`printf '<%s>' ${{ run.args }}`\"", HOSTILE.map((a) => `<${a}>`).join('')],
    ['inside ${VAR:-…}', 'printf "%s" "${UNSET_VAR:-${{ run.args }}}"', JOINED],
    ['in a multi-line block with a function', "f() { printf '[%s]' \"$@\"; }\nf ${{ run.args }}", HOSTILE.map((a) => `[${a}]`).join('')]
  ])('%s', async (_name, command, expected) => {
    const r = await runJob([command], HOSTILE)
    expect(r.pwned).toBe(false)
    expect(r.code).toBe(0)
    expect(r.out).toBe(expected)
  })

  test('an argument line `EOF` cannot end an unquoted heredoc', async () => {
    const args = ['a\nEOF\ntouch PWNED']
    const r = await runJob(['cat <<EOF\n${{ run.args }}\nEOF'], args)
    expect(r.pwned).toBe(false)
    expect(r.out).toBe('a\nEOF\ntouch PWNED\n')
  })

  test('an argument line `EOF` in a quoted heredoc is refused before anything runs', () => {
    expect(() => renderJobScript(makePlan({ kind: 'folder', root: '/x' }, { commands: ["cat <<'EOF'\n${{ run.args }}\nEOF"], args: ['a\nEOF\ntouch PWNED'] }))).toThrow(
      /line `EOF`.*quoted heredoc/
    )
    // also when the argument completes the line together with the text around it
    expect(() => renderJobScript(makePlan({ kind: 'folder', root: '/x' }, { commands: ["cat <<'EOF'\nE${{ run.args }}\nEOF"], args: ['OF'] }))).toThrow(/line `EOF`/)
  })

  test('arithmetic contexts are refused with a hint', () => {
    expect(() => renderJobScript(makePlan({ kind: 'folder', root: '/x' }, { commands: ['echo $(( ${{ run.args }} + 1 ))'], args: ['1'] }))).toThrow(/arithmetic/)
    expect(() => renderJobScript(makePlan({ kind: 'folder', root: '/x' }, { commands: ['(( ${{ run.args }} > 1 )) && echo big'], args: ['1'] }))).toThrow(/arithmetic/)
  })

  test('env values: the joined text, exported single-quoted', async () => {
    const r = await runJob(['printf "%s" "$ARGS_ENV"'], HOSTILE, { ARGS_ENV: 'pre ${{ run.args }} post' })
    expect(r.pwned).toBe(false)
    expect(r.out).toBe(`pre ${JOINED} post`)
  })

  test('no arguments: an empty word list and an empty text', async () => {
    const r = await runJob(["printf '<%s>' x ${{ run.args }}; printf '[%s]' \"${{ run.args }}\""], [])
    expect(r.out).toBe('<x>[]')
  })

  test('${{ run.name }} in each quote style is the name', async () => {
    const r = await runJob(['printf "%s|" ${{ run.name }} "${{ run.name }}" \'${{ run.name }}\'', 'cat <<\'EOF\'\n${{ run.name }}\nEOF'], [])
    expect(r.out).toBe('wise-cat-1|wise-cat-1|wise-cat-1|wise-cat-1\n')
  })

  test('comments and escaped text are left alone; the lexer reports each context', () => {
    const ctx = (c: string) => findPlaceholders(c).map((p) => p.context)
    expect(ctx('echo ${{ run.args }} # ${{ run.args }}')).toEqual(['word', 'comment'])
    expect(ctx("echo \"a ${{ run.args }}\" 'b ${{ run.args }}'")).toEqual(['double', 'single'])
    expect(ctx('cat <<EOF\n${{ run.args }}\nEOF\necho ${{ run.args }}')).toEqual(['heredoc', 'word'])
    expect(ctx("cat <<'X' | wc\n${{ run.args }}\nX")).toEqual(['quoted-heredoc'])
    expect(ctx('echo $(( 1 + ${{ run.args }} ))')).toEqual(['arith'])
  })
})
