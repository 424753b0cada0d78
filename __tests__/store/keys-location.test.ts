import { describe, it, expect } from '@jest/globals'
import { join } from 'node:path'
import { keys } from '../../src/store/keys.js'
import { parseStoreSpec, defaultStoreLocation, openStore, assertBucketName } from '../../src/store/location.js'
import { FolderStore } from '../../src/store/folder-store.js'
import { S3Store } from '../../src/store/s3-store.js'
import { ADJECTIVES, ANIMALS, randomBase, parseRunName, nextRunNumber } from '../../src/store/run-names.js'
import { assertName } from '../../src/model/names.js'
import { UserError } from '../../src/model/errors.js'

const R = 'github.com/acme/ml'
const SHA = 'a'.repeat(64)

describe('keys: the DESIGN.md layout, exactly', () => {
  it('builds every key', () => {
    expect(keys.run(R, 'grumpy-zebra-1')).toBe('github.com/acme/ml/runs/grumpy-zebra-1/run.json')
    expect(keys.attempt(R, 'grumpy-zebra-1', 2)).toBe('github.com/acme/ml/runs/grumpy-zebra-1/attempts/2/')
    expect(keys.runnerScript(R, 'grumpy-zebra-1', 1)).toBe('github.com/acme/ml/runs/grumpy-zebra-1/attempts/1/runner.sh')
    expect(keys.status(R, 'grumpy-zebra-1', 1)).toBe('github.com/acme/ml/runs/grumpy-zebra-1/attempts/1/status.json')
    expect(keys.logChunk(R, 'grumpy-zebra-1', 1, 0)).toBe('github.com/acme/ml/runs/grumpy-zebra-1/attempts/1/logs/000000.log')
    expect(keys.logChunk(R, 'grumpy-zebra-1', 1, 42)).toBe('github.com/acme/ml/runs/grumpy-zebra-1/attempts/1/logs/000042.log')
    expect(keys.artifacts(R, 'r-1')).toBe('github.com/acme/ml/runs/r-1/artifacts/')
    expect(keys.artifacts(R, 'r-1', './model//w.bin')).toBe('github.com/acme/ml/runs/r-1/artifacts/model/w.bin')
    expect(keys.manifest(R, 'r-1')).toBe('github.com/acme/ml/runs/r-1/artifacts.json')
    expect(keys.tag(R, 'v1.0')).toBe('github.com/acme/ml/tags/v1.0.json')
    expect(keys.tags(R)).toBe('github.com/acme/ml/tags/')
    expect(keys.code(SHA)).toBe(`code/${SHA}.tar.gz`)
    expect(keys.run('gitlab.example.com:8443/group/sub/proj', 'r-1')).toBe('gitlab.example.com:8443/group/sub/proj/runs/r-1/run.json')
  })

  it.each([['../x'], ['a;rm -rf'], ['a;rm -rf /'], ['line\nbreak'], ['..'], ['a/b'], ['$(id)'], ['`id`'], [''], ['-flag'], ['x'.repeat(101)]])(
    'never turns the hostile name %j into a key',
    (bad) => {
      expect(() => keys.run(R, bad)).toThrow(UserError)
      expect(() => keys.tag(R, bad)).toThrow(UserError)
      expect(() => keys.logChunk(R, bad, 1, 0)).toThrow(UserError)
      if (!['a/b', '-flag'].includes(bad) && bad.length < 100) expect(() => keys.run(`github.com/acme/${bad}`, 'r-1')).toThrow(UserError)
    }
  )

  it('rejects hostile repo ids, artifact paths, numbers and hashes', () => {
    for (const repo of ['../etc/x', 'github.com/../x', 'github.com/a', 'github.com/a/b;ls', 'github.com/a/b\n', '/github.com/a/b'])
      expect(() => keys.runs(repo)).toThrow(UserError)
    for (const p of ['../x', 'a/../../x', '/etc/passwd', '~/x', 'a\nb', 'a\\b'])
      expect(() => keys.artifacts(R, 'r-1', p)).toThrow(UserError)
    expect(() => keys.attempt(R, 'r-1', -1)).toThrow(UserError)
    expect(() => keys.attempt(R, 'r-1', 1.5)).toThrow(UserError)
    expect(() => keys.logChunk(R, 'r-1', 1, -1)).toThrow(UserError)
    expect(() => keys.code('../' + SHA)).toThrow(UserError)
    expect(() => keys.code(SHA.toUpperCase())).toThrow(UserError)
  })
})

