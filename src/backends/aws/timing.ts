/** Backoff and waiting helpers; `sleep` is injected so tests run instantly. */

/** full jitter: random in [base, base·2^attempt], capped */
export function backoffMs(attempt: number, random: () => number, baseMs = 1000, capMs = 20_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt)
  return Math.round(baseMs / 2 + random() * (ceiling - baseMs / 2))
}

/** sleeps `ms`, returning early when `signal` aborts */
export function sleepOrAbort(sleep: (ms: number) => Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
    sleep(ms).then(done, done)
  })
}

/** polling interval that grows from `minMs` to `maxMs` over time since `since` */
export function adaptiveIntervalMs(elapsedMs: number, minMs = 2000, maxMs = 15_000): number {
  if (elapsedMs < 30_000) return minMs
  if (elapsedMs < 300_000) return Math.min(maxMs, minMs * 2.5)
  return maxMs
}
