/** `1 file`, `2 files`, `1 dependency`, `3 dependencies`: a count with its noun in the right number. */
export function plural(n: number, singular: string, pluralForm?: string): string {
  const many = pluralForm ?? (/[^aeiou]y$/.test(singular) ? singular.slice(0, -1) + 'ies' : /(s|x|ch|sh)$/.test(singular) ? singular + 'es' : singular + 's')
  return `${n} ${n === 1 ? singular : many}`
}
