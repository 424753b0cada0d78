/** A run's trust as shown and used by every reader (src/revision/trust.ts decides it at submit). */
import type { RunTrust } from './record.js'

/** a record's trust; records written before trust was recorded count as untrusted */
export function trustOf(r: { trust?: RunTrust; revision?: { event?: string } }): RunTrust {
  return r.trust ?? { trusted: false, trigger: String(r.revision?.event ?? 'unknown'), why: 'recorded before runs recorded their trust' }
}

/** `trusted (push on main)` / `untrusted (pull_request #7 from x)` */
export function trustLabel(t: RunTrust): string {
  return `${t.trusted ? 'trusted' : 'untrusted'} (${t.trigger})`
}
