/**
 * Pure: whether a run's code is trusted (docs/trust-model.md). Trusted: a push, a schedule or a
 * manual dispatch on the repository's default branch or on a branch the user lists as protected.
 * Untrusted: pull / merge requests (forks included: their branch names prove nothing) and every
 * other trigger, a laptop included. Only the CI's own variables decide, never the code under test.
 */
import type { RunTrust } from '../model/record.js'
import type { CiContext } from './ci-context.js'

/** GitHub events and GitLab pipeline sources that run the branch's own code, started by its maintainers */
const TRUSTED_EVENTS: Record<'github' | 'gitlab', readonly string[]> = {
  github: ['push', 'schedule', 'workflow_dispatch'],
  gitlab: ['push', 'schedule', 'web']
}

export interface TrustOptions {
  /** branches whose pushes are trusted besides the default branch (input `protected-branches`, `--protected-branch`) */
  protectedBranches?: string[]
}

/** `a, b\nc` → ['a', 'b', 'c'] (input and flag values) */
export function parseBranchList(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)
}

export function runTrust(ctx: Pick<CiContext, 'platform' | 'event' | 'ref' | 'pr' | 'branch' | 'defaultBranch'>, o: TrustOptions = {}): RunTrust {
  if (ctx.platform === 'local') return { trusted: false, trigger: 'local (not in CI)', why: 'runs started outside CI are untrusted' }
  const event = String(ctx.event)
  const onBranch = ctx.ref?.startsWith('refs/heads/') ? ctx.ref.slice('refs/heads/'.length) : undefined
  if (ctx.pr !== undefined || !onBranch) {
    const from = ctx.pr !== undefined ? ` #${ctx.pr}${ctx.branch ? ` from ${ctx.branch}` : ''}` : ctx.ref ? ` on ${ctx.ref}` : ''
    const why = ctx.pr !== undefined ? 'pull / merge request code is untrusted' : 'not a branch of the repository'
    return { trusted: false, trigger: `${event}${from}`, why }
  }
  const trigger = `${event} on ${onBranch}`
  if (!TRUSTED_EVENTS[ctx.platform].includes(event)) {
    return { trusted: false, trigger, why: `${ctx.platform === 'github' ? 'event' : 'pipeline source'} \`${event}\` is not one of ${TRUSTED_EVENTS[ctx.platform].join(', ')}` }
  }
  if (ctx.defaultBranch !== undefined && onBranch === ctx.defaultBranch) return { trusted: true, trigger, why: 'the default branch' }
  if ((o.protectedBranches ?? []).includes(onBranch)) return { trusted: true, trigger, why: 'a branch listed as protected' }
  const known = ctx.defaultBranch === undefined ? ' (the CI did not say which branch is the default)' : ''
  return { trusted: false, trigger, why: `${onBranch} is neither the default branch nor listed as protected${known}` }
}
