/** The AMI: an `ami-…` id, or an SSM parameter holding one (default: the DLAMI public parameter). */
import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { UserError } from '../../model/index.js'
import { errorCode, errorMessage } from './errors.js'

export interface AmiInfo {
  imageId: string
  /** where it came from: the id itself or the parameter name */
  source: string
  rootDeviceName: string
  /** size of the root snapshot; the root volume cannot be smaller */
  rootSnapshotGiB?: number
  architecture?: string
}

export async function resolveAmi(ssm: SSMClient, ec2: EC2Client, ami: string, region: string): Promise<AmiInfo> {
  let imageId = ami
  if (!/^ami-[0-9a-f]+$/.test(ami)) {
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: ami }))
      imageId = out.Parameter?.Value ?? ''
    } catch (e) {
      throw new UserError(`cannot read the AMI parameter ${ami} in ${region}: ${errorCode(e)}: ${errorMessage(e)}`,
        'check the name with `aws ssm get-parameters-by-path --path /aws/service/deeplearning/ami/x86_64/` in this region, or pass an ami-… id; the CI role needs ssm:GetParameter')
    }
    if (!/^ami-[0-9a-f]+$/.test(imageId)) throw new UserError(`the SSM parameter ${ami} holds ${JSON.stringify(imageId)}, not an AMI id`)
  }
  const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))
  const img = out.Images?.[0]
  if (!img) throw new UserError(`AMI ${imageId} (from ${ami}) does not exist in ${region} or is not visible to this account`)
  const rootName = img.RootDeviceName ?? '/dev/sda1'
  const root = img.BlockDeviceMappings?.find((b) => b.DeviceName === rootName)
  return { imageId, source: ami, rootDeviceName: rootName, rootSnapshotGiB: root?.Ebs?.VolumeSize, architecture: img.Architecture }
}
