/** A fake STS (AssumeRoleWithWebIdentity, query protocol) on loopback, with sessions by a given clock. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface StsCall {
  token: string
  roleArn: string
  durationSeconds: string
  sessionName: string
}

export interface FakeSts {
  server: Server
  url: string
  calls: StsCall[]
  /** answer the next calls with this error code (HTTP 400) instead of a session */
  failNext: string[]
}

/** STS AssumeRoleWithWebIdentity on loopback: one-hour sessions by the virtual clock */
export async function fakeSts(now: () => number): Promise<FakeSts> {
  const calls: StsCall[] = []
  const failNext: string[] = []
  const { server, url } = await listen(
    createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        const p = new URLSearchParams(body)
        if (p.get('Action') !== 'AssumeRoleWithWebIdentity') {
          res.statusCode = 400
          return void res.end()
        }
        const failure = failNext.shift()
        if (failure) {
          res.statusCode = 400
          res.setHeader('content-type', 'text/xml')
          return void res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${failure}</Code><Message>${failure} (fake STS)</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
        }
        calls.push({ token: p.get('WebIdentityToken') ?? '', roleArn: p.get('RoleArn') ?? '', durationSeconds: p.get('DurationSeconds') ?? '', sessionName: p.get('RoleSessionName') ?? '' })
        const n = calls.length
        const expiration = new Date(now() + Number(p.get('DurationSeconds') ?? 3600) * 1000).toISOString()
        res.setHeader('content-type', 'text/xml')
        res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>repo:acme/ml-demo:ref:refs/heads/main</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/dstack-ci/${p.get('RoleSessionName')}</Arn><AssumedRoleId>AROAEXAMPLE:${p.get('RoleSessionName')}</AssumedRoleId></AssumedRoleUser>
    <Credentials><AccessKeyId>S3RVER</AccessKeyId><SecretAccessKey>S3RVER</SecretAccessKey><SessionToken>session-${n}</SessionToken><Expiration>${expiration}</Expiration></Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-${n}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`)
      })
    })
  )
  return { server, url, calls, failNext }
}

export async function listen(server: Server): Promise<{ server: Server; url: string }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections?.()
  return new Promise((r) => server.close(() => r()))
}

