/**
 * ObjectStore over an S3 bucket + prefix (SDK v3). Key `k` is the object `<prefix>/<k>`.
 * Settings from reference/test-tooling.md: path-style addressing when an endpoint is given,
 * standard retries, checksums only when required (S3-compatible servers mangle aws-chunked
 * bodies otherwise), lib-storage `Upload` with 16 MiB parts × 4 for files.
 * `ifAbsent` checks for the key first (servers that ignore conditional PUT) and sends
 * `If-None-Match: *` (real S3 answers 412 when someone else wrote the key in between).
 * The SDK itself loads (./s3-sdk.js) when the store first sends a request, so opening a store,
 * `validate` and folder-store commands never pay for it.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import type { StoreLocation } from '../model/store-location.js'
import { assertKey, type ListPage, type ObjectStore, type PutOptions } from './object-store.js'

export interface S3StoreOptions {
  bucket: string
  /** key prefix inside the bucket ('' = bucket root); leading/trailing slashes are ignored */
  prefix: string
  region?: string
  /** an S3-compatible endpoint (path-style addressing) */
  endpoint?: string
  /** credentials for the client it builds (e.g. an assumed role renewed before it ends); default: the SDK's chain */
  credentials?: S3ClientConfig['credentials']
  /** a ready client (tests); region/endpoint then only shape `location` and `url()` */
  client?: S3Client
  /** listing page size (tests; S3's maximum is 1000) */
  pageSize?: number
  /** how long a request may sit without a byte moving before it is given up and retried (default 60 s) */
  idleTimeoutMs?: number
}

/**
 * A request whose connection goes silent (a dead proxy, a half-open socket) would otherwise hold
 * `run` forever: the SDK's Node handler has no timeout of its own. Idle, not total, time: a large
 * upload that keeps moving is never cut.
 */
export const S3_IDLE_TIMEOUT_MS = 60_000
export const S3_CONNECT_TIMEOUT_MS = 10_000

export const PART_SIZE = 16 * 1024 * 1024
export const QUEUE_SIZE = 4

function errName(err: unknown): string {
  return (err as { name?: string } | undefined)?.name ?? ''
}
function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}
function isMissing(err: unknown): boolean {
  return errName(err) === 'NoSuchKey' || errName(err) === 'NotFound' || httpStatus(err) === 404
}

export function normalisePrefix(prefix: string): string {
  return prefix.split('/').filter((p) => p !== '').join('/')
}

export function s3ClientConfig(opts: { region?: string; endpoint?: string; idleTimeoutMs?: number }): S3ClientConfig {
  return {
    // socketTimeout: idle time on the socket, an error the retry strategy retries (requestTimeout is a total time that only warns)
    requestHandler: { connectionTimeout: Math.min(S3_CONNECT_TIMEOUT_MS, opts.idleTimeoutMs ?? S3_CONNECT_TIMEOUT_MS), socketTimeout: opts.idleTimeoutMs ?? S3_IDLE_TIMEOUT_MS },
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
    followRegionRedirects: true,
    retryMode: 'standard',
    maxAttempts: 5,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  }
}

type S3Sdk = typeof import('./s3-sdk.js')
let sdkLoad: Promise<S3Sdk> | undefined
/** the SDK, loaded once per process on first use */
function loadSdk(): Promise<S3Sdk> {
  return (sdkLoad ??= import('./s3-sdk.js'))
}

