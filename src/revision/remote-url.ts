/**
 * Git remote URLs → repository ids (`host[:port]/owner/repo`) and credential-free web URLs.
 * Pure. A token in a remote URL (`https://user:token@host/…`, `https://token@host/…`) never
 * reaches the result.
 */
import { assertRepoId } from '../model/names.js'
import { UserError } from '../model/errors.js'

interface ParsedRemote {
  /** lower-case host, with the port only for http(s) on a non-default port */
  host: string
  /** `owner/repo` or `group/sub/repo`, without `.git` */
  path: string
  /** `https:` or `http:` for web remotes; `https:` assumed for ssh, scp-like and git:// remotes */
  webScheme: 'https:' | 'http:'
}

const SCP_RE = /^(?:[^@/\s]+@)?(\[[^\]]+\]|[^:/\s]+):(?!\/\/)(.+)$/

function cleanPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '')
}

/** undefined for local paths and `file://` URLs (no host to name the repository by) */
function parseRemote(url: string): ParsedRemote | undefined {
  const raw = url.trim()
  if (!raw || raw.startsWith('/') || raw.startsWith('.') || raw.startsWith('~') || /^file:/i.test(raw)) return undefined
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let u: URL
    let path: string
    try {
      u = new URL(raw)
      path = cleanPath(decodeURIComponent(u.pathname))
    } catch {
      return undefined
    }
    const scheme = u.protocol.toLowerCase()
    if (!u.hostname) return undefined
    const web = scheme === 'https:' || scheme === 'http:'
    // the ssh / git daemon port is a transport detail: the same repository is reached on the
    // web (and named by CI) without it, so it is left out to keep laptop and CI ids equal
    const host = web && u.port ? `${u.hostname}:${u.port}` : u.hostname
    return { host: host.toLowerCase(), path, webScheme: scheme === 'http:' ? 'http:' : 'https:' }
  }
  const scp = SCP_RE.exec(raw)
  if (scp) return { host: scp[1].toLowerCase(), path: cleanPath(scp[2]), webScheme: 'https:' }
  return undefined
}

function redacted(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@')
}

/**
 * `git@github.com:owner/repo.git`, `https://github.com/owner/repo(.git)`,
 * `ssh://git@host:2222/group/sub/repo.git`, `https://user:token@host/x/y.git` →
 * `github.com/owner/repo`, `host/group/sub/repo`, `host/x/y`. Throws a UserError for local paths
 * and anything that does not give a valid repository id (the message never echoes credentials).
 */
export function repoIdFromRemoteUrl(url: string): string {
  const parsed = parseRemote(url)
  if (!parsed) {
    throw new UserError(
      `cannot name the repository after the git remote ${JSON.stringify(redacted(url))}: expected host/owner/repo`,
      'use a remote such as git@github.com:owner/repo.git or https://host/owner/repo.git'
    )
  }
  try {
    return assertRepoId(`${parsed.host}/${parsed.path}`)
  } catch (e) {
    throw new UserError(
      `cannot name the repository after the git remote ${JSON.stringify(redacted(url))}: ${(e as Error).message}`,
      'use a remote such as git@github.com:owner/repo.git or https://host/owner/repo.git'
    )
  }
}

/** repoIdFromRemoteUrl, or undefined instead of an error */
export function tryRepoIdFromRemoteUrl(url: string): string | undefined {
  try {
    return repoIdFromRemoteUrl(url)
  } catch {
    return undefined
  }
}

/**
 * The project's web URL for a remote (`git@github.com:o/r.git` → `https://github.com/o/r`), without
 * credentials; undefined for local paths. ssh remotes are assumed to have an https web UI on the
 * same host, as github.com and gitlab.com do.
 */
export function webUrlFromRemoteUrl(url: string): string | undefined {
  const parsed = parseRemote(url)
  if (!parsed || !tryRepoIdFromRemoteUrl(url)) return undefined
  return `${parsed.webScheme}//${parsed.host}/${parsed.path}`
}

function sanitisePart(s: string, fallback: string): string {
  const cleaned = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9._-]+/gi, '-')
    .replace(/^[-.]+/, '')
    .replace(/[-.]+$/, '')
    .slice(0, 100)
  return cleaned || fallback
}

/**
 * `local/<user>/<folder>-<fingerprint>` for a checkout without a usable remote, sanitised for
 * assertRepoId. The fingerprint (read-revision.ts `localFingerprint`) tells apart two projects in
 * folders of the same name; without one (older callers), `local/<user>/<folder>`.
 */
export function localRepoId(user: string, folder: string, fingerprint?: string): string {
  const suffix = fingerprint ? `-${fingerprint.toLowerCase().replace(/[^0-9a-f]/g, '').slice(0, 12)}` : ''
  return assertRepoId(`local/${sanitisePart(user, 'user')}/${sanitisePart(folder, 'repo').slice(0, 100 - suffix.length)}${suffix}`)
}
