/**
 * Where a downloaded file may land: `<root>/<rel>` with every folder on the way created here, one
 * at a time, and none of them (nor the file itself) a symbolic link. A link planted under the output
 * folder (`out/models -> /home/me/.ssh`) would otherwise carry the write outside it.
 */
import { promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import { UserError } from '../model/errors.js'

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

async function lstatOrUndefined(p: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fs.lstat(p)
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined
    throw err
  }
}

/** the absolute destination of `rel` (a normalised relative path) under `root`, its folders created */
export async function safeDestination(root: string, rel: string): Promise<string> {
  const base = resolve(root)
  const parts = rel.split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new UserError(`artifact path ${JSON.stringify(rel)} is not a plain relative path`)
  await fs.mkdir(base, { recursive: true })
  let cur = base
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part)
    const st = await lstatOrUndefined(cur)
    const last = i === parts.length - 1
    if (st?.isSymbolicLink()) {
      throw new UserError(
        `refusing to write artifact \`${rel}\`: ${cur} is a symbolic link inside the output folder ${base}, and writing through it could land outside`,
        'download into an empty folder, or remove the link first'
      )
    }
    if (last) {
      if (st?.isDirectory()) throw new UserError(`cannot write artifact \`${rel}\`: ${cur} is a folder`)
      return cur
    }
    if (!st) {
      try {
        await fs.mkdir(cur)
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err
        if ((await fs.lstat(cur)).isSymbolicLink()) throw new UserError(`refusing to write artifact \`${rel}\`: ${cur} became a symbolic link`)
      }
    } else if (!st.isDirectory()) {
      throw new UserError(`cannot write artifact \`${rel}\`: ${cur} exists and is not a folder`)
    }
  }
  return cur
}
