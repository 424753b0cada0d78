/**
 * The run store (DESIGN.md "Store layout"): runs, attempts, logs, artifacts, tags, code snapshots
 * and dependency resolution, over any ObjectStore.
 */
import { createHash } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { UserError } from '../model/errors.js'
import { assertName, assertRepoId, normaliseRelativePath } from '../model/names.js'
import type { ManifestEntry, RunRecord, TagRecord } from '../model/record.js'
import { trustOf, trustLabel } from '../model/trust.js'
import type { DepSpec } from '../model/spec.js'
import type { AttemptStatus } from '../model/status.js'
import { toJson, type ObjectStore } from './object-store.js'
import { keys, assertSha256 } from './keys.js'
import { mapLimit } from './limit.js'
import { safeDestination } from './safe-path.js'
import { nextRunNumber, randomBase } from './run-names.js'
import { DamagedRecordError, parseRecord } from './records.js'

const JSON_TYPE = 'application/json'
/** the settings that let a run use untrusted runs as deps, for every entry point */
export const UNTRUSTED_DEPS_HINT = 'to use untrusted runs anyway, set the action input `untrusted-deps: true` or pass `--untrusted-deps`'
/** the flags that exist to move a tag, for every entry point */
export const MOVE_TAG_HINT = 'to move it, use `tags add --force`, `run --force-tag`, or the action input `force-tag: true`'
const CONCURRENCY = 8
/** name-claim attempts before createRun gives up */
const MAX_CLAIMS = 200

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

export interface ManifestCheck {
  ok: boolean
  manifest: ManifestEntry[]
  /** listed but not in the store */
  missing: string[]
  /** listed with another size than the stored object */
  wrongSize: { path: string; expected: number; actual: number }[]
  /** stored under artifacts/ but not listed (informational: does not make `ok` false) */
  unlisted: string[]
}

/** artifacts.json: a JSON array of {path, size, sha256} (also accepted: `{ "files": [...] }`) */
export function parseManifest(text: string, what = 'artifacts.json'): ManifestEntry[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new DamagedRecordError(what, `not valid JSON (${(err as Error).message})`)
  }
  const list = Array.isArray(raw) ? raw : (raw as { files?: unknown } | null)?.files
  if (!Array.isArray(list)) throw new DamagedRecordError(what, 'expected a JSON array of {path, size, sha256}')
  return list.map((e: unknown, i) => {
    const o = e as Partial<ManifestEntry> | null
    if (!o || typeof o.path !== 'string' || typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0 ||
      typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) {
      throw new DamagedRecordError(what, `entry ${i} is not {path, size, sha256}: ${JSON.stringify(e).slice(0, 200)}`)
    }
    const path = storedPath(o.path)
    if (typeof path !== 'string') throw new DamagedRecordError(what, `entry ${i}: path ${JSON.stringify(o.path).slice(0, 200)} ${path.why}`)
    const raw = (o as { rawPath?: unknown }).rawPath
    if (raw !== undefined && (typeof raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw))) throw new DamagedRecordError(what, `entry ${i}: rawPath is not base64`)
    return { path, size: o.size, sha256: o.sha256, ...(raw !== undefined ? { rawPath: raw as string } : {}) }
  })
}

/**
 * A path as the runner recorded it: exactly the job's file name (tabs, newlines, backslashes,
 * leading dashes included), relative, without `..`, `.` or empty segments (dropped), no NUL.
 */
function storedPath(p: string): string | { why: string } {
  if (p === '' || Buffer.byteLength(p) > 4096) return { why: 'must be 1–4096 bytes' }
  if (p.includes('\u0000')) return { why: 'holds a NUL character' }
  if (p.startsWith('/')) return { why: 'is absolute' }
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  if (parts.includes('..') || parts.length === 0) return { why: 'must name something inside the artifacts folder, without ".."' }
  return parts.join('/')
}

function isKeyable(key: () => string): boolean {
  try {
    key()
    return true
  } catch {
    return false
  }
}

function describeDep(dep: DepSpec): string {
  return `${dep.kind} \`${dep.name}\``
}

function bySubmittedDesc(a: RunRecord, b: RunRecord): number {
  return a.submittedAt < b.submittedAt ? 1 : a.submittedAt > b.submittedAt ? -1 : a.run < b.run ? 1 : a.run > b.run ? -1 : 0
}

