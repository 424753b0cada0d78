/**
 * `dstack-run cache list [--workflow W] [--json]` and `dstack-run cache rm KEY [--workflow W]
 * [--path P] [--untrusted]`: the `cache` entries this repository's runs saved (docs/cache.md).
 */
import type { Command } from 'commander'
import { printTable } from './cli-views.js'
import { listCaches, removeCache, assertCacheKey } from '../store/caches.js'
import { UserError } from '../model/errors.js'
import { plural } from '../model/index.js'
import type { StoreOpts, VerbDeps } from './cli-shared.js'

export function registerCacheCommand(program: Command, d: VerbDeps): void {
  const cache = program.command('cache').description('list or remove the `cache` entries runs of this repository saved (docs/cache.md)')
  d.withStore(cache.command('list'))
    .description('list the cache entries, newest first: workflow, path, key, size, namespace')
    .option('--workflow <name>', 'only this workflow\'s entries')
    .option('--json', 'JSON output')
    .action(async (o: StoreOpts & { workflow?: string; json?: boolean }) => {
      const c = await d.ctx(o)
      const list = await listCaches(c.store.store, await c.repoId(), { ...(o.workflow ? { workflow: o.workflow } : {}), trusted: 'both' })
      if (o.json) return void d.json(list)
      printTable(d.io.out, ['WORKFLOW', 'PATH', 'KEY', 'SIZE', 'CREATED', 'RUN', 'NAMESPACE'], list.map((e) => [e.workflow, e.path, e.key, String(e.size), e.createdAt.replace('T', ' ').slice(0, 19), e.run, e.trusted ? 'trusted' : 'untrusted']))
    })
  d.withStore(cache.command('rm'))
    .description('remove the cache entries with this key (every workflow and path, unless narrowed)')
    .argument('<key>', 'the entry\'s key')
    .option('--workflow <name>', 'only this workflow\'s entries')
    .option('--path <path>', 'only the entries of this cached path, as the workflow lists it')
    .option('--untrusted', 'the untrusted runs\' entries (default: the trusted ones)')
    .action(async (key: string, o: StoreOpts & { workflow?: string; path?: string; untrusted?: boolean }) => {
      assertCacheKey(key)
      const c = await d.ctx(o)
      const list = (await listCaches(c.store.store, await c.repoId(), { ...(o.workflow ? { workflow: o.workflow } : {}), trusted: !o.untrusted })).filter((e) => e.key === key && (o.path === undefined || e.path === o.path))
      if (!list.length) throw new UserError(`no ${o.untrusted ? 'untrusted' : 'trusted'} cache entry has the key ${key}${o.workflow ? ` in workflow ${o.workflow}` : ''}`, '`dstack-run cache list` shows the entries and their namespace')
      for (const e of list) await removeCache(c.store.store, e)
      d.io.err.write(`removed ${plural(list.length, 'cache entry')}: ${list.map((e) => `${e.workflow} ${e.path}`).join(', ')}\n`)
    })
}
