import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { S3Client, CreateBucketCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3'
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { startMoto, type MotoServer } from './moto.js'

describe('moto server helper', () => {
  let moto: MotoServer
  beforeAll(async () => {
    moto = await startMoto()
  }, 90_000)
  afterAll(async () => {
    await moto?.stop()
  })

  it('answers the SDK on loopback and forgets everything on reset', async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const sts = new STSClient(moto.clientConfig())
    const me = await sts.send(new GetCallerIdentityCommand({}))
    expect(me.Account).toMatch(/^\d{12}$/)
    const s3 = new S3Client(moto.clientConfig())
    await s3.send(new CreateBucketCommand({ Bucket: 'bucket-one' }))
    await moto.reset()
    await expect(s3.send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' })
  })

  it('enforces IAM policies once asked: allowed actions pass, others are denied', async () => {
    const admin = moto.clientConfig()
    const iam = new IAMClient(admin)
    const s3 = new S3Client(admin)
    await s3.send(new CreateBucketCommand({ Bucket: 'enforced' }))
    await iam.send(new CreateUserCommand({ UserName: 'writer' }))
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'writer',
        PolicyName: 'put-only',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::enforced/*' }] })
      })
    )
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'writer' }))).AccessKey!
    const writer = new S3Client(moto.clientConfig({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }))
    await moto.enforceIam()
    try {
      await writer.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'a', Body: 'x' }))
      await expect(writer.send(new DeleteObjectCommand({ Bucket: 'enforced', Key: 'a' }))).rejects.toMatchObject({ name: 'AccessDenied' })
    } finally {
      await moto.relaxIam()
    }
    // relaxed again: the default keys work
    await s3.send(new DeleteObjectCommand({ Bucket: 'enforced', Key: 'a' }))
  })
})
