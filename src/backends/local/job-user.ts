/**
 * The local backend's job user (runner/body/jobuser.sh): with DSTACK_JOB_USER=auto (the default) or a
 * user name, the runner runs the job as its own unprivileged OS user when it can: as root, or with a
 * passwordless `sudo -n`. Where it cannot, the job runs as the action's own user and can reach what
 * that user can (docs/trust-model.md); this says so in a warning before the run starts.
 */
import { spawnSync } from 'node:child_process'

export type JobUserMode = 'off' | 'auto' | { name: string }

/** DSTACK_JOB_USER: off | auto (default) | a user name */
export function jobUserMode(environ: Record<string, string | undefined>): JobUserMode {
  const v = (environ.DSTACK_JOB_USER ?? '').trim()
  if (['off', '0', 'false', 'no'].includes(v)) return 'off'
  if (['', 'auto', 'on', '1', 'true', 'yes'].includes(v)) return 'auto'
  return { name: v }
}

let probed: boolean | undefined
/** this process may switch users: it is root, or `sudo -n true` works (asked once) */
export function canSwitchUser(): boolean {
  if (probed !== undefined) return probed
  if (process.getuid?.() === 0) return (probed = true)
  const r = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5000 })
  return (probed = r.status === 0)
}

/**
 * Pure: the warning for a local run whose job cannot run as its own user (undefined: it can, it
 * runs in an image, or DSTACK_JOB_USER=off turned it off on purpose, which the job's log says)
 */
export function jobUserWarning(mode: JobUserMode, opts: { image?: string; canSwitch: boolean }): string | undefined {
  if (mode === 'off' || opts.image || opts.canSwitch) return undefined
  return (
    `the job runs as this process's own OS user (it is not root and has no passwordless sudo to run the job as a separate user): it can read this process's environment through /proc (the CI's tokens among it), ` +
    `write the CI's command files (GITHUB_ENV, GITHUB_OUTPUT, …), a folder store and the runner's folder. ` +
    `Run untrusted code (pull requests) where the runner is root or has passwordless sudo (GitHub-hosted runners, most CI images), with an image, or on the aws backend (docs/trust-model.md)`
  )
}
