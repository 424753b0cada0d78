/** Store specs (`s3://bucket/prefix` or a folder path) → StoreLocation → ObjectStore. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { UserError } from '../model/errors.js'
import type { StoreLocation } from '../model/store-location.js'
import { assertKey, type ObjectStore } from './object-store.js'
import { FolderStore } from './folder-store.js'
import { S3Store, normalisePrefix, type S3StoreOptions } from './s3-store.js'

/** S3 general-purpose bucket naming rules (no dots-vs-IP ambiguity, no reserved prefixes/suffixes) */
export function assertBucketName(name: string): string {
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(name)
  if (!ok) {
    throw new UserError(
      `invalid S3 bucket name ${JSON.stringify(name)}: use 3–63 lowercase letters, digits, "." or "-", starting and ending with a letter or digit`
    )
  }
  return name
}

export interface StoreSpecOptions {
  region?: string
  endpoint?: string
  /** home folder for `~` (default: os.homedir()) */
  home?: string
  /** base for relative folder paths (default: process.cwd()) */
  cwd?: string
}

export function parseStoreSpec(spec: string, opts: StoreSpecOptions = {}): StoreLocation {
  const s = (spec ?? '').trim()
  if (s === '') throw new UserError('empty store: give s3://bucket/prefix or a folder path')
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(s)
  if (m) {
    const scheme = m[1]!.toLowerCase()
    const rest = m[2]!
    if (scheme === 'file') return parseStoreSpec(rest, opts)
    if (scheme !== 's3') throw new UserError(`unsupported store ${JSON.stringify(spec)}: use s3://bucket/prefix or a folder path`)
    const slash = rest.indexOf('/')
    const bucket = assertBucketName(slash < 0 ? rest : rest.slice(0, slash))
    const prefix = normalisePrefix(slash < 0 ? '' : rest.slice(slash + 1))
    if (prefix) {
      try {
        assertKey(prefix)
      } catch (err) {
        throw new UserError(`invalid S3 prefix in ${JSON.stringify(spec)}: ${(err as Error).message}`)
      }
    }
    return {
      kind: 's3',
      bucket,
      prefix,
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {})
    }
  }
  assertNotMistypedUrl(s)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new UserError(`invalid store folder ${JSON.stringify(spec)}: control characters`)
  const home = opts.home ?? homedir()
  const expanded = s === '~' ? home : s.startsWith('~/') ? join(home, s.slice(2)) : s
  if (expanded.startsWith('~')) throw new UserError(`unsupported store folder ${JSON.stringify(spec)}: only ~ and ~/… are expanded`)
  return { kind: 'folder', root: resolve(opts.cwd ?? process.cwd(), expanded) }
}

/**
 * A store spec that is meant as a URL but is not one (`s3:/bucket`, `s3:bucket`, `s3//bucket`,
 * `S3:\\bucket`) would otherwise be a folder named `s3:` in the current folder, and the run would
 * "succeed" into it. A folder whose name really starts that way can be given as `./s3:…`.
 */
function assertNotMistypedUrl(s: string): void {
  const m = /^([a-z][a-z0-9+.-]+):(.*)$/i.exec(s) ?? /^(s3)(\/\/.*)$/i.exec(s)
  if (!m) return
  const scheme = m[1]!.toLowerCase()
  const rest = m[2]!.replace(/^[/\\]+/, '')
  const fix = scheme === 's3' || scheme === 's3a' || scheme === 's3n' ? `write s3://${rest || 'bucket/prefix'} (two slashes)` : 'write s3://bucket/prefix for S3 (the only URL scheme a store can have)'
  throw new UserError(`store ${JSON.stringify(s)} is neither s3://bucket/prefix nor a folder path: it looks like a mistyped URL`, `${fix}, or ./${s} for a folder of that name`)
}

/** `DSTACK_STORE` when set, else the folder `~/.dstack/store` (as dstack's local backend keeps `~/.dstack`). */
export function defaultStoreLocation(environ: Record<string, string | undefined> = process.env, given: { region?: string; endpoint?: string } = {}): StoreLocation {
  const home = environ.HOME || homedir()
  const spec = environ.DSTACK_STORE?.trim()
  if (spec) {
    const region = given.region || environ.AWS_REGION || environ.AWS_DEFAULT_REGION
    const endpoint = given.endpoint || environ.AWS_ENDPOINT_URL_S3 || environ.AWS_ENDPOINT_URL
    return parseStoreSpec(spec, { home, ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) })
  }
  return { kind: 'folder', root: join(home, '.dstack', 'store') }
}

export function openStore(loc: StoreLocation, opts: { credentials?: S3StoreOptions['credentials'] } = {}): ObjectStore {
  if (loc.kind === 'folder') return new FolderStore(loc.root)
  return new S3Store({
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    bucket: loc.bucket,
    prefix: loc.prefix,
    ...(loc.region ? { region: loc.region } : {}),
    ...(loc.endpoint ? { endpoint: loc.endpoint } : {})
  })
}
