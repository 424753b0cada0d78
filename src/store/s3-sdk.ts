/**
 * The S3 SDK pieces S3Store uses, in one module that S3Store loads with `import()` when a store
 * first sends a request. Loaded up front it cost `validate` ~17 MB of peak RSS (91 → 74 MB in the
 * bundled CLI, bench row `memory`): `validate`, `--help` and every folder-store command now never
 * load it (the bundler puts it in chunks of their own; __tests__/entry/cli-lazy-s3.test.ts checks).
 * Import values from here only dynamically; `import type` from the SDK is free.
 */
export { S3Client, GetObjectCommand, PutObjectCommand, HeadObjectCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
export { Upload } from '@aws-sdk/lib-storage'
export { getSignedUrl } from '@aws-sdk/s3-request-presigner'
