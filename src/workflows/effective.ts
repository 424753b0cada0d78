/**
 * The settings whose run-action defaults differ from dstack's (docs/dstack-differences.md, "Where
 * run-action differs from dstack"): their effective value, where it came from, and dstack's own
 * default, for `validate`. Pure.
 */
import type { RunSpec } from '../model/index.js'

export interface EffectiveSetting {
  setting: 'spot_policy' | 'retry' | 'max_duration'
  value: string
  /** `file` when the workflow sets it, else the run-action default */
  from: 'file' | 'run-action default'
  /** what dstack does when the file leaves it out */
  dstackDefault: string
}

const hours = (sec: number) => (sec % 3600 === 0 ? `${sec / 3600}h` : sec % 60 === 0 ? `${sec / 60}m` : `${sec}s`)

export function effectiveSettings(spec: RunSpec): EffectiveSetting[] {
  const from = (k: EffectiveSetting['setting']): EffectiveSetting['from'] => (spec.fromFile?.includes(k) ? 'file' : 'run-action default')
  const seed = spec.format === 'workflows.yaml'
  return [
    { setting: 'spot_policy', value: spec.spotPolicy, from: from('spot_policy'), dstackDefault: seed ? 'on-demand (interruptible: false)' : 'on-demand' },
    {
      setting: 'retry',
      value: spec.retry.onEvents.length ? `${spec.retry.onEvents.join(', ')} for ${hours(spec.retry.durationSec)}` : 'off',
      from: from('retry'),
      dstackDefault: 'off'
    },
    { setting: 'max_duration', value: hours(spec.maxDurationSec), from: from('max_duration'), dstackDefault: 'off (no limit)' }
  ]
}
