#!/usr/bin/env node
// examples/aws/setup.yml, the one-step AWS set-up (CloudFormation), made from the policies in
// examples/iam so the two cannot drift: every policy of the stack is one of those files with its
// placeholders (ACCOUNT_ID, REGION, BUCKET, OWNER/REPO, GROUP/PROJECT, KMS_KEY_ID and the branch) turned into the stack's parameters and resources.
// Usage: node scripts/aws-template.mjs          rewrite examples/aws/setup.yml
//        node scripts/aws-template.mjs --check  exit 1 when it differs from what examples/iam makes
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { stringify } from 'yaml'

const root = new URL('..', import.meta.url).pathname
const TEMPLATE = 'examples/aws/setup.yml'

/** the names the stack gives its roles and profiles (the examples use the same ones) */
export const NAMES = { ciRole: 'dstack-ci', prRole: 'dstack-ci-pr', instanceRole: 'dstack-runner', prInstanceRole: 'dstack-runner-pr' }

/** a policy file with its placeholders as `Fn::Sub` references; `${…}` already in it kept literal */
function sub(doc, extra = {}) {
  let text = JSON.stringify(doc).replace(/\$\{/g, '${!')
  const swaps = {
    ACCOUNT_ID: '${AWS::AccountId}',
    REGION: '${AWS::Region}',
    KMS_KEY_ID: '${SecretEnvKey}',
    'OWNER/REPO': '${GitHubRepository}',
    'GROUP/PROJECT': '${GitLabProject}',
    ...extra
  }
  for (const [k, v] of Object.entries(swaps)) text = text.split(k).join(v)
  // BUCKET only where it is the bucket of an ARN (the word appears in no other value)
  text = text.replace(/arn:aws:s3:::BUCKET/g, 'arn:aws:s3:::${BucketName}')
  return walk(JSON.parse(text))
}

/** every string with a `${` to substitute becomes { "Fn::Sub": string } */
function walk(v) {
  if (typeof v === 'string') {
    if (v.replaceAll('${!', '').includes('${')) return { 'Fn::Sub': v }
    return v.replaceAll('${!', '${') // only literal `${…}` (an IAM policy variable): no Fn::Sub needed
  }
  if (Array.isArray(v)) return v.map(walk)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
  return v
}

const read = (f) => JSON.parse(readFileSync(join(root, 'examples/iam', f), 'utf8'))

export function template() {
  const githubMain = sub(read('github-oidc-trust-policy.json'), { 'ref:refs/heads/main': 'ref:refs/heads/${Branch}' })
  // gitlab.com is also in the condition keys, which CloudFormation cannot substitute: a
  // self-managed instance edits the host in the template (docs/aws.md)
  const gitlabMain = sub(read('gitlab-oidc-trust-policy.json'), { 'ref:main': 'ref:${Branch}' })
  const githubPr = sub(read('github-oidc-trust-policy-pull-request.json'))
  const ciTrust = {
    Version: '2012-10-17',
    Statement: {
      'Fn::If': [
        'HasGitHub',
        { 'Fn::If': ['HasGitLab', [...githubMain.Statement, ...gitlabMain.Statement], githubMain.Statement] },
        gitlabMain.Statement
      ]
    }
  }
  // customer-managed policies, one per examples/iam file: the CI policy is attached to both CI roles
  const policy = (name, file, description, roles, condition) => ({
    Type: 'AWS::IAM::ManagedPolicy',
    ...(condition ? { Condition: condition } : {}),
    Properties: { ManagedPolicyName: name, Description: `dstack run-action: ${description} (examples/iam/${file})`, PolicyDocument: sub(read(file)), Roles: roles }
  })
  const tags = [{ Key: 'dstack:stack', Value: { Ref: 'AWS::StackName' } }]
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'dstack run-action: OIDC identity providers for GitHub and GitLab, the CI role, the narrower pull-request role, the instance roles and profiles, the run store bucket and the secret env key. Made by scripts/aws-template.mjs from examples/iam.',
    Parameters: {
      GitHubRepository: { Type: 'String', Default: '', Description: 'GitHub owner/repo whose workflows may assume the roles (empty: no GitHub).', AllowedPattern: '^$|^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$' },
      GitLabProject: { Type: 'String', Default: '', Description: 'GitLab group/project whose pipelines may assume the CI role (empty: no GitLab).', AllowedPattern: '^$|^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$' },
      Branch: { Type: 'String', Default: 'main', Description: 'The branch whose runs get the CI role (pull requests get the pull-request role).' },
      BucketName: { Type: 'String', Description: 'Name of the S3 bucket the stack creates for the run store.' },
      CreateGitHubOidcProvider: { Type: 'String', Default: 'true', AllowedValues: ['true', 'false'], Description: 'false when the account already has the token.actions.githubusercontent.com provider.' },
      CreateGitLabOidcProvider: { Type: 'String', Default: 'true', AllowedValues: ['true', 'false'], Description: 'false when the account already has the gitlab.com provider.' },
      NoncurrentDays: { Type: 'Number', Default: 30, MinValue: 1, Description: 'Days a replaced or deleted object version is kept in the bucket.' },
      PullRequestRunDays: { Type: 'Number', Default: 30, MinValue: 1, Description: 'Days the runs of pull requests (pr/ in the bucket) are kept.' },
      CreateEndpoints: { Type: 'String', Default: 'false', AllowedValues: ['true', 'false'], Description: 'true: create the VPC endpoints that machines without a public address need (public-ip: false): SSM, SSM messages and EC2 messages (interface, private DNS) and S3 (gateway).' },
      EndpointVpcId: { Type: 'String', Default: '', Description: 'The VPC of the private subnets (with CreateEndpoints=true).', AllowedPattern: '^$|^vpc-[0-9a-f]+$' },
      EndpointSubnetIds: { Type: 'CommaDelimitedList', Default: '', Description: 'The private subnets the interface endpoints are placed in, one per zone (with CreateEndpoints=true).' },
      EndpointRouteTableIds: { Type: 'CommaDelimitedList', Default: '', Description: 'The route tables of the private subnets, for the S3 gateway endpoint (with CreateEndpoints=true).' },
      EndpointClientCidr: { Type: 'String', Default: '10.0.0.0/8', Description: 'Addresses that may reach the interface endpoints over HTTPS: the private subnets (with CreateEndpoints=true).', AllowedPattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$' }
    },
    Conditions: {
      HasGitHub: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'GitHubRepository' }, ''] }] },
      HasGitLab: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'GitLabProject' }, ''] }] },
      MakeGitHubProvider: { 'Fn::And': [{ Condition: 'HasGitHub' }, { 'Fn::Equals': [{ Ref: 'CreateGitHubOidcProvider' }, 'true'] }] },
      MakeGitLabProvider: { 'Fn::And': [{ Condition: 'HasGitLab' }, { 'Fn::Equals': [{ Ref: 'CreateGitLabOidcProvider' }, 'true'] }] },
      MakeEndpoints: { 'Fn::Equals': [{ Ref: 'CreateEndpoints' }, 'true'] }
    },
    Resources: {
      GitHubOidcProvider: {
        Type: 'AWS::IAM::OIDCProvider',
        Condition: 'MakeGitHubProvider',
        Properties: { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'], Tags: tags }
      },
      GitLabOidcProvider: {
        Type: 'AWS::IAM::OIDCProvider',
        Condition: 'MakeGitLabProvider',
        Properties: { Url: 'https://gitlab.com', ClientIdList: ['sts.amazonaws.com'], Tags: tags }
      },
      SecretEnvKey: {
        Type: 'AWS::KMS::Key',
        Properties: {
          Description: 'dstack run-action: encrypts the secret env parameters (/dstack/*); set DSTACK_SECRET_KMS_KEY_ID to its id',
          EnableKeyRotation: true,
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [{ Sid: 'TheAccountManagesTheKeyThroughIam', Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:aws:iam::${AWS::AccountId}:root' } }, Action: 'kms:*', Resource: '*' }]
          }
        }
      },
      RunStore: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketName: { Ref: 'BucketName' },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          LifecycleConfiguration: {
            Rules: [
              { Id: 'old-versions', Status: 'Enabled', Prefix: '', NoncurrentVersionExpirationInDays: { Ref: 'NoncurrentDays' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
              { Id: 'pull-request-runs', Status: 'Enabled', Prefix: 'pr/', ExpirationInDays: { Ref: 'PullRequestRunDays' } },
              { Id: 'price-cache', Status: 'Enabled', Prefix: 'cache/', ExpirationInDays: 7 }
            ]
          },
          Tags: tags
        }
      },
      InstanceRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: NAMES.instanceRole,
          Description: 'dstack run-action: the machines of trusted runs (SSM agent, the run store, their own secret env)',
          AssumeRolePolicyDocument: sub(read('instance-trust-policy.json')),
          Tags: tags
        }
      },
      InstanceProfile: { Type: 'AWS::IAM::InstanceProfile', Properties: { InstanceProfileName: NAMES.instanceRole, Roles: [{ Ref: 'InstanceRole' }] } },
      PullRequestInstanceRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: NAMES.prInstanceRole,
          Description: 'dstack run-action: the machines of pull-request runs (no secret env, writes only under pr/)',
          AssumeRolePolicyDocument: sub(read('instance-trust-policy.json')),
          Tags: tags
        }
      },
      PullRequestInstanceProfile: { Type: 'AWS::IAM::InstanceProfile', Properties: { InstanceProfileName: NAMES.prInstanceRole, Roles: [{ Ref: 'PullRequestInstanceRole' }] } },
      CiRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: NAMES.ciRole,
          Description: 'dstack run-action: CI jobs of the trusted branch launch, watch and stop runs',
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: ciTrust,
          Tags: tags
        }
      },
      InstancePolicy: policy(NAMES.instanceRole, 'instance-role-policy.json', 'the machines of trusted runs', [{ Ref: 'InstanceRole' }]),
      PullRequestInstancePolicy: policy(NAMES.prInstanceRole, 'instance-role-policy-pull-request.json', 'the machines of pull-request runs', [{ Ref: 'PullRequestInstanceRole' }]),
      CiPolicy: policy(NAMES.ciRole, 'ci-role-policy.json', 'launch, watch and stop runs', { 'Fn::If': ['HasGitHub', [{ Ref: 'CiRole' }, { Ref: 'PullRequestRole' }], [{ Ref: 'CiRole' }]] }),
      PullRequestPolicy: policy(NAMES.prRole, 'ci-role-policy-pull-request.json', 'what pull-request runs may not do', [{ Ref: 'PullRequestRole' }], 'HasGitHub'),
      ...endpointResources(tags),
      PullRequestRole: {
        Type: 'AWS::IAM::Role',
        Condition: 'HasGitHub',
        Properties: {
          RoleName: NAMES.prRole,
          Description: 'dstack run-action: GitHub pull-request jobs (pass only dstack-runner-pr, no secret env, write only under pr/)',
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: githubPr,
          Tags: tags
        }
      }
    },
    Outputs: {
      CiRoleArn: { Description: 'role-to-assume of trusted runs', Value: { 'Fn::GetAtt': ['CiRole', 'Arn'] } },
      PullRequestRoleArn: { Condition: 'HasGitHub', Description: 'role-to-assume of pull-request runs', Value: { 'Fn::GetAtt': ['PullRequestRole', 'Arn'] } },
      InstanceProfile: { Description: 'instance-profile of trusted runs', Value: { Ref: 'InstanceProfile' } },
      PullRequestInstanceProfile: { Description: 'instance-profile of pull-request runs', Value: { Ref: 'PullRequestInstanceProfile' } },
      Store: { Description: 'the run store (store:, --store); pull requests use its pr/ prefix', Value: { 'Fn::Sub': 's3://${RunStore}' } },
      SecretEnvKeyId: { Description: 'DSTACK_SECRET_KMS_KEY_ID', Value: { Ref: 'SecretEnvKey' } }
    }
  }
}

