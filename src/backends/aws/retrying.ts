/**
 * Bounded retries with jittered backoff for the read calls of a search (DescribeInstanceTypes,
 * offerings, prices). The SDK clients retry too (clients.ts); this outer loop is what keeps a
 * search alive through a longer throttling burst, and it is what the tests can drive with a
 * virtual clock.
 */
import { errorCode, isRetryable } from './errors.js'
import { backoffMs } from './timing.js'

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>
  random: () => number
  log: (line: string) => void
  retries: number
}

export async function retrying<T>(what: string, fn: () => Promise<T>, d: RetryDeps): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!isRetryable(e) || attempt >= d.retries) throw e
      const ms = backoffMs(attempt, d.random)
      d.log(`${errorCode(e)} while ${what}; retrying in ${(ms / 1000).toFixed(1)} s (${attempt + 1}/${d.retries})`)
      await d.sleep(ms)
    }
  }
}
