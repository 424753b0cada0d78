/**
 * Validation of every name that reaches an S3 key, a path or a shell script (DESIGN.md
 * "Store layout"): run and tag names, workflow names, artifact paths, repo ids.
 * Each check throws a UserError that names the value, what is wrong and the rule.
 */
import { UserError } from './errors.js'

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/i
const REPO_ID_RE = /^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+){2,}$/i

function check(kind: string, value: string, ok: boolean, rule: string): void {
  if (!ok) throw new UserError(`invalid ${kind} ${JSON.stringify(value)}: ${rule}`)
}

/** run, tag and workflow names: letters, digits, `.`, `_`, `-`; 1–100 chars; not `.`/`..` */
export function assertName(kind: 'run name' | 'tag' | 'workflow name', value: string): string {
  check(kind, value, typeof value === 'string' && NAME_RE.test(value) && !/^\.+$/.test(value),
    'use 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit')
  return value
}

/** `host[:port]/owner/repo` (owner may have sub-groups, as on GitLab) */
export function assertRepoId(value: string): string {
  check('repository id', value, typeof value === 'string' && REPO_ID_RE.test(value) &&
    !value.split('/').some((p) => p === '.' || p === '..'),
    'expected host/owner/repo with letters, digits, ".", "_" or "-" in each part')
  return value
}

/**
 * A relative path inside the working folder: forward slashes, no `..`, no absolute path,
 * no control characters. Returns it normalised (no `./`, no duplicate or trailing slash).
 */
export function normaliseRelativePath(kind: string, value: string): string {
  check(kind, value, typeof value === 'string' && value.length > 0 && value.length <= 1024, 'must be 1–1024 characters')
  // eslint-disable-next-line no-control-regex
  check(kind, value, !/[\u0000-\u001f\u007f\\]/.test(value), 'must not contain control characters or backslashes')
  check(kind, value, !value.startsWith('/') && !value.startsWith('~'), 'must be relative to the working directory')
  const parts = value.split('/').filter((p) => p !== '' && p !== '.')
  check(kind, value, !parts.includes('..'), 'must not contain ".."')
  check(kind, value, parts.length > 0, 'must name something inside the working directory')
  return parts.join('/')
}

/**
 * An absolute path on the machine or in the container a run owns (an absolute `working_dir` or
 * artifact path): no `..`, no control characters or backslashes, not `/` itself. Returns it
 * normalised (`/a/b`, no `.` parts, no duplicate or trailing slash).
 */
export function normaliseAbsolutePath(kind: string, value: string): string {
  check(kind, value, typeof value === 'string' && value.length > 1 && value.length <= 1024 && value.startsWith('/'), 'must be an absolute path of 2–1024 characters')
  // eslint-disable-next-line no-control-regex
  check(kind, value, !/[\u0000-\u001f\u007f\\]/.test(value), 'must not contain control characters or backslashes')
  const parts = value.split('/').filter((p) => p !== '' && p !== '.')
  check(kind, value, !parts.includes('..'), 'must not contain ".."')
  check(kind, value, parts.length > 0, 'must name a folder below /')
  return '/' + parts.join('/')
}

/** where an absolute artifact path `/P` is kept in the store and the manifest: `_root/P` */
export const ROOT_ARTIFACT_PREFIX = '_root'
export function artifactStorePath(path: string): string {
  return path.startsWith('/') ? `${ROOT_ARTIFACT_PREFIX}${path}` : path
}
