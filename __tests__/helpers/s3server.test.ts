import { describe, it, expect } from '@jest/globals'
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { startS3Server, awsCliPath, run } from './s3server.js'

describe('loopback S3 server', () => {
  it('serves the SDK and the aws CLI alike', async () => {
    const s3 = await startS3Server()
    try {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt', Body: 'hello' }))
      const env = { ...process.env, ...s3.env }
      const down = await run(awsCliPath(), ['--endpoint-url', s3.endpoint, 's3', 'cp', `s3://${s3.bucket}/a/b.txt`, '-'], { env })
      expect(down).toMatchObject({ code: 0, stdout: 'hello' })
      const up = await run(awsCliPath(), ['--endpoint-url', s3.endpoint, 's3', 'cp', '-', `s3://${s3.bucket}/c.txt`], { env, input: 'world' })
      expect(up.code).toBe(0)
      const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'c.txt' }))
      expect(await got.Body!.transformToString()).toBe('world')
    } finally {
      await s3.close()
    }
  })
})
