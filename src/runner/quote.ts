/** POSIX shell quoting for every value the runner script interpolates. */

/** `'…'` with each `'` written as `'\''`: the shell reads the value back literally. Rejects NUL. */
export function shellQuote(s: string): string {
  if (typeof s !== 'string') throw new TypeError(`shellQuote: expected a string, got ${typeof s}`)
  if (s.includes('\u0000')) throw new Error('a value for the runner script contains a NUL character')
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** a bash array literal `( 'a' 'b' )` */
export function shellArray(values: string[]): string {
  return `(${values.map(shellQuote).join(' ')})`
}
