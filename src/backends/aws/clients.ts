/**
 * The one place AWS SDK clients are built (style-anchors §2, lesson 6). Credentials come from the
 * SDK's default provider chain, so aws-actions/configure-aws-credentials (OIDC), profiles and
 * instance roles all work. Retries are the SDK's own (`adaptive` for EC2 reads, which slows down
 * when throttled; `standard` elsewhere; bounded attempts) except for SendCommand and launches: `launchEc2` has maxAttempts 1 so a capacity error reaches our classification at
 * once instead of being retried by the SDK (SkyPilot's lesson, peers-and-aws-facts §4.5); our
 * launch loop backs off on throttling itself.
 */
import { EC2Client } from '@aws-sdk/client-ec2'
import { SSMClient } from '@aws-sdk/client-ssm'
import { PricingClient } from '@aws-sdk/client-pricing'
import { STSClient } from '@aws-sdk/client-sts'
import { IAMClient } from '@aws-sdk/client-iam'
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types'

export interface AwsClientFactory {
  /** describes, terminate, tags: SDK adaptive retries (client-side rate limiting when throttled) */
  ec2(region: string): EC2Client
  /** RunInstances only: fail fast (maxAttempts 1) */
  launchEc2(region: string): EC2Client
  /** SSM polling: adaptive retries (client-side rate limiting when throttled) */
  ssm(region: string): SSMClient
  /** SendCommand only: never retried by the SDK (a retry after a lost response starts a second runner; ssm.ts checks ListCommands instead) */
  sendSsm(region: string): SSMClient
  /** the Pricing API lives in us-east-1 (also eu-central-1, ap-south-1) */
  pricing(): PricingClient
  /** preflight (preflight.ts): caller identity, instance profile, vCPU quotas */
  sts(region: string): STSClient
  iam(): IAMClient
  quotas(region: string): ServiceQuotasClient
  /** destroy every client made so far */
  destroy(): void
}

export interface ClientFactoryConfig {
  /** e.g. a test endpoint; applies to every service */
  endpoint?: string
  /** static keys, or a provider (e.g. renewing-credentials.ts: an assumed role renewed before it ends) */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider
  maxAttempts?: number
  userAgent?: string
}

export function defaultClientFactory(cfg: ClientFactoryConfig = {}): AwsClientFactory {
  const made = new Map<string, { destroy(): void }>()
  const common = {
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
    customUserAgent: cfg.userAgent ?? 'dstack-run-action'
  }
  function once<T extends { destroy(): void }>(key: string, make: () => T): T {
    let c = made.get(key) as T | undefined
    if (!c) made.set(key, (c = make()))
    return c
  }
  return {
    ec2: (region) => once(`ec2:${region}`, () => new EC2Client({ ...common, region, retryMode: 'adaptive', maxAttempts: cfg.maxAttempts ?? 8 })),
    launchEc2: (region) => once(`ec2-launch:${region}`, () => new EC2Client({ ...common, region, maxAttempts: 1 })),
    ssm: (region) => once(`ssm:${region}`, () => new SSMClient({ ...common, region, retryMode: 'adaptive', maxAttempts: cfg.maxAttempts ?? 6 })),
    sendSsm: (region) => once(`ssm-send:${region}`, () => new SSMClient({ ...common, region, maxAttempts: 1 })),
    sts: (region) => once(`sts:${region}`, () => new STSClient({ ...common, region, retryMode: 'standard', maxAttempts: 3 })),
    iam: () => once('iam', () => new IAMClient({ ...common, region: 'us-east-1', retryMode: 'standard', maxAttempts: 3 })),
    quotas: (region) => once(`quotas:${region}`, () => new ServiceQuotasClient({ ...common, region, retryMode: 'standard', maxAttempts: 3 })),
    pricing: () => once('pricing', () => new PricingClient({ ...common, region: 'us-east-1', retryMode: 'standard', maxAttempts: cfg.maxAttempts ?? 3 })),
    destroy() {
      for (const c of made.values()) c.destroy()
      made.clear()
    }
  }
}
