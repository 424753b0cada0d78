/** The conditional-PUT path that no local S3 server honours, checked against the SDK mock. */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { mockClient } from 'aws-sdk-client-mock'
import { S3Client, PutObjectCommand, HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3'
import { S3Store } from '../../src/store/s3-store.js'

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name })
}

describe('S3Store ifAbsent against real-S3 behaviour', () => {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
  const mock = mockClient(client)
  const store = new S3Store({ bucket: 'b', prefix: 'p', client })
  beforeEach(() => {
    mock.reset()
  })

  it('sends If-None-Match: * and returns false on 412 PreconditionFailed', async () => {
    mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404))
    mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412))
    expect(await store.put('runs/x/run.json', '{}', { ifAbsent: true })).toBe(false)
    const puts = mock.commandCalls(PutObjectCommand)
    expect(puts).toHaveLength(1)
    expect(puts[0]!.args[0].input).toMatchObject({ Bucket: 'b', Key: 'p/runs/x/run.json', IfNoneMatch: '*' })
  })

  it('returns false on 409 ConditionalRequestConflict (a concurrent conditional write)', async () => {
    mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404))
    mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409))
    expect(await store.put('k', 'v', { ifAbsent: true })).toBe(false)
  })

  it('does not PUT when HEAD finds the key', async () => {
    mock.on(HeadObjectCommand).resolves({})
    expect(await store.put('k', 'v', { ifAbsent: true })).toBe(false)
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0)
  })

  it('writes when absent, and a plain put sends no condition', async () => {
    mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404))
    mock.on(PutObjectCommand).resolves({})
    expect(await store.put('k', 'v', { ifAbsent: true })).toBe(true)
    expect(await store.put('k', 'v')).toBe(true)
    const inputs = mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input)
    expect(inputs[0]).toMatchObject({ IfNoneMatch: '*' })
    expect(inputs[1]!.IfNoneMatch).toBeUndefined()
  })

  it('does not swallow a 412 for a plain put, nor other errors', async () => {
    mock.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403))
    await expect(store.put('k', 'v', { ifAbsent: false })).rejects.toThrow(/AccessDenied/)
    mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404))
    await expect(store.put('k', 'v', { ifAbsent: true })).rejects.toThrow(/AccessDenied/)
  })
})
