/**
 * Every AWS request any test sends is checked against AWS's service models (aws-models.ts), whoever
 * answers it: an aws-sdk-client-mock double, moto, or a real SDK client against s3rver. Installed for
 * every test file by jest.config.js (setupFilesAfterEnv), so no test can bypass it:
 *   - real clients: the SDK's one `Client.prototype.send` (every client class inherits it) checks the
 *     command before its middleware stack serializes it;
 *   - doubles: aws-sdk-client-mock replaces `send` with a sinon stub; `mockClient` is wrapped so the
 *     stub is reached only through the same check.
 * A request that breaks a rule is refused like AWS refuses it (a ValidationException-style error), and the
 * test fails at its end naming the call and the field, even if the code under test swallowed the error.
 */
import { afterEach } from '@jest/globals'
import { createRequire } from 'node:module'
import { checkRequest, formatViolations, modelForService, type Violation } from './aws-models.js'

type Send = (this: SdkClient, command: SdkCommand, ...rest: unknown[]) => unknown
interface SdkClient {
  config?: { serviceId?: string }
  send: Send
}
interface SdkCommand {
  input?: unknown
  constructor: { name: string }
}

const violations: Violation[] = []
const checked = new WeakSet<object>()

/** the rules `command`, sent by `client`, breaks (none for a service we do not check) */
export function commandViolations(client: SdkClient, command: SdkCommand): Violation[] {
  const serviceId = client?.config?.serviceId
  if (!serviceId || !command || typeof command !== 'object') return []
  const model = modelForService(serviceId)
  if (!model) return []
  return checkRequest(model, command.constructor.name.replace(/Command$/, ''), command.input)
}

/** the violations the hooks recorded since the last call (for a test of the hooks themselves) */
export function takeViolations(): Violation[] {
  return violations.splice(0)
}

/** the hooks' check: records what a command breaks and returns the error AWS would answer with */
function refuse(client: SdkClient, command: SdkCommand): Error | undefined {
  if (!command || typeof command !== 'object' || checked.has(command)) return undefined
  checked.add(command)
  const found = commandViolations(client, command)
  if (!found.length) return undefined
  violations.push(...found)
  return Object.assign(new Error(`request breaks the AWS service model:\n${formatViolations(found)}`), {
    name: 'ValidationException',
    Code: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    violations: found
  })
}

const requireHere = createRequire(import.meta.url)
// the CommonJS copies the SDK clients load (jest resolves the SDK packages to their CommonJS builds)
const requireSdk = createRequire(requireHere.resolve('@aws-sdk/client-ec2'))
const smithyClient = requireSdk('@smithy/core/client') as { Client: { prototype: SdkClient } }
const MARK = Symbol.for('aws-model-check')
/** on a guard: the sinon stub it hides */
const INNER = Symbol.for('aws-model-check.inner')

const proto = smithyClient.Client.prototype
if (!(proto.send as unknown as Record<symbol, unknown>)[MARK]) {
  const original = proto.send
  const checkedSend: Send = function (this: SdkClient, command, ...rest) {
    const refused = refuse(this, command)
    if (refused) {
      const cb = rest.find((r) => typeof r === 'function') as ((e: unknown) => void) | undefined
      if (cb) return void cb(refused)
      return Promise.reject(refused)
    }
    return Reflect.apply(original, this, [command, ...rest])
  }
  ;(checkedSend as unknown as Record<symbol, unknown>)[MARK] = true
  proto.send = checkedSend
}

// aws-sdk-client-mock: its index re-exports `mockClient` through a getter on this module's exports
const mockModule = requireHere('aws-sdk-client-mock/dist/cjs/mockClient.js') as {
  mockClient: (client: { prototype?: SdkClient } & Partial<SdkClient>, opts?: unknown) => unknown
}
if (!(mockModule.mockClient as unknown as Record<symbol, unknown>)[MARK]) {
  const originalMock = mockModule.mockClient
  const wrapped = function (client: { prototype?: SdkClient } & Partial<SdkClient>, opts?: unknown) {
    const target = (client.send !== undefined ? client : client.prototype) as SdkClient & { send: Send & { [INNER]?: Send } }
    // a previous wrap hides its sinon stub: put the stub back so mockClient restores and replaces it
    const inner = target.send?.[INNER]
    if (inner) target.send = inner
    const stub = originalMock(client, opts) as { send: Send }
    const sinonSend = target.send
    const guard = function (this: SdkClient, command: SdkCommand, ...rest: unknown[]) {
      const refused = refuse(this, command)
      if (refused) return Promise.reject(refused)
      return Reflect.apply(sinonSend, this, [command, ...rest])
    } as Send & { [INNER]?: Send }
    guard[INNER] = sinonSend
    // mock.restore() calls the stub's restore, which puts the original method back over the guard
    target.send = guard
    return stub
  }
  ;(wrapped as unknown as Record<symbol, unknown>)[MARK] = true
  mockModule.mockClient = wrapped as typeof mockModule.mockClient
}

afterEach(() => {
  if (!violations.length) return
  const found = violations.splice(0)
  throw new Error(`AWS requests broke the service models (botocore's service-2.json):\n${formatViolations(found)}`)
})
