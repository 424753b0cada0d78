/**
 * The one place that runs git: a small interface over `child_process.spawn`, so the revision code
 * reads as a sequence of git questions and tests can see exactly what was asked.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'

export interface GitRunOptions {
  /** written to git's stdin */
  input?: Buffer | string
  /** extra environment (e.g. GIT_INDEX_FILE for a temporary index) */
  env?: Record<string, string>
  /** exit codes that are not failures (default: only 0) */
  okExitCodes?: number[]
}

export interface GitResult {
  code: number
  stdout: Buffer
  stderr: string
}

export interface Git {
  /** the folder git runs in */
  readonly cwd: string
  /** run to completion; throws GitError on an exit code not in okExitCodes */
  run(args: string[], opts?: GitRunOptions): Promise<GitResult>
  /** stdout as trimmed text */
  text(args: string[], opts?: GitRunOptions): Promise<string>
  /** stdout as trimmed text, or undefined when git fails */
  tryText(args: string[], opts?: GitRunOptions): Promise<string | undefined>
  /** a long-running git process for streaming (the caller owns its stdio) */
  spawn(args: string[], opts?: Pick<GitRunOptions, 'env'>): ChildProcessWithoutNullStreams
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
    readonly spawnError?: NodeJS.ErrnoException
  ) {
    super(
      spawnError
        ? `git ${args[0] ?? ''} could not start: ${spawnError.message}`
        : `git ${args.join(' ').slice(0, 200)} failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`
    )
    this.name = 'GitError'
  }
}

/** Variables a surrounding git (a hook, a script) may have set that would redirect our git calls. */
const INHERITED_GIT_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_CEILING_DIRECTORIES'
]

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of INHERITED_GIT_VARS) delete env[k]
  // read-only questions must not rewrite the user's index; never prompt; stable messages
  env.GIT_OPTIONAL_LOCKS = '0'
  env.GIT_TERMINAL_PROMPT = '0'
  env.LC_ALL = 'C'
  return { ...env, ...extra }
}

class SpawnedGit implements Git {
  constructor(readonly cwd: string) {}

  spawn(args: string[], opts: Pick<GitRunOptions, 'env'> = {}): ChildProcessWithoutNullStreams {
    return spawn('git', args, { cwd: this.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
  }

  run(args: string[], opts: GitRunOptions = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, opts)
      const out: Buffer[] = []
      const err: Buffer[] = []
      let spawnError: NodeJS.ErrnoException | undefined
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => err.push(c))
      child.on('error', (e: NodeJS.ErrnoException) => {
        spawnError = e
      })
      child.stdin.on('error', () => {
        // git may exit before reading all of its input; the exit code tells what happened
      })
      child.on('close', (code) => {
        const stderr = Buffer.concat(err).toString('utf8')
        if (spawnError || code === null || !(opts.okExitCodes ?? [0]).includes(code)) {
          reject(new GitError(args, code, stderr, spawnError))
        } else {
          resolve({ code, stdout: Buffer.concat(out), stderr })
        }
      })
      child.stdin.end(opts.input ?? '')
    })
  }

  async text(args: string[], opts?: GitRunOptions): Promise<string> {
    return (await this.run(args, opts)).stdout.toString('utf8').trim()
  }

  async tryText(args: string[], opts?: GitRunOptions): Promise<string | undefined> {
    try {
      return await this.text(args, opts)
    } catch (e) {
      if (e instanceof GitError && !e.spawnError) return undefined
      throw e
    }
  }
}

/** git running in `cwd` with the caller's environment minus variables that would redirect it */
export function gitAt(cwd: string): Git {
  return new SpawnedGit(cwd)
}
