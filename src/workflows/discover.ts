/**
 * Where workflow files live: `.dstack/workflows.yaml`/`.yml`, `*.yaml`/`*.yml` directly in
 * `.dstack/workflows/`, and `*.dstack.yml`/`*.dstack.yaml` anywhere git does not ignore.
 */
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const SEED_FILES = ['.dstack/workflows.yaml', '.dstack/workflows.yml']
const SEED_DIR = '.dstack/workflows'
const TASK_FILE_RE = /(^|\/)[^/]*\.dstack\.ya?ml$/
const SKIP_DIRS = new Set(['.git', 'node_modules'])

/** `.dstack.yml`, `train.dstack.yml`, `a/b/x.dstack.yaml` (repo-relative, forward slashes) */
export function isTaskFile(rel: string): boolean {
  return TASK_FILE_RE.test(rel)
}

/** a seed-era file by location: `.dstack/workflows.y(a)ml` or `.dstack/workflows/*.y(a)ml` */
export function isSeedFile(rel: string): boolean {
  return SEED_FILES.includes(rel) || /^\.dstack\/workflows\/[^/]+\.ya?ml$/.test(rel)
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}

/** files git would see (tracked plus untracked, not ignored); undefined when this is no git checkout */
async function gitFiles(repoDir: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: repoDir,
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' }
    })
    return stdout.split('\0').filter(Boolean)
  } catch {
    return undefined
  }
}

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  let entries
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true })
  } catch {
    return out
  }
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) out.push(...(await walk(root, p)))
    else if (e.isFile()) out.push(p)
  }
  return out
}

export async function discoverWorkflowFiles(repoDir: string): Promise<string[]> {
  const found = new Set<string>()
  for (const f of SEED_FILES) if (await isFile(join(repoDir, f))) found.add(f)
  try {
    for (const e of await readdir(join(repoDir, SEED_DIR), { withFileTypes: true })) {
      const rel = `${SEED_DIR}/${e.name}`
      if (/\.ya?ml$/.test(e.name) && (e.isFile() || (e.isSymbolicLink() && (await isFile(join(repoDir, rel)))))) found.add(rel)
    }
  } catch {
    // no .dstack/workflows folder
  }
  const listed = (await gitFiles(repoDir)) ?? (await walk(repoDir))
  for (const rel of listed) {
    if (isTaskFile(rel) && !isSeedFile(rel) && (await isFile(join(repoDir, rel)))) found.add(rel)
  }
  return [...found].sort()
}
