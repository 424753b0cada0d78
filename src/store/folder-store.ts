/**
 * ObjectStore over a local folder: key `a/b/c` is the file `<root>/a/b/c`. Writes go to a temp
 * file in the same folder and are renamed into place, so a reader never sees half an object;
 * `ifAbsent` links the finished temp file to the key (`link` fails when the key exists), with an
 * `open(…, 'wx')` fallback on filesystems without hard links.
 */
import { promises as fs, watch as fsWatch, mkdirSync, type Dirent, type FSWatcher } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve, sep } from 'node:path'
import type { StoreLocation } from '../model/store-location.js'
import { assertKey, type ListPage, type ObjectStore, type PutOptions } from './object-store.js'
import { makeDirs, storeFsError } from './fs-errors.js'

const TMP_MARK = '.~tmp.'

function isTemp(name: string): boolean {
  return name.startsWith(TMP_MARK)
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

export class FolderStore implements ObjectStore {
  readonly location: StoreLocation
  readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
    this.location = { kind: 'folder', root: this.root }
  }

  private path(key: string, prefix = false): string {
    assertKey(key, { prefix })
    const p = join(this.root, ...key.split('/').filter((s) => s !== ''))
    if (p !== this.root && !p.startsWith(this.root + sep)) throw new Error(`store key escapes the store: ${key}`)
    return p
  }

  private tempFor(path: string): string {
    return join(dirname(path), `${TMP_MARK}${randomBytes(6).toString('hex')}`)
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.path(key))
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'EISDIR' || code(err) === 'ENOTDIR') return undefined
      throw err
    }
  }

  async getText(key: string): Promise<string | undefined> {
    return (await this.get(key))?.toString('utf8')
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<boolean> {
    const path = this.path(key)
    try {
      return await this.putAt(path, body, opts)
    } catch (err) {
      throw storeFsError('write', path, this.root, err)
    }
  }

  private async putAt(path: string, body: Buffer | string, opts: PutOptions): Promise<boolean> {
    await makeDirs(dirname(path))
    const tmp = this.tempFor(path)
    await fs.writeFile(tmp, body, { flag: 'wx' })
    try {
      if (!opts.ifAbsent) {
        await fs.rename(tmp, path)
        return true
      }
      try {
        await fs.link(tmp, path)
        return true
      } catch (err) {
        if (code(err) === 'EEXIST') return false
        if (code(err) !== 'EPERM' && code(err) !== 'ENOTSUP' && code(err) !== 'EOPNOTSUPP') throw err
      }
      // no hard links here: exclusive create (a concurrent reader may see a partial file)
      let fh
      try {
        fh = await fs.open(path, 'wx')
      } catch (err) {
        if (code(err) === 'EEXIST') return false
        throw err
      }
      try {
        await fh.writeFile(body)
      } finally {
        await fh.close()
      }
      return true
    } finally {
      await fs.rm(tmp, { force: true })
    }
  }

  async putFile(key: string, path: string): Promise<void> {
    const dest = this.path(key)
    const tmp = this.tempFor(dest)
    try {
      await makeDirs(dirname(dest))
      await fs.copyFile(path, tmp)
      await fs.rename(tmp, dest)
    } catch (err) {
      throw storeFsError('write', dest, this.root, err)
    } finally {
      await fs.rm(tmp, { force: true })
    }
  }

  async getToFile(key: string, path: string): Promise<boolean> {
    const src = this.path(key)
    if (!(await this.exists(key))) return false
    await makeDirs(dirname(resolve(path)))
    const tmp = this.tempFor(resolve(path))
    try {
      await fs.copyFile(src, tmp)
      await fs.rename(tmp, path)
      return true
    } catch (err) {
      if (code(err) === 'ENOENT') return false
      throw err
    } finally {
      await fs.rm(tmp, { force: true })
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.path(key))).isFile()
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return false
      throw err
    }
  }

  /** the folder to read and the name filter for a listing prefix (`a/b/c` → folder `a/b`, names starting `c`) */
  private split(prefix: string): { dir: string; dirKey: string; partial: string } {
    assertKey(prefix, { prefix: true })
    const cut = prefix.lastIndexOf('/')
    const dirKey = prefix.slice(0, cut + 1)
    const partial = prefix.slice(cut + 1)
    return { dir: this.path(dirKey, true), dirKey, partial }
  }

  private async readDir(dir: string) {
    try {
      return await fs.readdir(dir, { withFileTypes: true })
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return []
      throw err
    }
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const { dir, dirKey, partial } = this.split(prefix)
    const out: { key: string; size: number }[] = []
    const walk = async (d: string, k: string): Promise<void> => {
      for (const e of await this.readDir(d)) {
        if (isTemp(e.name)) continue
        const p = join(d, e.name)
        if (e.isDirectory()) await walk(p, `${k}${e.name}/`)
        else if (e.isFile()) out.push({ key: k + e.name, size: (await fs.stat(p)).size })
      }
    }
    for (const e of await this.readDir(dir)) {
      if (isTemp(e.name) || !e.name.startsWith(partial)) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p, `${dirKey}${e.name}/`)
      else if (e.isFile()) out.push({ key: dirKey + e.name, size: (await fs.stat(p)).size })
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /**
   * Depth-first in key order; a folder is entered only when keys under it can sort after
   * `startAfter`, and only returned files are stat()ed.
   */
  async listAfter(prefix: string, startAfter: string, maxKeys: number): Promise<ListPage> {
    assertKey(startAfter, { prefix: true })
    const { dir, dirKey, partial } = this.split(prefix)
    const objects: ListPage['objects'] = []
    const limit = Math.max(1, maxKeys)
    let truncated = false
    const visit = async (d: string, k: string, entries: Dirent[]): Promise<boolean> => {
      // drop what sorts before startAfter first: a long log folder then sorts only its new names
      const sorted = entries
        .filter((e) => !isTemp(e.name) && (e.isDirectory() || e.isFile()))
        .map((e) => ({ e, key: k + e.name + (e.isDirectory() ? '/' : '') }))
        .filter(({ key }) => key > startAfter || startAfter.startsWith(key))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      for (const { e, key } of sorted) {
        const p = join(d, e.name)
        if (e.isDirectory()) {
          // every key below starts with `key`: all of them sort before startAfter unless it is a prefix of it
          if (key <= startAfter && !startAfter.startsWith(key)) continue
          if (await visit(p, key, await this.readDir(p))) return true
          continue
        }
        if (key <= startAfter) continue
        if (objects.length === limit) {
          truncated = true
          return true
        }
        const st = await fs.stat(p).catch(() => undefined)
        if (st?.isFile()) objects.push({ key, size: st.size, tag: `${st.size}:${st.mtimeMs}:${st.ino}` })
      }
      return false
    }
    await visit(dir, dirKey, (await this.readDir(dir)).filter((e) => e.name.startsWith(partial)))
    return { objects, truncated }
  }

  private async hasFile(dir: string): Promise<boolean> {
    for (const e of await this.readDir(dir)) {
      if (isTemp(e.name)) continue
      if (e.isFile() || (e.isDirectory() && (await this.hasFile(join(dir, e.name))))) return true
    }
    return false
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const { dir, partial } = this.split(prefix)
    const names: string[] = []
    for (const e of await this.readDir(dir)) {
      if (!e.isDirectory() || isTemp(e.name) || !e.name.startsWith(partial)) continue
      const rest = e.name.slice(partial.length)
      if (rest === '') continue
      // a folder holding only empty folders is no "prefix" on S3 either
      if (await this.hasFile(join(dir, e.name))) names.push(rest)
    }
    return names.sort()
  }

  /** fs.watch (inotify on Linux) on the folder of `prefix`, recursive; the folder is created if missing */
  watch(prefix: string, onChange: () => void): () => void {
    const dir = this.path(prefix, true)
    let watcher: FSWatcher | undefined
    try {
      mkdirSync(dir, { recursive: true })
      watcher = fsWatch(dir, { recursive: true, persistent: false }, () => onChange())
      watcher.on('error', () => watcher?.close())
    } catch {
      watcher = undefined // no inotify here: the caller's polling still sees every change
    }
    return () => watcher?.close()
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key)
    await fs.rm(path, { force: true })
    // remove folders left empty, up to the root (S3 has no empty folders either)
    let d = dirname(path)
    while (d !== this.root && d.startsWith(this.root + sep)) {
      try {
        await fs.rmdir(d)
      } catch {
        break
      }
      d = dirname(d)
    }
  }

  url(key: string): string {
    return this.path(key, true) + (key.endsWith('/') ? sep : '')
  }
}
