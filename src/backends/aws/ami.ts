/** The AMI: an `ami-…` id, or an SSM parameter holding one (default: the DLAMI public parameter). */
import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { UserError, type Resources } from '../../model/index.js'
import { amiArch, archName, defaultAmiMismatch, DEFAULT_AMI_PARAMETERS, DEFAULT_AMI_VENDORS, type Arch } from './ami-fit.js'
import { errorCode, errorMessage } from './errors.js'
import type { TypeInfo } from './instance-types.js'

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
        'check the name with `aws ssm get-parameters-by-path --path /aws/service/deeplearning/ami/x86_64/` (or `arm64/`) in this region, or set `ami` to an ami-… id; the CI role needs ssm:GetParameter')
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

export interface AmiPlan {
  /** region → the resolved AMI */
  amis: Map<string, AmiInfo>
  /** region → the architecture candidates must have */
  arch: Map<string, Arch>
  /** with the default AMIs: keep only the GPU families they support */
  typeCheck?: (t: TypeInfo) => string | undefined
}

/**
 * The AMI of every region, resolved before anything is searched or launched, and checked against
 * the workflow: the default AMI of the asked architecture (x86_64 unless `resources.cpu.arch`
 * says arm), or the user's `ami`, whose architecture decides the candidates' and must agree with
 * the workflow's. A GPU vendor no default AMI drives is an error naming `ami`.
 */
export async function planAmis(clients: { ssm(region: string): SSMClient; ec2(region: string): EC2Client }, regions: string[], ami: string | undefined, res: Resources): Promise<AmiPlan> {
  const wanted = res.cpu.arch
  const vendor = res.gpu?.vendor?.toLowerCase()
  const amis = new Map<string, AmiInfo>()
  const arch = new Map<string, Arch>()
  if (!ami) {
    if (vendor && !DEFAULT_AMI_VENDORS.includes(vendor)) {
      throw new UserError(`the workflow asks for ${res.gpu!.vendor} GPUs (resources.gpu), but the default AMIs have NVIDIA drivers only`, `set \`ami\` to an AMI with the ${res.gpu!.vendor} drivers for your instance types (an ami-… id, or an SSM parameter name)`)
    }
    const a = wanted ?? 'x86'
    for (const region of regions) {
      amis.set(region, await resolveAmi(clients.ssm(region), clients.ec2(region), DEFAULT_AMI_PARAMETERS[a], region))
      arch.set(region, a)
    }
    return { amis, arch, typeCheck: defaultAmiMismatch }
  }
  for (const region of regions) {
    const info = await resolveAmi(clients.ssm(region), clients.ec2(region), ami, region)
    const a = amiArch(info.architecture)
    if (!a) throw new UserError(`\`ami\` ${ami} (${info.imageId}) is built for ${info.architecture ?? 'an unknown architecture'} in ${region}; GPU instances need x86_64 or arm64`, 'set `ami` to an x86_64 or arm64 AMI')
    if (wanted && a !== wanted) {
      throw new UserError(`\`ami\` ${ami} (${info.imageId}) is ${archName(a)} in ${region}, but the workflow asks for ${archName(wanted)} (resources.cpu.arch)`, `set \`ami\` to an ${archName(wanted)} AMI, or leave it empty for the default ${archName(wanted)} Deep Learning AMI`)
    }
    amis.set(region, info)
    arch.set(region, a)
  }
  return { amis, arch }
}
