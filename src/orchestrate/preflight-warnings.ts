/**
 * Warnings worth reading before a run starts, each with its fix: a file a command names that git
 * does not track (so it is not in the code snapshot), and a GPU request on a local machine that has
 * no GPU (so the job runs on CPU, or fails, minutes later). Pure checks; the probes are at the end.
 */
import { existsSync, readdirSync } from 'node:fs'
import { delimiter, join, posix } from 'node:path'
import type { RunSpec } from '../model/index.js'
import { plural } from '../model/index.js'

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** the untracked files (repo-relative) that a command or setup line names, by path from the repo root or the working folder */
export function untrackedNamedByCommands(spec: Pick<RunSpec, 'commands' | 'setup' | 'workingDir'>, untracked: string[]): string[] {
  const text = [...spec.setup, ...spec.commands].join('\n')
  const wd = spec.workingDir === '.' || spec.workingDir === '' ? '' : spec.workingDir.replace(/\/+$/, '') + '/'
  return untracked.filter((file) => {
    const forms = [file]
    if (wd && file.startsWith(wd)) forms.push(file.slice(wd.length))
    return forms.some((f) => new RegExp(`(^|[\\s'"=(:])(\\./)?${escapeRe(f)}($|[\\s'";)<>|&,:])`, 'm').test(text))
  })
}

export function untrackedWarning(workflow: string, files: string[]): string | undefined {
  if (!files.length) return undefined
  const list = files.map((f) => `\`${f}\``).join(', ')
  return (
    `workflow \`${workflow}\` names ${list}, which git does not track: ${files.length === 1 ? 'it is' : 'they are'} not sent with the run's code. ` +
    `Commit ${files.length === 1 ? 'it' : 'them'} (git add ${files.map((f) => posix.normalize(f)).join(' ')}), or send untracked files with --include-untracked (action / component input include-untracked: true)`
  )
}

/** the `resources.gpu` request in dstack's words, e.g. `A10G:1`, `24GB..:2`, `1` */
export function describeGpuRequest(gpu: NonNullable<RunSpec['resources']['gpu']>): string {
  const parts: string[] = []
  if (gpu.vendor) parts.push(gpu.vendor)
  if (gpu.names.length) parts.push(gpu.names.join(','))
  const c = gpu.count
  parts.push(c.min === c.max ? String(c.min ?? 1) : `${c.min ?? ''}..${c.max ?? ''}`)
  return parts.join(':')
}

/** a GPU request that this host cannot serve; undefined when the run is not local, asks for no GPU, or a GPU is there */
export function gpuWarning(spec: Pick<RunSpec, 'workflow' | 'resources'>, backend: string, hostHasGpu: boolean): string | undefined {
  const gpu = spec.resources.gpu
  if (backend !== 'local' || !gpu || hostHasGpu) return undefined
  if (gpu.count.max === 0) return undefined
  return (
    `workflow \`${spec.workflow}\` asks for ${plural(gpu.count.min ?? 1, 'GPU')} (resources.gpu: ${describeGpuRequest(gpu)}), but this host has none ` +
    `(no /dev/nvidia*, /dev/kfd or nvidia-smi): the job runs without one. Run it on a GPU instance with --backend aws ` +
    `(action / component input backend: aws), or drop resources.gpu from the workflow`
  )
}

/** an NVIDIA or AMD GPU device, or nvidia-smi on PATH */
export function hostHasGpu(environ: Record<string, string | undefined> = process.env): boolean {
  try {
    if (readdirSync('/dev').some((d) => /^nvidia\d+$/.test(d) || d === 'kfd')) return true
  } catch {
    /* no /dev: keep looking */
  }
  return (environ.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'nvidia-smi')))
}