export class S3Store implements ObjectStore {
  readonly location: StoreLocation
  readonly bucket: string
  /** normalised: no leading, trailing or double slashes */
  readonly prefix: string
  private readonly pageSize: number
  private readonly opts: S3StoreOptions
  private ready?: Promise<{ sdk: S3Sdk; client: S3Client }>

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket
    this.prefix = normalisePrefix(opts.prefix)
    if (this.prefix) assertKey(this.prefix)
    this.location = {
      kind: 's3',
      bucket: opts.bucket,
      prefix: this.prefix,
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {})
    }
    this.opts = opts
    this.pageSize = opts.pageSize ?? 1000
  }

  /** the SDK and this store's client (`opts.client` as given, else built on first use), memoised */
  private use(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    return (this.ready ??= loadSdk().then((sdk) => {
      const o = this.opts
      const client = o.client ?? new sdk.S3Client({ ...s3ClientConfig(o), ...(o.credentials ? { credentials: o.credentials } : {}) })
      return { sdk, client }
    }))
  }

  /** the S3 client (loads the SDK and builds the client if no request has been sent yet) */
  async client(): Promise<S3Client> {
    return (await this.use()).client
  }

  /** the full object key: `<prefix>/<key>` without double slashes */
  fullKey(key: string, prefix = false): string {
    assertKey(key, { prefix })
    return this.prefix ? (key === '' ? `${this.prefix}/` : `${this.prefix}/${key}`) : key
  }

  private strip(full: string): string {
    return this.prefix ? full.slice(this.prefix.length + 1) : full
  }

  async get(key: string): Promise<Buffer | undefined> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }))
      return Buffer.from(await res.Body!.transformToByteArray())
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
  }

  async getText(key: string): Promise<string | undefined> {
    return (await this.get(key))?.toString('utf8')
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<boolean> {
    const Key = this.fullKey(key)
    if (opts.ifAbsent && (await this.exists(key))) return false
    const { sdk, client } = await this.use()
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {})
        })
      )
      return true
    } catch (err) {
      // 412: the key exists; 409: a concurrent conditional write to the same key is in flight
      if (opts.ifAbsent && (errName(err) === 'PreconditionFailed' || httpStatus(err) === 412 ||
        errName(err) === 'ConditionalRequestConflict' || httpStatus(err) === 409)) return false
      throw err
    }
  }

  async putFile(key: string, path: string, opts: { contentType?: string } = {}): Promise<void> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    const upload = new sdk.Upload({
      client,
      params: {
        Bucket: this.bucket,
        Key,
        Body: createReadStream(path),
        ...(opts.contentType ? { ContentType: opts.contentType } : {})
      },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false
    })
    await upload.done()
  }

  async getToFile(key: string, path: string): Promise<boolean> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    let body: Readable
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }))
      body = res.Body as Readable
    } catch (err) {
      if (isMissing(err)) return false
      throw err
    }
    const dest = resolve(path)
    await fs.mkdir(dirname(dest), { recursive: true })
    const tmp = join(dirname(dest), `.~tmp.${randomBytes(6).toString('hex')}`)
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }))
      await fs.rename(tmp, dest)
      return true
    } finally {
      await fs.rm(tmp, { force: true })
    }
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key }))
      return true
    } catch (err) {
      if (isMissing(err)) return false
      throw err
    }
  }

  private async *pages(prefix: string, delimiter?: string) {
    const Prefix = this.fullKey(prefix, true)
    const { sdk, client } = await this.use()
    let token: string | undefined
    do {
      const res = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix,
          MaxKeys: this.pageSize,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          ...(token ? { ContinuationToken: token } : {})
        })
      )
      yield res
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token)
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = []
    for await (const page of this.pages(prefix)) {
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: this.strip(o.Key), size: o.Size ?? 0 })
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const full = this.fullKey(prefix, true)
    const names = new Set<string>()
    for await (const page of this.pages(prefix, '/')) {
      for (const p of page.CommonPrefixes ?? []) {
        const name = (p.Prefix ?? '').slice(full.length).replace(/\/$/, '')
        if (name !== '') names.add(name)
      }
    }
    return [...names].sort()
  }

  async listAfter(prefix: string, startAfter: string, maxKeys: number): Promise<ListPage> {
    const Prefix = this.fullKey(prefix, true)
    const StartAfter = this.fullKey(startAfter, true)
    const { sdk, client } = await this.use()
    const res = await client.send(
      new sdk.ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix,
        StartAfter,
        MaxKeys: Math.max(1, Math.min(1000, maxKeys))
      })
    )
    const objects = (res.Contents ?? [])
      .filter((o): o is typeof o & { Key: string } => typeof o.Key === 'string')
      .map((o) => ({ key: this.strip(o.Key), size: o.Size ?? 0, tag: `${o.ETag ?? ''}:${o.Size ?? 0}:${o.LastModified?.getTime() ?? ''}` }))
    return { objects, truncated: Boolean(res.IsTruncated) }
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key }))
  }

  url(key: string): string {
    const full = this.fullKey(key, true)
    const loc = this.location as Extract<StoreLocation, { kind: 's3' }>
    if (loc.endpoint) return `${loc.endpoint.replace(/\/$/, '')}/${this.bucket}/${full.split('/').map(encodeURIComponent).join('/')}`
    const region = loc.region ?? 'us-east-1'
    const q = `region=${encodeURIComponent(region)}&prefix=${encodeURIComponent(full)}`
    return full.endsWith('/') || full === ''
      ? `https://${region}.console.aws.amazon.com/s3/buckets/${this.bucket}?${q}`
      : `https://${region}.console.aws.amazon.com/s3/object/${this.bucket}?${q}`
  }

  async presignGet(key: string, seconds: number): Promise<string> {
    const Key = this.fullKey(key)
    const { sdk, client } = await this.use()
    return sdk.getSignedUrl(client, new sdk.GetObjectCommand({ Bucket: this.bucket, Key }), { expiresIn: seconds })
  }
}
