/**
 * The SecureString parameter that carries an attempt's secret env to its instance, made readable
 * by that instance only: it is tagged with the instance's ARN, and the instance role's policy
 * (examples/iam/instance-role-policy.json) allows `ssm:GetParameter` only where the tag equals
 * `${ec2:SourceInstanceARN}`, the instance the request's role credentials were issued to. An
 * optional customer-managed KMS key narrows decryption further (the `aws/ssm` default key
 * decrypts for every principal of the account that may call SSM).
 */
import { PutParameterCommand, type PutParameterCommandInput, type SSMClient } from '@aws-sdk/client-ssm'
import { deleteSecretParameter } from './handle.js'
import { errorCode } from './errors.js'

export const SECRET_TAG = { instanceArn: 'dstack:instance-arn', run: 'dstack:run', attempt: 'dstack:attempt' } as const

/** `arn:aws:ec2:<region>:<account>:instance/<id>` in the region's partition */
export function instanceArn(region: string, accountId: string, instanceId: string): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws'
  return `arn:${partition}:ec2:${region}:${accountId}:instance/${instanceId}`
}

export interface SecretParameterRequest {
  name: string
  value: string
  runName: string
  attempt: number
  /** the ARN of the only instance that may read it */
  instanceArn: string
  /** a customer-managed KMS key (id, ARN or alias); the account's `aws/ssm` key when unset */
  kmsKeyId?: string
}

export function secretParameterInput(r: SecretParameterRequest): PutParameterCommandInput {
  return {
    Name: r.name,
    Value: r.value,
    Type: 'SecureString',
    Tier: 'Intelligent-Tiering',
    ...(r.kmsKeyId ? { KeyId: r.kmsKeyId } : {}),
    Description: `dstack run ${r.runName} attempt ${r.attempt}: secret env (deleted when the attempt ends)`,
    // tags can only be set when the parameter is created (PutParameter refuses Tags with Overwrite)
    Tags: [
      { Key: SECRET_TAG.instanceArn, Value: r.instanceArn },
      { Key: SECRET_TAG.run, Value: r.runName },
      { Key: SECRET_TAG.attempt, Value: String(r.attempt) }
    ]
  }
}

/** creates the parameter; one left behind under the same name (a killed CI job) is replaced */
export async function putSecretParameter(ssm: SSMClient, r: SecretParameterRequest): Promise<void> {
  try {
    await ssm.send(new PutParameterCommand(secretParameterInput(r)))
  } catch (e) {
    if (errorCode(e) !== 'ParameterAlreadyExists') throw e
    await deleteSecretParameter(ssm, r.name)
    await ssm.send(new PutParameterCommand(secretParameterInput(r)))
  }
}
