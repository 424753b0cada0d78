/**
 * The S3 SDK pieces S3Store uses, in one module that S3Store loads with `import()` when a store
 * first sends a request. The SDK costs ~22 MB of memory and ~0.1 s to load: `validate`, `--help`
 * and every folder-store command never load it (the bundler puts it in a chunk of its own).
 * Import values from here only dynamically; `import type` from the SDK is free.
 */
export { S3Client, GetObjectCommand, PutObjectCommand, HeadObjectCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
export { Upload } from '@aws-sdk/lib-storage'
export { getSignedUrl } from '@aws-sdk/s3-request-presigner'
