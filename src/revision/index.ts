/** Run revision and code snapshot (DESIGN.md "Revision"). */
export { ciContextFromEnv, type CiContext, type CiPlatform } from './ci-context.js'
export { repoIdFromRemoteUrl, tryRepoIdFromRemoteUrl, webUrlFromRemoteUrl, localRepoId } from './remote-url.js'
export { readRevision, detectRepoId, sha256Hex, type ReadRevisionOptions, type RevisionRead } from './read-revision.js'
export { buildSnapshot, SNAPSHOT_MTIME, type Snapshot } from './snapshot.js'
export { captureRevision, type CapturedRevision } from './capture.js'
export { gitAt, GitError, type Git } from './git.js'
export { untrackedFiles } from './local-changes.js'
export { runTrust, parseBranchList, type TrustOptions } from './trust.js'
