/** Pure: the cost of one attempt from its machine's price and billed time. */
import type { MachineInfo } from '../../model/index.js'

export interface AttemptCost {
  usd: number
  billedSeconds: number
  note?: string
}

/**
 * EC2 Linux bills per second with a 60 s minimum. AWS does not bill a spot instance that EC2
 * itself reclaims within its first hour (pass `reclaimed`: the instance's state reason is
 * Server.SpotInstanceTermination); one we terminate ourselves, even after an interruption
 * notice, is billed.
 */
export function attemptCost(machine: Pick<MachineInfo, 'pricePerHour' | 'market' | 'priceSource'>, startedAt: string | number, endedAt: string | number, opts: { reclaimed?: boolean } = {}): AttemptCost {
  const ms = new Date(endedAt).getTime() - new Date(startedAt).getTime()
  const billedSeconds = Math.max(60, Math.ceil(Math.max(0, ms) / 1000))
  if (machine.pricePerHour === undefined) return { usd: 0, billedSeconds, note: 'no price known for this machine' }
  if (opts.reclaimed && machine.market === 'spot' && billedSeconds < 3600) {
    return { usd: 0, billedSeconds, note: 'spot instance reclaimed by EC2 within its first hour: not billed' }
  }
  const usd = Math.round(((machine.pricePerHour * billedSeconds) / 3600) * 1e6) / 1e6
  return { usd, billedSeconds, ...(machine.priceSource ? { note: `price from ${machine.priceSource}` } : {}) }
}
