/**
 * The runner's body is its modules (src/runner/body/*.sh) joined in a fixed order by gen-body.mjs and
 * embedded in body.generated.ts. The embedded copy must be what the modules make, every module must
 * be in the list, and each module's interface comment must name what it really offers and needs.
 */
import { describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { RUNNER_BODY, RUNNER_MODULES } from '../../src/runner/body.generated.js'

const runnerDir = fileURLToPath(new URL('../../src/runner/', import.meta.url))
const bodyDir = `${runnerDir}body/`
const source = (m: string): string => readFileSync(bodyDir + m, 'utf8')
/** the lines bash runs: neither blank nor a comment */
const codeLines = (sh: string): string[] => sh.split('\n').filter((l) => l.trim() !== '' && !/^\s*#/.test(l))
/** the functions a text defines at its top level */
const defined = (sh: string): string[] => [...sh.matchAll(/^([a-z_][a-z0-9_]*)\(\) \{/gm)].map((m) => m[1]!)
/** the variables a text sets at its top level */
const globals = (sh: string): string[] => [...sh.matchAll(/^(?:export )?([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!)
/** the names on an interface line (`# Offers: …` with its continuation lines; words in parentheses are prose) */
function interfaceWords(sh: string, key: 'Reads' | 'Needs' | 'Offers'): string[] {
  const lines = sh.split('\n')
  const i = lines.findIndex((l) => l.startsWith(`# ${key}:`))
  if (i < 0) return []
  const text = [lines[i]!.slice(`# ${key}:`.length)]
  for (let j = i + 1; j < lines.length && lines[j]!.startsWith('#   '); j++) text.push(lines[j]!.slice(1))
  return text.join(' ').replace(/\([^)]*\)/g, ' ').split(/[\s;,.]+/).map((w) => w.replace(/\[\]$/, ''))
}

test('body.generated.ts is what gen-body.mjs makes of the modules (regenerate with `node src/runner/gen-body.mjs`)', () => {
  const r = spawnSync(process.execPath, [`${runnerDir}gen-body.mjs`, '--check'], { encoding: 'utf8' })
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
})

test('every module in src/runner/body is in the list, once', () => {
  const files = readdirSync(bodyDir).filter((f) => f.endsWith('.sh')).sort()
  expect([...RUNNER_MODULES].sort()).toEqual(files)
  expect(new Set(RUNNER_MODULES).size).toBe(RUNNER_MODULES.length)
})

test('the embedded body runs exactly the modules\' code, in the list\'s order', () => {
  expect(codeLines(RUNNER_BODY)).toEqual(RUNNER_MODULES.flatMap((m) => codeLines(source(m))))
  // and is valid bash
  execFileSync('bash', ['-n', '-c', RUNNER_BODY])
})

describe.each(RUNNER_MODULES.map((m) => [m]))('module %s', (m) => {
  const sh = source(m)

  test('is at most 350 lines and starts with its name', () => {
    expect(sh.split('\n').length - 1).toBeLessThanOrEqual(350)
    expect(sh.split('\n')[0]).toMatch(new RegExp(`^# ---- (runner body: )?body/${m.replace('.', '\\.')}[,:] `))
  })

  test('offers only functions it defines, and names every function of another module it calls', () => {
    const own = defined(sh)
    const offered = interfaceWords(sh, 'Offers').filter((w) => /^[a-z_]/.test(w))
    for (const f of offered) expect(own).toContain(f)
    if (m === 'main.sh') return // the sequence calls the others' offers
    const others = new Map(RUNNER_MODULES.filter((o) => o !== m).flatMap((o) => defined(source(o)).map((f) => [f, o] as const)))
    const calls = new Set(codeLines(sh).join('\n').match(/[a-z_][a-z0-9_]*/g))
    const needed = [...calls].filter((w) => others.has(w) && !own.includes(w)).sort()
    expect(needed.filter((f) => !interfaceWords(sh, 'Needs').includes(f))).toEqual([])
    // what it needs is offered by the module that defines it
    for (const f of needed) expect(interfaceWords(source(others.get(f)!), 'Offers')).toContain(f)
  })

  test('names every variable of another module it uses, and offers the ones it sets for others', () => {
    const mine = new Set(globals(sh))
    const setBy = new Map(RUNNER_MODULES.filter((o) => o !== m).flatMap((o) => globals(source(o)).map((v) => [v, o] as const)))
    const used = [...new Set(codeLines(sh).join('\n').match(/[A-Z_][A-Z0-9_]*/g))].filter((v) => setBy.has(v) && !mine.has(v)).sort()
    if (m !== 'main.sh') expect(used.filter((v) => !interfaceWords(sh, 'Reads').includes(v))).toEqual([])
    for (const v of used) expect(interfaceWords(source(setBy.get(v)!), 'Offers')).toContain(v)
  })
})