describe('run names', () => {
  it('has about a hundred distinct adjectives and animals that make valid names', () => {
    for (const list of [ADJECTIVES, ANIMALS]) {
      expect(list.length).toBeGreaterThanOrEqual(100)
      expect(new Set(list).size).toBe(list.length)
      for (const w of list) expect(w).toMatch(/^[a-z]+$/)
    }
    expect(randomBase(() => 0)).toBe(`${ADJECTIVES[0]}-${ANIMALS[0]}`)
    expect(randomBase(() => 0.9999999)).toBe(`${ADJECTIVES.at(-1)}-${ANIMALS.at(-1)}`)
    expect(assertName('run name', `${randomBase()}-123`)).toBeTruthy()
  })

  it('parses names and finds the next number for a base', () => {
    expect(parseRunName('grumpy-zebra-12')).toEqual({ base: 'grumpy-zebra', n: 12 })
    expect(parseRunName('grumpy-zebra')).toBeUndefined()
    expect(parseRunName('grumpy-zebra-0')).toBeUndefined()
    expect(nextRunNumber('grumpy-zebra', [])).toBe(1)
    expect(nextRunNumber('grumpy-zebra', ['grumpy-zebra-1', 'grumpy-zebra-7', 'calm-zebra-9', 'grumpy-zebra-x'])).toBe(8)
  })
})

describe('store specs', () => {
  it('parses s3 URLs', () => {
    expect(parseStoreSpec('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' })
    expect(parseStoreSpec('s3://my.bucket-1/a//b/', { region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' })).toEqual({
      kind: 's3', bucket: 'my.bucket-1', prefix: 'a/b', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9'
    })
  })

  it.each([['s3://AB'], ['s3://ab'], ['s3://My-Bucket'], ['s3://bucket_x'], ['s3://-bucket'], ['s3://a..b'], ['s3://192.168.1.1'],
    ['s3://xn--abc'], ['s3://b-s3alias'], ['s3://'], ['s3://ok-bucket/../x'], ['s3://ok-bucket/a\nb'], ['gs://bucket'], [''], ['  ']])(
    'rejects %j', (spec) => {
      expect(() => parseStoreSpec(spec)).toThrow(UserError)
    })

  it('expands ~ and resolves relative folders', () => {
    expect(parseStoreSpec('~', { home: '/home/u' })).toEqual({ kind: 'folder', root: '/home/u' })
    expect(parseStoreSpec('~/runs/', { home: '/home/u' })).toEqual({ kind: 'folder', root: '/home/u/runs' })
    expect(parseStoreSpec('store', { cwd: '/w' })).toEqual({ kind: 'folder', root: '/w/store' })
    expect(parseStoreSpec('file:///data/s')).toEqual({ kind: 'folder', root: '/data/s' })
    expect(() => parseStoreSpec('~other/x')).toThrow(UserError)
    expect(assertBucketName('dstack-123456789012-us-east-1')).toBe('dstack-123456789012-us-east-1')
  })

  it('defaults to ~/.dstack/store and honours DSTACK_STORE', () => {
    expect(defaultStoreLocation({ HOME: '/home/u' })).toEqual({ kind: 'folder', root: join('/home/u', '.dstack', 'store') })
    expect(defaultStoreLocation({ HOME: '/home/u', DSTACK_STORE: '~/s' })).toEqual({ kind: 'folder', root: '/home/u/s' })
    expect(defaultStoreLocation({ DSTACK_STORE: 's3://b-1/p', AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_S3: 'http://x:1' })).toEqual({
      kind: 's3', bucket: 'b-1', prefix: 'p', region: 'us-west-2', endpoint: 'http://x:1'
    })
  })

  it('opens the right store', () => {
    expect(openStore({ kind: 'folder', root: '/tmp/x' })).toBeInstanceOf(FolderStore)
    const s3 = openStore({ kind: 's3', bucket: 'b-1', prefix: 'p/', region: 'eu-west-1' })
    expect(s3).toBeInstanceOf(S3Store)
    expect(s3.location).toEqual({ kind: 's3', bucket: 'b-1', prefix: 'p', region: 'eu-west-1' })
  })
})
