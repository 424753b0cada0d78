/**
 * Pure: the arguments of `dstack-run run WORKFLOW …` that go to the workflow (`${{ run.args }}`).
 * As with dstack, they follow the workflow name without `--`: `run train --epochs 3 --tag baseline`
 * gives the workflow `--epochs 3` and keeps `--tag baseline` for this CLI. Everything after `--`
 * goes to the workflow as is, including options this CLI has (`run train -- --tag x`).
 * An option that is one typo away from one of this CLI's (`--tga`) is refused rather than passed on
 * silently, and so is an unknown option before the workflow name.
 */
import { UserError } from '../model/index.js'

/** `argv` of the `run` verb split at the first `--`: what commander parses, and what it must not see */
export function splitAtDoubleDash(argv: string[]): { parsed: string[]; explicit: string[] } {
  const i = argv.indexOf('--')
  return i < 0 ? { parsed: argv, explicit: [] } : { parsed: argv.slice(0, i), explicit: argv.slice(i + 1) }
}

/** Damerau–Levenshtein distance (optimal string alignment), for did-you-mean */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/** this CLI's long option closest to `flag` (`--tga` → `--tag`), when it is a likely typo of it */
export function likelyTypoOf(flag: string, ours: string[]): string | undefined {
  const name = flag.split('=')[0]!
  if (!name.startsWith('--') || ours.includes(name)) return undefined
  let best: { opt: string; d: number } | undefined
  for (const opt of ours) {
    const d = editDistance(name, opt)
    if (!best || d < best.d) best = { opt, d }
  }
  if (!best) return undefined
  const bare = best.opt.length - 2
  const allowed = bare <= 4 ? 1 : 2
  return best.d <= allowed ? best.opt : undefined
}

/**
 * The workflow's arguments: what commander left over after the workflow name (its operands and the
 * options it did not know, in order), then everything after `--`.
 */
export function workflowArgs(workflow: string, leftover: string[], explicit: string[], ours: string[]): string[] {
  if (workflow.startsWith('-')) {
    throw new UserError(`unknown option '${workflow}' before the workflow name`, 'give the workflow name first: `dstack-run run WORKFLOW [ARGS...]`; `dstack-run run --help` lists the options')
  }
  for (const a of leftover) {
    const typo = likelyTypoOf(a, ours)
    if (typo) throw new UserError(`unknown option '${a.split('=')[0]}' (did you mean ${typo}?)`, `to pass it to the workflow as it is, put it after --: dstack-run run ${workflow} -- ${a}`)
  }
  return [...leftover, ...explicit]
}
