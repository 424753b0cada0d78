/** One contract, two implementations: FolderStore on a temp folder, S3Store on s3rver. */
import { describe, it, expect } from '@jest/globals'
import { writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { storeFixture } from './store-fixture.js'
import { FolderStore } from '../../src/store/folder-store.js'
import { S3Store } from '../../src/store/s3-store.js'
import type { ObjectStore } from '../../src/store/object-store.js'
import { UserError } from '../../src/model/errors.js'

const fx = storeFixture('t')
const tempDir = fx.tempDir

const impls: [string, () => ObjectStore][] = [
  ['FolderStore', () => new FolderStore(tempDir())],
  // a fresh prefix per test keeps tests apart in the one bucket
  ['S3Store', () => new S3Store({ bucket: fx.s3().bucket, prefix: `${fx.nextPrefix()}/p/`, endpoint: fx.s3().endpoint, client: fx.s3().client, pageSize: 7 })]
]

describe.each(impls)('%s contract', (_name, make) => {
  it('puts and gets bytes and text; a missing key is undefined', async () => {
    const st = make()
    const bin = randomBytes(3000)
    expect(await st.put('a/b/bin', bin)).toBe(true)
    expect(await st.put('a/t.txt', 'héllo\n', { contentType: 'text/plain' })).toBe(true)
    expect((await st.get('a/b/bin'))!.equals(bin)).toBe(true)
    expect(await st.getText('a/t.txt')).toBe('héllo\n')
    expect(await st.get('a/missing')).toBeUndefined()
    expect(await st.getText('nope')).toBeUndefined()
    expect(await st.get('a')).toBeUndefined() // a "folder" is no object
    expect(await st.exists('a/t.txt')).toBe(true)
    expect(await st.exists('a/b')).toBe(false)
    expect(await st.exists('zzz')).toBe(false)
  })

  it('overwrites by default; ifAbsent refuses an existing key and keeps its content', async () => {
    const st = make()
    expect(await st.put('k.json', 'one', { ifAbsent: true })).toBe(true)
    expect(await st.put('k.json', 'two', { ifAbsent: true })).toBe(false)
    expect(await st.getText('k.json')).toBe('one')
    expect(await st.put('k.json', 'three')).toBe(true)
    expect(await st.getText('k.json')).toBe('three')
  })

  it('lists recursively, sorted, with sizes, only under the prefix', async () => {
    const st = make()
    for (const k of ['r/b/2.log', 'r/a.txt', 'r/b/1.log', 'r/c/d/e', 'rx/other', 's/no']) await st.put(k, k)
    expect(await st.list('r/')).toEqual([
      { key: 'r/a.txt', size: 7 },
      { key: 'r/b/1.log', size: 9 },
      { key: 'r/b/2.log', size: 9 },
      { key: 'r/c/d/e', size: 7 }
    ])
    expect((await st.list('r')).map((o) => o.key)).toContain('rx/other')
    expect((await st.list('r/b/')).map((o) => o.key)).toEqual(['r/b/1.log', 'r/b/2.log'])
    expect((await st.list('')).length).toBe(6)
    expect(await st.list('nothing/')).toEqual([])
  })

  it('lists child folders with delimiter semantics, across pages', async () => {
    const st = make()
    const names = Array.from({ length: 20 }, (_, i) => `run-${String(i).padStart(2, '0')}`)
    for (const n of names) await st.put(`repo/runs/${n}/run.json`, '{}')
    await st.put('repo/runs/loose.txt', 'x')
    await st.put('repo/runs/run-03/attempts/1/status.json', '{}')
    expect(await st.listPrefixes('repo/runs/')).toEqual(names)
    expect(await st.listPrefixes('repo/')).toEqual(['runs'])
    expect(await st.listPrefixes('repo/runs/run-1')).toEqual(names.filter((n) => n.startsWith('run-1')).map((n) => n.slice(5)))
    expect(await st.listPrefixes('none/')).toEqual([])
    // pageSize 7 on S3: 21 objects take 3 pages
    expect((await st.list('repo/runs/')).length).toBe(22)
  })

  it('deletes; a deleted "folder" is no longer listed; deleting a missing key is fine', async () => {
    const st = make()
    await st.put('d/x/only', '1')
    await st.put('d/y/keep', '2')
    await st.delete('d/x/only')
    await st.delete('d/x/only')
    expect(await st.exists('d/x/only')).toBe(false)
    expect(await st.listPrefixes('d/')).toEqual(['y'])
    expect(await st.list('d/')).toEqual([{ key: 'd/y/keep', size: 1 }])
  })

  it('uploads and downloads files; a missing key leaves no file', async () => {
    const st = make()
    const dir = tempDir()
    const src = join(dir, 'src.bin')
    const data = randomBytes(1024 * 1024 + 17)
    writeFileSync(src, data)
    await st.putFile('f/big.bin', src)
    const out = join(dir, 'out', 'sub', 'big.bin')
    expect(await st.getToFile('f/big.bin', out)).toBe(true)
    expect(readFileSync(out).equals(data)).toBe(true)
    expect(readdirSync(join(dir, 'out', 'sub'))).toEqual(['big.bin']) // no temp files left
    writeFileSync(join(dir, 'empty'), '')
    await st.putFile('f/empty', join(dir, 'empty'))
    expect(await st.list('f/')).toEqual([{ key: 'f/big.bin', size: data.length }, { key: 'f/empty', size: 0 }])
    expect(await st.getToFile('f/empty', join(dir, 'empty.out'))).toBe(true)
    expect(readFileSync(join(dir, 'empty.out')).length).toBe(0)
    expect(await st.getToFile('f/missing', join(dir, 'missing'))).toBe(false)
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })

  it.each([['../x'], ['a/../../x'], ['/abs'], ['a//b'], ['a/./b'], ['line\nbreak'], ['nul\u0000'], ['back\\slash'], ['']])(
    'rejects the hostile key %j',
    async (key) => {
      const st = make()
      await expect(st.put(key, 'x')).rejects.toThrow(UserError)
      await expect(st.get(key)).rejects.toThrow(/invalid store key/)
      await expect(st.exists(key)).rejects.toThrow(/invalid store key/)
      await expect(st.delete(key)).rejects.toThrow(/invalid store key/)
      if (key !== '') await expect(st.list(key)).rejects.toThrow(/invalid store key/)
      if (key !== '') expect(() => st.url(key)).toThrow(/invalid store key/)
    }
  )

  it('gives a url for a key and a folder', async () => {
    const st = make()
    const u = st.url('repo/runs/r-1/artifacts/')
    if (st.location.kind === 'folder') {
      expect(u).toBe(join(st.location.root, 'repo/runs/r-1/artifacts') + '/')
      expect(st.url('a/b.txt')).toBe(join(st.location.root, 'a', 'b.txt'))
    } else {
      expect(u).toMatch(new RegExp(`^${fx.s3().endpoint}/${fx.s3().bucket}/t\\d+/p/repo/runs/r-1/artifacts/$`))
    }
  })
})

describe('S3Store specifics', () => {
  it('keys are <prefix>/<key> with no double slashes', async () => {
    const st = new S3Store({ bucket: fx.s3().bucket, prefix: '/team//x/', client: fx.s3().client })
    expect(st.prefix).toBe('team/x')
    await st.put('a/b.json', '{}')
    const res = await fx.s3().client.send(new ListObjectsV2Command({ Bucket: fx.s3().bucket, Prefix: 'team/' }))
    expect(res.Contents!.map((o) => o.Key)).toEqual(['team/x/a/b.json'])
    expect(await st.list('')).toEqual([{ key: 'a/b.json', size: 2 }])
    const root = new S3Store({ bucket: fx.s3().bucket, prefix: '', client: fx.s3().client })
    expect(root.fullKey('a/b')).toBe('a/b')
    expect(st.fullKey('', true)).toBe('team/x/')
    expect(() => st.fullKey('')).toThrow(/empty/)
  })

  it('lists 1,050 keys across S3 pages of 1,000', async () => {
    const st = new S3Store({ bucket: fx.s3().bucket, prefix: 'many', client: fx.s3().client })
    const keys = Array.from({ length: 1050 }, (_, i) => `k/${String(i).padStart(5, '0')}`)
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => st.put(k, 'x')))
    const listed = await st.list('k/')
    expect(listed.length).toBe(1050)
    expect(listed.map((o) => o.key)).toEqual(keys)
  }, 120_000)

  it('uploads a multipart file (16 MiB parts) byte-exact', async () => {
    const st = new S3Store({ bucket: fx.s3().bucket, prefix: 'mp', client: fx.s3().client })
    const dir = tempDir()
    const data = randomBytes(17 * 1024 * 1024)
    writeFileSync(join(dir, 'in'), data)
    await st.putFile('big', join(dir, 'in'))
    expect(await st.getToFile('big', join(dir, 'out'))).toBe(true)
    expect(readFileSync(join(dir, 'out')).equals(data)).toBe(true)
  })

  it('presigns a GET that plain fetch can use', async () => {
    const st = new S3Store({ bucket: fx.s3().bucket, prefix: 'ps', client: fx.s3().client })
    await st.put('runner.sh', 'echo hi\n')
    const url = await st.presignGet('runner.sh', 60)
    expect(url).toContain('X-Amz-Signature')
    expect(await (await fetch(url)).text()).toBe('echo hi\n')
  })

  it('builds its own client from an endpoint (path style, standard retries, WHEN_REQUIRED checksums)', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, fx.s3().env)
    try {
      const st = new S3Store({ bucket: fx.s3().bucket, prefix: 'own', endpoint: fx.s3().endpoint, region: 'us-east-1' })
      const client = await st.client()
      expect(client.config.forcePathStyle).toBe(true)
      expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' })
      expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED')
      await st.put('x', 'y')
      expect(await st.getText('x')).toBe('y')
      expect(await st.client()).toBe(client)
      client.destroy()
    } finally {
      process.env = saved
    }
  })

  it('gives console URLs for real S3', () => {
    const st = new S3Store({ bucket: 'my-bucket', prefix: 'runs', region: 'eu-west-1', client: fx.s3().client })
    expect(st.url('a/b.txt')).toBe('https://eu-west-1.console.aws.amazon.com/s3/object/my-bucket?region=eu-west-1&prefix=runs%2Fa%2Fb.txt')
    expect(st.url('a/')).toBe('https://eu-west-1.console.aws.amazon.com/s3/buckets/my-bucket?region=eu-west-1&prefix=runs%2Fa%2F')
  })
})
