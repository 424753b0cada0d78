/** Where the run store lives (DESIGN.md "Store layout"); the runner script reaches it too. */
export type StoreLocation =
  | { kind: 'folder'; root: string }
  | { kind: 's3'; bucket: string; prefix: string; region?: string; endpoint?: string }

/** `s3://bucket/prefix` or a folder path */
export function describeStore(loc: StoreLocation): string {
  return loc.kind === 'folder' ? loc.root : `s3://${loc.bucket}/${loc.prefix}`.replace(/\/$/, '')
}
