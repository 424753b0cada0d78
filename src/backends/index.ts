/**
 * Backend factory. The AWS backend (and the AWS SDK's EC2/SSM clients, ~0.4 s of start-up when
 * loaded: reference/build-chain.md) is imported only when asked for, so local runs and the other
 * CLI verbs never pay for it.
 */
import type { Backend } from '../model/index.js'
import { UserError } from '../model/index.js'
import { LocalBackend } from './local/index.js'

export type BackendName = 'local' | 'aws'

export interface BackendOptions {
  /** local: let the runner outlive this process (`run -d`) */
  detached?: boolean
  /** local: the environment the runner's own is built from (default process.env; the CLI passes its own) */
  environ?: Record<string, string | undefined>
  /** aws: options passed through to the AWS backend */
  aws?: Record<string, unknown>
}

export function parseBackendName(v: string | undefined): BackendName {
  const name = (v ?? 'local').trim() || 'local'
  if (name !== 'local' && name !== 'aws') throw new UserError(`unknown backend ${JSON.stringify(name)}`, 'use `local` (this machine) or `aws` (spot GPU EC2 through SSM)')
  return name
}

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  if (name === 'local') return new LocalBackend({ detached: opts.detached, environ: opts.environ })
  const aws = await import('./aws/index.js')
  return aws.createAwsBackend(opts.aws ?? {})
}
