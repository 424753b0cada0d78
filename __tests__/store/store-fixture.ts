/** Shared set-up of the store suites: one s3rver on loopback per file, temp folders removed after. */
import { beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startS3Server, type S3TestServer } from '../helpers/s3server.js'

export interface StoreFixture {
  /** the running server (after beforeAll) */
  s3(): S3TestServer
  /** a new empty folder, removed after the file's tests */
  tempDir(): string
  /** `<name><n>`: a fresh key prefix per store keeps tests apart in the one bucket */
  nextPrefix(): string
}

export function storeFixture(name: string): StoreFixture {
  let server: S3TestServer | undefined
  const dirs: string[] = []
  let counter = 0
  beforeAll(async () => {
    server = await startS3Server()
  })
  afterAll(async () => {
    await server?.close()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  return {
    s3: () => {
      if (!server) throw new Error('the S3 server is not started yet (use it inside a test)')
      return server
    },
    tempDir: () => {
      const d = mkdtempSync(join(tmpdir(), `${name}-test-`))
      dirs.push(d)
      return d
    },
    nextPrefix: () => `${name}${++counter}`
  }
}
