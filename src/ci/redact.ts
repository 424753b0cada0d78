/**
 * The CI's masking, applied to text this tool shows itself (the log tail in a summary or comment):
 * GitHub masks registered secrets in its log, but not in a summary or a comment body we write.
 * Every secret value, and each line of a multi-line one, becomes `***`.
 */
export class SecretRedactor {
  private readonly values = new Set<string>()

  /** values shorter than 3 characters are not redacted: they would blank out ordinary text */
  add(value: string): void {
    for (const v of [value, ...value.split(/\r?\n/)]) if (v.trim().length >= 3) this.values.add(v)
  }

  redact(text: string): string {
    let out = text
    // longest first, so a value that contains another is replaced whole
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(v).join('***')
    return out
  }
}
