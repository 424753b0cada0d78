/**
 * Pure: the one redaction of everything that leaves the machine (docs/trust-model.md): the log
 * tail, the job's report, metric names and values, artifact names, step outputs, the dotenv file,
 * the summary, the PR / MR comment and the provenance statement. GitHub masks registered secrets
 * in its log, but not in a summary, a comment, an output another job reads, or a store.
 * Every secret value, and each line of a multi-line one, becomes `***`.
 */
export class SecretRedactor {
  private readonly values = new Set<string>()
  /** longest first, so a value that contains another is replaced whole */
  private sorted: string[] | undefined

  /** values shorter than 3 characters are not redacted: they would blank out ordinary text */
  add(value: string): void {
    for (const v of [value, ...value.split(/\r?\n/)]) if (v.trim().length >= 3) this.values.add(v)
    this.sorted = undefined
  }

  get size(): number {
    return this.values.size
  }

  /** linear in the text's length for each value (a string search, then one join) */
  redact(text: string): string {
    if (this.values.size === 0 || text === '') return text
    this.sorted ??= [...this.values].sort((a, b) => b.length - a.length)
    let out = text
    for (const v of this.sorted) if (out.includes(v)) out = out.split(v).join('***')
    return out
  }

  /**
   * A copy of a JSON-like value with every string redacted, object keys included (a metric or an
   * output may be named after a secret). A number whose digits hold a secret becomes NaN (JSON:
   * null), so a numeric secret cannot leave as a metric value either.
   */
  value<T>(v: T): T {
    return this.walk(v) as T
  }

  private walk(v: unknown): unknown {
    if (this.values.size === 0) return v
    if (typeof v === 'string') return this.redact(v)
    if (typeof v === 'number') return this.redact(String(v)) === String(v) ? v : NaN
    if (Array.isArray(v)) return v.map((x) => this.walk(x))
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[this.redact(k)] = this.walk(x)
      return out
    }
    return v
  }
}

/** a redactor holding these texts (the orchestrator's `redactTexts`) */
export function redactorFor(texts: string[]): SecretRedactor {
  const r = new SecretRedactor()
  for (const t of texts) r.add(t)
  return r
}
