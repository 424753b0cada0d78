/**
 * `cache` (docs/cache.md): a first run saves a folder of random files (500 MB: 50 files of 10 MB)
 * to the run store, a second run of the same commit on a clean home restores it. Both times are
 * the runner's own, as its log reports them ("saved key … in N s", "restored key … in N s"): the
 * save packs (tar + zstd), hashes and stores the archive; the restore checks its sha256 and unpacks.
 * The CLI from the sources (tsx), the local backend, a folder store.
 * Alone: `node --import tsx bench/parts/cache.ts [MB]`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../../__tests__/helpers/git-repo.js'

const ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(ROOT, 'src/entry/cli-index.ts')
const REPO_ID = 'github.com/acme/ml-demo'

export interface CacheFigures {
  bytes: number
  saveMs: number
  restoreMs: number
}

function runCli(repo: string, store: string, home: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', 'cached', '-C', repo, '--backend', 'local', '--comment', 'false', '--store', store], {
      cwd: ROOT,
      env: { ...process.env, HOME: home, DSTACK_WORK_ROOT: join(home, 'work'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => {
      const run = /^run (\S+) succeeded$/m.exec(err)?.[1]
      if (code === 0 && run) resolve(run)
      else reject(new Error(`the cached run exited ${code}: ${err.slice(-1500)}`))
    })
  })
}

function runLog(store: string, run: string): string {
  const dir = join(store, REPO_ID, 'runs', run, 'attempts', '1', 'logs')
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
}

function seconds(log: string, what: 'saved' | 'restored'): number {
  const m = new RegExp(`cache ~/\\.cache/bench: ${what} key \\S+ \\([^)]*\\) in (\\d+)\\.(\\d) s`).exec(log)
  if (!m) throw new Error(`no "${what}" line in the run's log:\n${log.slice(-1500)}`)
  return Number(m[1]) * 1000 + Number(m[2]) * 100
}

export async function cacheSaveRestore(files = 50, fileBytes = 10 * 1024 * 1024): Promise<CacheFigures> {
  const repo = makeRepo({
    'cached.dstack.yml': [
      'type: task',
      'name: cached',
      'cache:',
      '  - ~/.cache/bench',
      'commands:',
      `  - if [ -d ~/.cache/bench ]; then test "$(ls ~/.cache/bench | wc -l)" = ${files}; else mkdir -p ~/.cache/bench && for i in $(seq 1 ${files}); do head -c ${fileBytes} /dev/urandom > ~/.cache/bench/f$i.bin; done; fi`,
      ''
    ].join('\n')
  })
  const tmp = mkdtempSync(join(tmpdir(), 'bench-cache-'))
  chmodSync(tmp, 0o755) // the job's own user passes through to the work root, as with the default one
  try {
    const store = join(tmp, 'store')
    const first = await runCli(repo.dir, store, join(tmp, 'home1'))
    // a fresh machine: nothing in its home
    const second = await runCli(repo.dir, store, join(tmp, 'home2'))
    return { bytes: files * fileBytes, saveMs: seconds(runLog(store, first), 'saved'), restoreMs: seconds(runLog(store, second), 'restored') }
  } finally {
    repo.cleanup()
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mb = Number(process.argv[2] ?? 500)
  console.log(JSON.stringify(await cacheSaveRestore(Math.max(1, Math.round(mb / 10)), 10 * 1024 * 1024)))
}
