/**
 * The secret env parameter is readable by the instance it was made for only: it carries that
 * instance's ARN as a tag (matched by the instance role's `${ec2:SourceInstanceARN}` condition),
 * optionally a customer-managed KMS key, and never the Overwrite+Tags combination SSM refuses.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import { PutParameterCommand } from '@aws-sdk/client-ssm'
import { AwsBackend } from '../../../src/backends/aws/index.js'
import { SECRET_TAG, instanceArn } from '../../../src/backends/aws/secret-parameter.js'
import type { StartRequest } from '../../../src/model/index.js'
import { FakeCloud, type CommandSink, type FakeCommand } from './fake-cloud.js'
import { spec, virtualClock } from './harness.js'

class HoldingSink implements CommandSink {
  start(cmd: FakeCommand): void {
    cmd.status = 'InProgress'
  }
  cancel(cmd: FakeCommand): void {
    cmd.status = 'Cancelled'
  }
  terminate(): void {}
}

let cloud: FakeCloud
let clock: ReturnType<typeof virtualClock>
beforeEach(() => {
  cloud = new FakeCloud({ sink: new HoldingSink() })
  cloud.invisibleFor = 0
  clock = virtualClock()
})
afterEach(() => cloud.restore())

const backend = (o: Record<string, unknown> = {}) =>
  new AwsBackend({ region: 'us-east-1', instanceProfile: 'dstack-runner', now: clock.now, sleep: clock.sleep, random: () => 0.5, pollMinIntervalMs: 0, env: {}, ...o })

function request(over: Partial<StartRequest> = {}): StartRequest {
  return {
    runName: 'calm-fox-1',
    repoId: 'github.com/acme/models',
    attempt: 1,
    spec: spec(),
    store: { kind: 's3', bucket: 'bkt', prefix: 'p' },
    runnerScriptKey: 'github.com/acme/models/runs/calm-fox-1/attempts/1/runner.sh',
    runnerScript: '#!/bin/bash\n',
    secretEnv: { TOKEN: 'swordfish' },
    previousAttempts: [],
    onMachine: () => undefined,
    log: () => undefined,
    signal: new AbortController().signal,
    ...over
  }
}

describe('the secret env parameter', () => {
  it('is tagged with the ARN of the one instance that may read it, the run and the attempt', async () => {
    const h = await backend().start(request())
    const input = cloud.ssm.commandCalls(PutParameterCommand)[0]!.args[0].input
    expect(input).toMatchObject({ Type: 'SecureString' })
    expect(input.Overwrite).toBeUndefined()
    expect(input.KeyId).toBeUndefined()
    expect(input.Tags).toEqual([
      { Key: SECRET_TAG.instanceArn, Value: `arn:aws:ec2:us-east-1:123456789012:instance/${h.machine.id}` },
      { Key: 'dstack:run', Value: 'calm-fox-1' },
      { Key: 'dstack:attempt', Value: '1' }
    ])
    await h.release()
  })

  it('uses a customer-managed KMS key when one is given (option, or DSTACK_SECRET_KMS_KEY_ID)', async () => {
    const h1 = await backend({ secretKmsKeyId: 'alias/dstack-secrets' }).start(request())
    await h1.release()
    const h2 = await backend({ env: { DSTACK_SECRET_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/k1' } }).start(request({ runName: 'calm-fox-2', runnerScriptKey: 'github.com/acme/models/runs/calm-fox-2/attempts/1/runner.sh' }))
    await h2.release()
    expect(cloud.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.KeyId)).toEqual(['alias/dstack-secrets', 'arn:aws:kms:us-east-1:123456789012:key/k1'])
  })

  it('replaces a parameter a killed CI job left under the same name (tags cannot go with Overwrite)', async () => {
    cloud.parameters.set('/dstack/stale', 'old')
    const name = [...cloud.parameters.keys()][0]!
    expect(name).toBe('/dstack/stale')
    const b = backend()
    const first = await b.start(request())
    const param = [...cloud.parameters.keys()].find((n) => n !== '/dstack/stale')!
    // a second start of the same attempt (the CI job was killed after the parameter was made)
    cloud.parameters.set(param, 'left behind')
    await first.release()
    cloud.parameters.set(param, 'left behind')
    const again = await b.start(request())
    expect(cloud.parameters.get(param)).not.toBe('left behind')
    await again.release()
  })

  it('the ARN follows the region\'s partition', () => {
    expect(instanceArn('cn-north-1', '1', 'i-1')).toBe('arn:aws-cn:ec2:cn-north-1:1:instance/i-1')
    expect(instanceArn('us-gov-west-1', '1', 'i-1')).toBe('arn:aws-us-gov:ec2:us-gov-west-1:1:instance/i-1')
    expect(instanceArn('eu-west-1', '1', 'i-1')).toBe('arn:aws:ec2:eu-west-1:1:instance/i-1')
  })
})