/**
 * The VPC endpoints of private subnets (`public-ip: false`, docs/aws.md "Private subnets"), made only
 * with CreateEndpoints=true: SSM, SSM messages, EC2 messages as interface endpoints with private DNS
 * behind a security group that allows HTTPS from the subnets, and S3 as a gateway endpoint on their
 * route tables.
 */
function endpointResources(tags) {
  // EndpointVpcId defaults to '' (no endpoints): cfn-lint checks that default against the VPC id pattern
  const lint = { 'cfn-lint': { config: { ignore_checks: ['W1030'] } } }
  const iface = (service) => ({
    Type: 'AWS::EC2::VPCEndpoint',
    Condition: 'MakeEndpoints',
    Metadata: lint,
    Properties: {
      VpcId: { Ref: 'EndpointVpcId' },
      ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}` },
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: { Ref: 'EndpointSubnetIds' },
      SecurityGroupIds: [{ Ref: 'EndpointSecurityGroup' }]
    }
  })
  return {
    EndpointSecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Condition: 'MakeEndpoints',
      Metadata: lint,
      Properties: {
        GroupDescription: 'dstack run-action: HTTPS from the private subnets to the SSM and EC2 messages endpoints',
        VpcId: { Ref: 'EndpointVpcId' },
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: { Ref: 'EndpointClientCidr' } }],
        Tags: tags
      }
    },
    SsmEndpoint: iface('ssm'),
    SsmMessagesEndpoint: iface('ssmmessages'),
    Ec2MessagesEndpoint: iface('ec2messages'),
    S3Endpoint: {
      Type: 'AWS::EC2::VPCEndpoint',
      Condition: 'MakeEndpoints',
      Metadata: lint,
      Properties: { VpcId: { Ref: 'EndpointVpcId' }, ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.s3' }, VpcEndpointType: 'Gateway', RouteTableIds: { Ref: 'EndpointRouteTableIds' } }
    }
  }
}

export function render() {
  return `# Generated by scripts/aws-template.mjs from examples/iam: edit those files, then run the script.\n# Deploy: see docs/aws.md ("One-step set-up").\n${stringify(template(), { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = join(root, TEMPLATE)
  const next = render()
  if (process.argv.includes('--check')) {
    let now = ''
    try {
      now = readFileSync(path, 'utf8')
    } catch {}
    if (now !== next) {
      console.error(`${TEMPLATE} differs from what examples/iam makes; run: node scripts/aws-template.mjs`)
      process.exit(1)
    }
    console.log(`${TEMPLATE} is up to date`)
  } else {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, next)
    console.log(`${TEMPLATE} written`)
  }
}
