/**
 * `cache` for real (docs/cache.md): the CLI, the local backend, a folder store. The first run saves
 * its folders, the next restores them; `key` / `restore_keys` choose as actions/cache does.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, cli, repoWith, runDir, runNameOf, tempDir } from '../hostile/cli-harness.js'

afterAll(cleanup)

function logOf(store: string, run: string): string {
  const dir = join(runDir(store, run), 'attempts', '1', 'logs')
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('')
}

describe('cache on the local backend', () => {
  it('the first run saves `~/…` and relative folders, the second restores them; an exact key is not saved again', async () => {
    const home = tempDir('cache-home-')
    const environ = { PATH: process.env.PATH, HOME: home }
    const repo = repoWith({
      'train.dstack.yml': [
        'type: task',
        'name: train',
        'cache:',
        '  - ~/.cache/pip',
        '  - path: data',
        '    key: data-v1',
        'commands:',
        '  - echo "pip=[$(cat ~/.cache/pip/wheel.txt 2>/dev/null)] data=[$(cat data/set.txt 2>/dev/null)]"',
        '  - mkdir -p ~/.cache/pip data && echo wheel > ~/.cache/pip/wheel.txt && echo rows > data/set.txt',
        ''
      ].join('\n')
    })
    const store = tempDir('cache-store-')
    const r1 = await cli(repo, ['run', 'train', '--store', store], environ)
    expect(r1.code).toBe(0)
    const log1 = logOf(store, runNameOf(r1))
    expect(log1).toContain('pip=[] data=[]\n')
    expect(log1).toMatch(/cache ~\/\.cache\/pip: saved key git-[0-9a-f]{12} \(/)
    expect(log1).toMatch(/cache data: saved key data-v1 \(/)
    // the entries live under the repository's caches; a local run is untrusted, so under untrusted-caches
    const root = join(store, 'github.com', 'acme', 'ml-demo', 'untrusted-caches', 'train')
    expect(existsSync(root)).toBe(true)

    // the machine's copy is gone (a fresh machine): the second run gets it from the store
    rmSync(join(home, '.cache'), { recursive: true, force: true })
    const r2 = await cli(repo, ['run', 'train', '--store', store], environ)
    expect(r2.code).toBe(0)
    const log2 = logOf(store, runNameOf(r2))
    expect(log2).toContain('pip=[wheel] data=[rows]\n')
    expect(log2).toMatch(/cache data: restored key data-v1 \(/)
    // same commit: the default key is restored exactly, so neither is saved again
    expect(log2).not.toContain('saved key')
    expect(r2.err).toMatch(/cache data: restoring key data-v1/)

    // `cache list` shows both entries; `cache rm` removes one, so the next run starts without it
    const list = await cli(repo, ['cache', 'list', '--store', store, '--json'], environ)
    expect(list.code).toBe(0)
    const entries = JSON.parse(list.out) as { path: string; key: string; trusted: boolean }[]
    expect(entries.map((e) => [e.path, e.trusted]).sort()).toEqual([['data', false], ['~/.cache/pip', false]])
    expect((await cli(repo, ['cache', 'rm', 'data-v1', '--store', store], environ)).code).toBe(1) // the trusted namespace has none
    const rm = await cli(repo, ['cache', 'rm', 'data-v1', '--untrusted', '--store', store], environ)
    expect(rm.code).toBe(0)
    expect(rm.err).toContain('removed 1 cache entry: train data')
    rmSync(join(home, '.cache'), { recursive: true, force: true })
    const r3 = await cli(repo, ['run', 'train', '--store', store], environ)
    expect(logOf(store, runNameOf(r3))).toContain('pip=[wheel] data=[]\n')
  })

  it('a failed job saves nothing; a restore never replaces a file that is there', async () => {
    const home = tempDir('cache-home-')
    const environ = { PATH: process.env.PATH, HOME: home }
    const repo = repoWith({
      'fail.dstack.yml': ['type: task', 'name: fail', 'cache: [out]', 'commands:', '  - mkdir -p out && echo x > out/f', '  - exit 3', ''].join('\n'),
      'keep.dstack.yml': ['type: task', 'name: keep', 'cache: [data]', 'commands:', '  - cat data/kept.txt', '  - echo changed > data/kept.txt', ''].join('\n'),
      'data/kept.txt': 'from the repository\n'
    })
    const store = tempDir('cache-store-')
    const r = await cli(repo, ['run', 'fail', '--store', store], environ)
    expect(r.code).toBe(3)
    expect(existsSync(join(store, 'github.com', 'acme', 'ml-demo', 'untrusted-caches', 'fail'))).toBe(false)
    const k1 = await cli(repo, ['run', 'keep', '--store', store], environ)
    expect(k1.code).toBe(0)
    const k2 = await cli(repo, ['run', 'keep', '--store', store], environ)
    expect(k2.code).toBe(0)
    // the cached copy says "changed", the checkout's file is kept
    expect(logOf(store, runNameOf(k2))).toContain('from the repository\n')
  })
})

describe('cache in an image, with a stand-in `docker` that records its argv', () => {
  it('`~/…` is /root/… in the container, a folder of the work area mounted there', async () => {
    const rec = tempDir('docker-rec-')
    const bin = tempDir('fakebin-')
    writeFileSync(join(bin, 'docker'), `#!/usr/bin/env bash
case "$1" in
  info|pull|logout|login) exit 0 ;;
  image) exit 1 ;;
  run) shift; printf '%s\\n' "$@" > ${rec}/run-args; exit 0 ;;
esac`)
    chmodSync(join(bin, 'docker'), 0o755)
    const repo = repoWith({ 'img.dstack.yml': ['type: task', 'name: img', 'image: python:3.12', 'cache: [~/.cache/pip, /opt/models]', 'commands: [pip install x]', ''].join('\n') })
    const store = tempDir('cache-store-')
    const r = await cli(repo, ['run', 'img', '--store', store], { PATH: `${bin}:${process.env.PATH}`, HOME: tempDir('cache-home-') })
    expect(r.code).toBe(0)
    const args = readFileSync(join(rec, 'run-args'), 'utf8').split('\n')
    const mounts = args.filter((_a, i) => args[i - 1] === '-v')
    expect(mounts).toEqual(expect.arrayContaining([expect.stringMatching(/\/root\/root\/\.cache\/pip:\/root\/\.cache\/pip$/), expect.stringMatching(/\/root\/opt\/models:\/opt\/models$/)]))
  })
})