/** a dep's run, with how it was found and whether it is trusted */
export interface ResolvedDepRun {
  repoId: string
  run: RunRecord
  /** the tag it was found by (kind `tag`), with its namespace */
  tag?: TagRecord
  trusted: boolean
  /** `tag data`, `untrusted tag data`, `latest trusted succeeded run of train` */
  via: string
}

export interface AttemptUpdates {
  /** log chunk numbers after the one asked for, ascending */
  chunks: number[]
  /** changes whenever status.json is rewritten; undefined when absent or not reached by this page */
  statusTag?: string
  /** the listing stopped at its page size: more chunks follow */
  truncated: boolean
}

export class RunStore {
  constructor(
    readonly store: ObjectStore,
    private readonly now: () => Date = () => new Date()
  ) {}

  // ---- runs ----------------------------------------------------------------------------------

  /** names of the runs in a repo (folders under `<repoId>/runs/`) */
  async listRunNames(repoId: string): Promise<string[]> {
    return this.store.listPrefixes(keys.runs(repoId))
  }

  /**
   * Generates `<adjective>-<animal>-<n>` (n = 1 + the highest n with that base in the repo) and
   * claims it by writing run.json only if absent; on a collision it tries the next n.
   * The record's `run` is ignored and replaced by the generated name.
   */
  async createRun(record: RunRecord, opts: { rng?: () => number } = {}): Promise<RunRecord> {
    const repoId = assertRepoId(record.repoId)
    const base = randomBase(opts.rng)
    let n = nextRunNumber(base, await this.listRunNames(repoId))
    for (let i = 0; i < MAX_CLAIMS; i++, n++) {
      const claimed: RunRecord = { ...record, run: `${base}-${n}` }
      if (await this.store.put(keys.run(repoId, claimed.run), toJson(claimed), { ifAbsent: true, contentType: JSON_TYPE })) {
        return claimed
      }
    }
    throw new Error(`could not allocate a run name for ${base} in ${repoId} after ${MAX_CLAIMS} tries`)
  }

  async saveRun(record: RunRecord): Promise<void> {
    await this.store.put(keys.run(record.repoId, record.run), toJson(record), { contentType: JSON_TYPE })
  }

  async getRun(repoId: string, run: string): Promise<RunRecord | undefined> {
    return this.readRecord<RunRecord>(keys.run(repoId, run), 'run')
  }

  /** a JSON record, undefined when absent, a DamagedRecordError naming the file when unusable */
  private async readRecord<T>(key: string, kind: 'run' | 'status' | 'tag'): Promise<T | undefined> {
    const text = await this.store.getText(key)
    return text === undefined ? undefined : parseRecord<T>(text, kind, this.store.url(key))
  }

