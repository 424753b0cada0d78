import { describe, it, expect } from '@jest/globals'
import { localRepoId, repoIdFromRemoteUrl, tryRepoIdFromRemoteUrl, webUrlFromRemoteUrl } from '../../src/revision/index.js'
import { UserError } from '../../src/model/errors.js'
import { assertRepoId } from '../../src/model/names.js'

describe('repoIdFromRemoteUrl', () => {
  it.each([
    ['git@github.com:owner/repo.git', 'github.com/owner/repo'],
    ['git@github.com:owner/repo', 'github.com/owner/repo'],
    ['github.com:owner/repo.git', 'github.com/owner/repo'],
    ['https://github.com/owner/repo.git', 'github.com/owner/repo'],
    ['https://github.com/owner/repo', 'github.com/owner/repo'],
    ['https://github.com/owner/repo/', 'github.com/owner/repo'],
    ['https://GitHub.com/Owner/Repo.git', 'github.com/Owner/Repo'],
    ['ssh://git@github.com/owner/repo.git', 'github.com/owner/repo'],
    ['ssh://git@host.example.com:2222/group/sub/repo.git', 'host.example.com/group/sub/repo'],
    ['git://host.example.com/group/repo.git', 'host.example.com/group/repo'],
    ['https://gitlab.example.com:8443/group/sub/deeper/repo.git', 'gitlab.example.com:8443/group/sub/deeper/repo'],
    ['http://gitlab.local:80/g/r.git', 'gitlab.local/g/r'],
    ['https://user:token@host.example.com/x/y.git', 'host.example.com/x/y'],
    ['https://ghp_abcdefSECRET@github.com/owner/repo.git', 'github.com/owner/repo'],
    ['https://x-access-token:ghs_SECRET@github.com/owner/repo', 'github.com/owner/repo']
  ])('%s → %s', (url, id) => {
    expect(repoIdFromRemoteUrl(url)).toBe(id)
    expect(assertRepoId(id)).toBe(id)
  })

  it('never keeps a credential', () => {
    for (const url of ['https://user:token@host.example.com/x/y.git', 'https://ghp_abcdefSECRET@github.com/owner/repo.git']) {
      expect(repoIdFromRemoteUrl(url)).not.toMatch(/token|SECRET|user|@/)
      expect(webUrlFromRemoteUrl(url)).not.toMatch(/token|SECRET|user|@/)
    }
  })

  it('errors on local paths and unusable URLs without echoing credentials', () => {
    for (const url of ['/srv/git/repo.git', './repo', 'file:///srv/git/repo.git', 'https://host.example.com/onlyone', 'not a url']) {
      expect(() => repoIdFromRemoteUrl(url)).toThrow(UserError)
      expect(tryRepoIdFromRemoteUrl(url)).toBeUndefined()
    }
    let message = ''
    try {
      repoIdFromRemoteUrl('https://user:SECRET@host.example.com/only')
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/cannot name the repository/)
    expect(message).not.toContain('SECRET')
  })
})

describe('webUrlFromRemoteUrl', () => {
  it.each([
    ['git@github.com:owner/repo.git', 'https://github.com/owner/repo'],
    ['ssh://git@host.example.com:2222/group/sub/repo.git', 'https://host.example.com/group/sub/repo'],
    ['https://user:token@host.example.com:8443/x/y.git', 'https://host.example.com:8443/x/y'],
    ['http://gitlab.local/g/r.git', 'http://gitlab.local/g/r']
  ])('%s → %s', (url, web) => {
    expect(webUrlFromRemoteUrl(url)).toBe(web)
  })
  it('is undefined for local paths', () => {
    expect(webUrlFromRemoteUrl('/srv/git/repo.git')).toBeUndefined()
  })
})

describe('localRepoId', () => {
  it.each([
    ['alice', 'my-project', 'local/alice/my-project'],
    ['Jean Dupont', 'Projet Été (copy)', 'local/Jean-Dupont/Projet-Ete-copy'],
    ['DOMAIN\\bob', '..', 'local/DOMAIN-bob/repo'],
    ['', '.hidden', 'local/user/hidden'],
    ['root', 'a/b', 'local/root/a-b']
  ])('(%j, %j) → %s', (user, folder, id) => {
    expect(localRepoId(user, folder)).toBe(id)
    expect(assertRepoId(id)).toBe(id)
  })

  it('ends with the fingerprint, within the length of a repo id part', () => {
    expect(localRepoId('alice', 'ml', '0123456789')).toBe('local/alice/ml-0123456789')
    const long = localRepoId('alice', 'x'.repeat(300), 'abcdef0123')
    expect(long).toMatch(/^local\/alice\/x+-abcdef0123$/)
    expect(assertRepoId(long)).toBe(long)
  })
})
