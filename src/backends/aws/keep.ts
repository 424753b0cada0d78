/**
 * keep-on-failure: a failed run's instance stays up for a while so one can step into it with an SSM
 * session. The runner re-arms the instance's shutdown to the kept deadline (src/runner/body/keep.sh);
 * here: the deadline (never past the hard lifetime), the tags that say it (the post step, `cleanup`
 * and the console read them), and the line to type.
 */
import { CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { UserError } from '../../model/index.js'
import { tryParseDuration, DURATION_FORMS } from '../../workflows/units.js'
import { TAG } from './launch-input.js'

/** the tag with the kept deadline (ISO 8601); `dstack:expires-at` is moved to the same time */
export const KEPT_UNTIL_TAG = 'dstack:kept-until'

/** the runner re-arms `shutdown -h +<minutes>`: less than a minute cannot be kept */
export const KEEP_MIN_SEC = 60

/** `30m`, `2h`, `1800`; empty, `0`, `off` or `false`: not kept */
export function keepOnFailureSeconds(v: number | string | undefined): number {
  if (v === undefined || v === 0) return 0
  const s = String(v).trim()
  if (['', '0', 'off', 'false', 'no'].includes(s.toLowerCase())) return 0
  const r = tryParseDuration(typeof v === 'number' ? v : s)
  if (!r.ok) throw new UserError(`keep-on-failure: ${r.message}`, `expected ${DURATION_FORMS}, or 0 to terminate a failed run's machine at once`)
  return r.value
}

/** Pure: when a kept instance must be gone: `keepSec` from now, never past its hard lifetime */
export function keptDeadline(now: number, keepSec: number, hardEndMs: number): number {
  return Math.min(now + keepSec * 1000, hardEndMs)
}

/** Pure: the command that opens a shell on the instance */
export function sessionCommand(instanceId: string, region: string): string {
  return `aws ssm start-session --target ${instanceId} --region ${region}`
}

/** Pure: the kept deadline of an instance's tags, when it is still ahead of `now` */
export function keptUntil(tags: Record<string, string>, now: number): number | undefined {
  const t = Date.parse(tags[KEPT_UNTIL_TAG] ?? '')
  return Number.isFinite(t) && t > now ? t : undefined
}

/** I/O: tags the kept deadline, and moves `dstack:expires-at` to it (so `cleanup` ends the instance on time) */
export async function tagKept(ec2: EC2Client, instanceId: string, until: number): Promise<void> {
  const at = new Date(until).toISOString()
  await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: KEPT_UNTIL_TAG, Value: at }, { Key: TAG.expiresAt, Value: at }] }))
}
