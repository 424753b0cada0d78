/**
 * `region` (input) and `--aws-region` (CLI) may list several regions, in the order a run prefers
 * them ("us-east-1, us-west-2"): the backend gets the list; the AWS session, and the store unless
 * it has its own region, use the first one (the store's region stays fixed whichever region the
 * machine lands in).
 */
export function regionList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean)
}

/** the first region of a list, or undefined */
export function firstRegion(value: string | undefined): string | undefined {
  return regionList(value)[0]
}