  /** every run of the repo, newest first, and the run folders whose run.json is damaged */
  async scanRuns(repoId: string): Promise<{ runs: RunRecord[]; damaged: { run: string; error: DamagedRecordError }[] }> {
    const names = await this.listRunNames(repoId)
    const damaged: { run: string; error: DamagedRecordError }[] = []
    const runs = await mapLimit(names, CONCURRENCY, async (name) => {
      try {
        return await this.getRun(repoId, name)
      } catch (err) {
        if (err instanceof DamagedRecordError) damaged.push({ run: name, error: err })
        else if (!(err instanceof UserError)) throw err // else: a folder that is no valid run name
        return undefined
      }
    })
    // folders without run.json (e.g. a GitLab sub-group project under <repoId>/runs/) are not runs
    return {
      runs: runs.filter((r): r is RunRecord => r !== undefined && r.repoId === repoId).sort(bySubmittedDesc),
      damaged: damaged.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0))
    }
  }

  /** every run of the repo, newest first (by submittedAt) */
  async listRuns(repoId: string): Promise<RunRecord[]> {
    return (await this.scanRuns(repoId)).runs
  }

  // ---- attempts ------------------------------------------------------------------------------

  async putRunnerScript(repoId: string, run: string, n: number, text: string): Promise<string> {
    const key = keys.runnerScript(repoId, run, n)
    await this.store.put(key, text, { contentType: 'text/x-shellscript' })
    return key
  }

  /** the attempt's status.json, or with `rank` that of one node of a multi-node attempt */
  async readStatus(repoId: string, run: string, n: number, rank?: number): Promise<AttemptStatus | undefined> {
    return this.readRecord<AttemptStatus>(keys.status(repoId, run, n, rank), 'status')
  }

  /** for the orchestrator when the runner could not write status.json (machine lost, never started) */
  async writeStatus(repoId: string, run: string, n: number, status: AttemptStatus, rank?: number): Promise<void> {
    await this.store.put(keys.status(repoId, run, n, rank), toJson(status), { contentType: JSON_TYPE })
  }

  /** seq numbers of the stored log chunks, ascending */
  async listLogChunks(repoId: string, run: string, n: number, rank?: number): Promise<number[]> {
    const prefix = keys.logs(repoId, run, n, rank)
    const seqs: number[] = []
    for (const { key } of await this.store.list(prefix)) {
      const m = /^([0-9]+)\.log$/.exec(key.slice(prefix.length))
      if (m) seqs.push(Number(m[1]))
    }
    return seqs.sort((a, b) => a - b)
  }

  /**
   * What is new in an attempt after log chunk `afterSeq` (-1: from the first), in ONE listing
   * request whatever the number of chunks: the next chunk numbers (ascending, at most `max`), and
   * status.json's version tag when the listing reached it (chunks sort before `runner.sh`, `ssm/`
   * and `status.json`).
   */
  async attemptUpdates(repoId: string, run: string, n: number, afterSeq: number, max = 1000, rank?: number): Promise<AttemptUpdates> {
    const prefix = keys.node(repoId, run, n, rank)
    const logs = keys.logs(repoId, run, n, rank)
    const page = await this.store.listAfter(prefix, afterSeq < 0 ? logs : keys.logChunk(repoId, run, n, afterSeq, rank), max)
    const chunks: number[] = []
    let statusTag: string | undefined
    const statusKey = keys.status(repoId, run, n, rank)
    for (const o of page.objects) {
      if (o.key === statusKey) statusTag = o.tag
      else if (o.key.startsWith(logs)) {
        const m = /^([0-9]+)\.log$/.exec(o.key.slice(logs.length))
        if (m) chunks.push(Number(m[1]))
      }
    }
    return { chunks, statusTag, truncated: page.truncated }
  }

  /** calls `onChange` when the attempt's folder changes, for stores that can tell (see ObjectStore.watch) */
  watchAttempt(repoId: string, run: string, n: number, onChange: () => void, rank?: number): (() => void) | undefined {
    return this.store.watch?.(keys.node(repoId, run, n, rank), onChange)
  }

  async readLogChunk(repoId: string, run: string, n: number, seq: number, rank?: number): Promise<Buffer | undefined> {
    return this.store.get(keys.logChunk(repoId, run, n, seq, rank))
  }

  // ---- artifacts -----------------------------------------------------------------------------

  async readManifest(repoId: string, run: string): Promise<ManifestEntry[] | undefined> {
    const key = keys.manifest(repoId, run)
    const text = await this.store.getText(key)
    return text === undefined ? undefined : parseManifest(text, this.store.url(key))
  }

  private async requireManifest(repoId: string, run: string): Promise<ManifestEntry[]> {
    const manifest = await this.readManifest(repoId, run)
    if (manifest) return manifest
    if (!(await this.getRun(repoId, run))) throw new UserError(`no run \`${run}\` in ${repoId}`)
    throw new UserError(`run \`${run}\` in ${repoId} has no artifacts manifest (artifacts.json): it stored no artifacts`)
  }

  /** every file the manifest lists exists in the store with the listed size */
  async verifyManifest(repoId: string, run: string): Promise<ManifestCheck> {
    const manifest = await this.requireManifest(repoId, run)
    const root = keys.artifacts(repoId, run)
    const stored = new Map((await this.store.list(root)).map((o) => [o.key.slice(root.length), o.size]))
    const missing: string[] = []
    const wrongSize: ManifestCheck['wrongSize'] = []
    for (const e of manifest) {
      const size = stored.get(e.path)
      if (size === undefined) missing.push(e.path)
      else if (size !== e.size) wrongSize.push({ path: e.path, expected: e.size, actual: size })
    }
    const listed = new Set(manifest.map((e) => e.path))
    const unlisted = [...stored.keys()].filter((p) => !listed.has(p))
    return { ok: missing.length === 0 && wrongSize.length === 0, manifest, missing, wrongSize, unlisted }
  }

  /**
   * Downloads the run's artifacts (all, or those under `paths`) into `outDir/<path>` and checks
   * each file's size and sha256 against the manifest; a mismatch deletes the file and throws an
   * error naming it. Returns the entries downloaded.
   */
  async downloadArtifacts(repoId: string, run: string, outDir: string, opts: { paths?: string[] } = {}): Promise<ManifestEntry[]> {
    const manifest = await this.requireManifest(repoId, run)
    let entries = manifest
    if (opts.paths && opts.paths.length > 0) {
      const wanted = opts.paths.map((p) => normaliseRelativePath('artifact path', p))
      const under = (e: ManifestEntry, p: string): boolean => e.path === p || e.path.startsWith(p + '/')
      const unknown = wanted.filter((p) => !manifest.some((e) => under(e, p)))
      if (unknown.length > 0) {
        const have = [...new Set(manifest.map((e) => e.path.split('/')[0]))].join(', ') || '(none)'
        throw new UserError(`run \`${run}\` in ${repoId} has no artifact ${unknown.map((p) => `\`${p}\``).join(', ')}; it has: ${have}`)
      }
      entries = manifest.filter((e) => wanted.some((p) => under(e, p)))
    }
    const root = resolve(outDir)
    // a name a store key cannot hold (control characters, backslashes, bytes that are not UTF-8) is listed, not fetched
    const unkeyable = entries.filter((e) => e.rawPath !== undefined || !isKeyable(() => keys.artifacts(repoId, run, e.path)))
    entries = entries.filter((e) => !unkeyable.includes(e))
    await mapLimit(entries, 4, async (e) => {
      const dest = join(root, ...e.path.split('/'))
      if (!dest.startsWith(root + sep)) throw new Error(`artifact path escapes the output folder: ${e.path}`)
      await safeDestination(root, e.path)
      if (!(await this.store.getToFile(keys.artifacts(repoId, run, e.path), dest))) {
        throw new Error(`artifact \`${e.path}\` of run \`${run}\` is listed in artifacts.json but missing from the store`)
      }
      const size = (await fs.stat(dest)).size
      const sha = await sha256File(dest)
      if (size !== e.size || sha !== e.sha256) {
        await fs.rm(dest, { force: true })
        throw new Error(
          `artifact \`${e.path}\` of run \`${run}\` is corrupt: expected ${e.size} bytes sha256 ${e.sha256}, got ${size} bytes sha256 ${sha}`
        )
      }
    })
    if (unkeyable.length) {
      throw new UserError(
        `downloaded ${entries.length} artifact file(s) of run \`${run}\`, but not ${unkeyable.length} whose name${unkeyable.length > 1 ? 's hold' : ' holds'} control characters, backslashes or bytes that are not UTF-8: ${unkeyable.slice(0, 5).map((e) => JSON.stringify(e.path)).join(', ')}${unkeyable.length > 5 ? ', …' : ''}`,
        `copy them from ${this.artifactUrl(repoId, run)}`
      )
    }
    return entries
  }

  artifactUrl(repoId: string, run: string, path?: string): string {
    // a file whose name no key can hold (see downloadArtifacts) is found in the run's artifacts folder
    if (path !== undefined && typeof storedPath(path) === 'string' && !isKeyable(() => keys.artifacts(repoId, run, path))) return this.store.url(keys.artifacts(repoId, run))
    return this.store.url(keys.artifacts(repoId, run, path))
  }

  /** the links outputs, summaries and comments give for a run's artifacts */
  artifactLinks(r: { repoId: string; run: string }): { artifactUrl: (path: string) => string; artifactsUrl: string; storeUrl: (key: string) => string } {
    return { artifactUrl: (p) => this.artifactUrl(r.repoId, r.run, p), artifactsUrl: this.artifactUrl(r.repoId, r.run), storeUrl: (k) => this.store.url(k) }
  }

  // ---- code snapshots ------------------------------------------------------------------------

  /** stores `code/<sha256>.tar.gz` unless present; true when it uploaded */
  async putCodeSnapshot(sha: string, tarGz: Buffer): Promise<boolean> {
    const key = keys.code(sha)
    const actual = sha256(tarGz)
    if (actual !== sha) throw new Error(`code snapshot content has sha256 ${actual}, not ${sha}`)
    if (await this.store.exists(key)) return false
    return this.store.put(key, tarGz, { ifAbsent: true, contentType: 'application/gzip' })
  }

  /** the same from a file (multipart upload on S3 for big snapshots) */
  async putCodeSnapshotFile(sha: string, path: string): Promise<boolean> {
    const key = keys.code(assertSha256(sha))
    if (await this.store.exists(key)) return false
    const actual = await sha256File(path)
    if (actual !== sha) throw new Error(`code snapshot ${path} has sha256 ${actual}, not ${sha}`)
    await this.store.putFile(key, path, { contentType: 'application/gzip' })
    return true
  }

  // ---- tags ----------------------------------------------------------------------------------

  /**
   * A tag in one namespace: trusted runs' (`tags/`, the default) or untrusted runs' (`untrusted-tags/`).
   * The record's `trusted` says which namespace it was read from, never what the file claims.
   */
  async getTag(repoId: string, tag: string, trusted = true): Promise<TagRecord | undefined> {
    const t = await this.readRecord<TagRecord>(keys.tag(repoId, tag, trusted), 'tag')
    return t && { ...t, trusted }
  }

  /** the trusted tag, else (when `untrusted` is allowed) the untrusted one */
  async findTag(repoId: string, tag: string, opts: { untrusted?: boolean } = {}): Promise<TagRecord | undefined> {
    return (await this.getTag(repoId, tag)) ?? (opts.untrusted ? await this.getTag(repoId, tag, false) : undefined)
  }

  /** every tag of the repo, sorted by name (a trusted tag before an untrusted one of the same name) */
  async listTags(repoId: string): Promise<TagRecord[]> {
    return (await this.scanTags(repoId)).tags
  }

  /** every tag of the repo in both namespaces, sorted by name, and the tag files that are damaged */
  async scanTags(repoId: string): Promise<{ tags: TagRecord[]; damaged: { tag: string; error: DamagedRecordError }[] }> {
    const damaged: { tag: string; error: DamagedRecordError }[] = []
    const tags: TagRecord[] = []
    for (const trusted of [true, false]) {
      const prefix = trusted ? keys.tags(repoId) : keys.untrustedTags(repoId)
      const names = (await this.store.list(prefix))
        .map((o) => o.key.slice(prefix.length))
        .filter((k) => !k.includes('/') && k.endsWith('.json'))
        .map((k) => k.slice(0, -'.json'.length))
      const found = await mapLimit(names, CONCURRENCY, async (t) => {
        try {
          return await this.getTag(repoId, t, trusted)
        } catch (err) {
          if (err instanceof DamagedRecordError) damaged.push({ tag: t, error: err })
          else if (!(err instanceof UserError)) throw err // a file whose name is no valid tag
          return undefined
        }
      })
      tags.push(...found.filter((t): t is TagRecord => t !== undefined))
    }
    return {
      tags: tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : a.trusted === b.trusted ? 0 : a.trusted ? -1 : 1)),
      damaged: damaged.sort((a, b) => (a.tag < b.tag ? -1 : 1))
    }
  }

  private async tagNames(repoId: string): Promise<string> {
    const names = (await this.listTags(repoId)).map((t) => (t.trusted === false ? `${t.tag} (untrusted)` : t.tag))
    return names.length ? names.join(', ') : '(none)'
  }

  /**
   * Tags a succeeded run. An existing tag is never silently replaced: without `force` it is a
   * UserError (tagging the run it already points at again is a no-op); with `force` it moves.
   * The run's trust chooses the namespace: an untrusted run's tag is written under
   * `untrusted-tags/`, where no trusted look-up reads, so it can neither create nor move a tag
   * that trusted runs use.
   */
  async addTag(repoId: string, tag: string, run: string, opts: { force?: boolean } = {}): Promise<TagRecord> {
    const record = await this.getRun(repoId, run)
    if (!record) throw new UserError(`no run \`${run}\` in ${repoId}`)
    if (record.status !== 'succeeded') {
      throw new UserError(`cannot tag run \`${run}\`: its status is \`${record.status}\`; only succeeded runs can be tagged`)
    }
    const trusted = trustOf(record).trusted
    const tagKey = keys.tag(repoId, tag, trusted)
    const existing = await this.getTag(repoId, tag, trusted)
    const where = trusted ? '' : ' among the untrusted runs\' tags'
    if (existing && existing.run === run && !opts.force) return existing
    if (existing && !opts.force) {
      throw new UserError(`tag \`${tag}\` already exists${where} (run ${existing.run}); ${MOVE_TAG_HINT}`)
    }
    const manifestBytes = (await this.store.get(keys.manifest(repoId, run))) ?? Buffer.alloc(0)
    const rev = record.revision
    const tagRecord: TagRecord = {
      tag,
      run,
      workflow: record.workflow,
      repoId,
      revision: {
        sha: rev.sha,
        ...(rev.branch !== undefined ? { branch: rev.branch } : {}),
        ...(rev.ref !== undefined ? { ref: rev.ref } : {})
      },
      created_at: this.now().toISOString(),
      manifest_sha256: sha256(manifestBytes)
    }
    const written = await this.store.put(tagKey, toJson(tagRecord), { ifAbsent: !opts.force, contentType: JSON_TYPE })
    if (!written) {
      const other = await this.getTag(repoId, tag, trusted)
      throw new UserError(`tag \`${tag}\` already exists${where} (run ${other?.run ?? '?'}); ${MOVE_TAG_HINT}`)
    }
    if (existing && existing.run !== run) await this.updateRunTags(repoId, existing.run, (t) => t.filter((x) => x !== tag))
    await this.updateRunTags(repoId, run, (t) => (t.includes(tag) ? t : [...t, tag]))
    return { ...tagRecord, trusted }
  }

  /** deletes the trusted tag of that name, else the untrusted one */
  async deleteTag(repoId: string, tag: string): Promise<void> {
    const existing = await this.findTag(repoId, tag, { untrusted: true })
    if (!existing) throw new UserError(`no tag \`${tag}\` in ${repoId}; tags: ${await this.tagNames(repoId)}`)
    await this.store.delete(keys.tag(repoId, tag, existing.trusted !== false))
    await this.updateRunTags(repoId, existing.run, (t) => t.filter((x) => x !== tag))
  }

  private async updateRunTags(repoId: string, run: string, f: (tags: string[]) => string[]): Promise<void> {
    const record = await this.getRun(repoId, run)
    if (!record) return
    const tags = f(record.tags ?? [])
    if (JSON.stringify(tags) === JSON.stringify(record.tags ?? [])) return
    await this.saveRun({ ...record, tags })
  }

  // ---- deps ----------------------------------------------------------------------------------

  /**
   * The repo a dep points at: `dep.repo` as a full repo id (`host/owner/repo`), or `owner/repo`
   * on the current repo's host; the current repo when unset.
   */
  depRepo(repoId: string, dep: DepSpec): string {
    if (!dep.repo) return assertRepoId(repoId)
    const parts = dep.repo.split('/')
    const host = repoId.split('/')[0]!
    return assertRepoId(parts.length === 2 ? `${host}/${dep.repo}` : dep.repo)
  }

  /**
   * tag → its run; workflow → its latest succeeded run (by submittedAt); in `dep.repo` when set.
   * Only trusted runs, and tags of the trusted namespace, unless `untrusted` is allowed
   * (docs/trust-model.md): a pull request may depend on main's runs, never main on a pull request's.
   */
  async resolveDep(repoId: string, dep: DepSpec, opts: { untrusted?: boolean } = {}): Promise<ResolvedDepRun> {
    const target = this.depRepo(repoId, dep)
    if (dep.kind === 'tag') {
      const name = assertName('tag', dep.name)
      const tag = await this.findTag(target, name, opts)
      if (!tag) {
        const untrustedOne = opts.untrusted ? undefined : await this.getTag(target, name, false)
        if (untrustedOne) throw new UserError(`tag \`${name}\` in ${target} was made by an untrusted run (${untrustedOne.run}); trusted tags: ${await this.trustedTagNames(target)}`, UNTRUSTED_DEPS_HINT)
        throw new UserError(`no tag \`${name}\` in ${target}; tags: ${await this.tagNames(target)}`)
      }
      const run = await this.getRun(target, tag.run)
      if (!run) throw new UserError(`tag \`${name}\` in ${target} points at run \`${tag.run}\`, which no longer exists`)
      const trust = trustOf(run)
      // a tag file in the trusted namespace that points at an untrusted run was not written by this tool
      if (!trust.trusted && !opts.untrusted) {
        throw new UserError(`tag \`${name}\` in ${target} points at run \`${run.run}\`, which is ${trustLabel(trust)}: ${trust.why}`, UNTRUSTED_DEPS_HINT)
      }
      return { repoId: target, run, tag, trusted: trust.trusted, via: `${tag.trusted === false ? 'untrusted ' : ''}tag ${name}` }
    }
    const name = assertName('workflow name', dep.name)
    const { runs, damaged } = await this.scanRuns(target)
    if (damaged.length) {
      // one of them may be the latest succeeded run of this workflow: do not silently pick an older one
      throw new UserError(
        `cannot tell which run of workflow \`${name}\` in ${target} is the latest succeeded one: ${damaged.length} run record${damaged.length > 1 ? 's are' : ' is'} damaged: ` +
          damaged.slice(0, 3).map((d) => `${d.error.file} (${d.error.why})`).join('; ') + (damaged.length > 3 ? `; and ${damaged.length - 3} more` : ''),
        'repair or delete the damaged run.json files, or depend on a tag instead'
      )
    }
    const succeeded = runs.filter((r) => r.workflow === name && r.status === 'succeeded')
    const found = opts.untrusted ? succeeded[0] : succeeded.find((r) => trustOf(r).trusted)
    if (found) {
      const trusted = trustOf(found).trusted
      return { repoId: target, run: found, trusted, via: `latest ${opts.untrusted ? '' : 'trusted '}succeeded run of ${name}` }
    }
    if (succeeded.length > 0) {
      throw new UserError(
        `no trusted succeeded run of workflow \`${name}\` in ${target}; untrusted ones: ` +
          succeeded.slice(0, 3).map((r) => `${r.run} (${trustLabel(trustOf(r))})`).join(', ') + (succeeded.length > 3 ? `, and ${succeeded.length - 3} more` : ''),
        `run \`${name}\` on the default branch (or a protected one) first; ${UNTRUSTED_DEPS_HINT}`
      )
    }
    const ofWorkflow = runs.filter((r) => r.workflow === name)
    let what: string
    if (ofWorkflow.length > 0) {
      what = `runs of \`${name}\`: ` + ofWorkflow.slice(0, 5).map((r) => `${r.run} (${r.status})`).join(', ') +
        (ofWorkflow.length > 5 ? `, and ${ofWorkflow.length - 5} more` : '')
    } else {
      const ok = [...new Set(runs.filter((r) => r.status === 'succeeded').map((r) => r.workflow))].sort()
      what = `workflows with succeeded runs: ${ok.length ? ok.join(', ') : '(none)'}`
    }
    throw new UserError(`no succeeded run of workflow \`${name}\` in ${target}; ${what}`)
  }

  private async trustedTagNames(repoId: string): Promise<string> {
    const names = (await this.listTags(repoId)).filter((t) => t.trusted !== false).map((t) => t.tag)
    return names.length ? names.join(', ') : '(none)'
  }

  /** resolves every dep; a UserError lists every dep that failed, not just the first */
  async resolveDeps(repoId: string, deps: DepSpec[], opts: { untrusted?: boolean } = {}): Promise<({ dep: DepSpec } & ResolvedDepRun)[]> {
    const results = await Promise.allSettled(deps.map((d) => this.resolveDep(repoId, d, opts)))
    const problems: string[] = []
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') continue
      if (!(r.reason instanceof UserError)) throw r.reason
      problems.push(`${describeDep(deps[i]!)}: ${r.reason.message}`)
    }
    if (problems.length === 1) throw new UserError(`cannot resolve dep ${problems[0]}`)
    if (problems.length > 1) throw new UserError(`cannot resolve ${problems.length} deps:\n- ${problems.join('\n- ')}`)
    return results.map((r, i) => ({ dep: deps[i]!, ...(r as PromiseFulfilledResult<ResolvedDepRun>).value }))
  }
}
