/**
 * A store request whose connection goes silent is given up and retried, then fails with the SDK's
 * error, instead of holding `run` forever: the real SDK against a loopback server that accepts
 * connections and never answers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server, type Socket } from 'node:net'
import { S3Store } from '../../src/store/index.js'

let server: Server
let port = 0
let connections = 0
const sockets: Socket[] = []

beforeAll(async () => {
  server = createServer((s) => {
    connections++
    sockets.push(s)
    s.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as { port: number }).port
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => server.close(() => r()))
})

describe('S3 store: a silent connection', () => {
  it('is timed out and retried, then fails, instead of hanging', async () => {
    const store = new S3Store({ bucket: 'runs', prefix: '', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, idleTimeoutMs: 200 })
    await expect(store.get('github.com/acme/ml-demo/runs/x/run.json')).rejects.toThrow(/timeout|timed out|socket/i)
    // every attempt of the standard retry mode got its own connection and its own timeout
    expect(connections).toBeGreaterThanOrEqual(2)
    ;(await store.client()).destroy()
  })
})
