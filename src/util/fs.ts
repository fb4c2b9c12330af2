import { chmod, mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PathError } from './errors.js'

const MAX_DEPTH = 64

/**
 * `mkdir -p` that always terminates. Node's `mkdir(…, { recursive: true })` spins forever on
 * paths it can never create, such as `/proc/x` (seen on Node 22.23), which would hang start-up
 * instead of reporting an unusable data dir.
 */
export async function makeDirectory(dir: string, mode = 0o700, depth = 0): Promise<void> {
  try {
    await mkdir(dir, { mode })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw new PathError(`${dir} is not a directory`, 'ENOTDIR')
      return
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir || depth >= MAX_DEPTH) throw err
    await makeDirectory(parent, mode, depth + 1)
    // Not a bare mkdir: another process (a replica sharing the parent) or another call in this
    // one may have made `dir` meanwhile, which is EEXIST and fine. Seen in bench:cluster.
    await makeDirectory(dir, mode, depth + 1)
  }
}

/**
 * Write a secret file with mode 0600, atomically (temp file + rename) so a crash never leaves a
 * half-written key behind. `exclusive` refuses to replace an existing file.
 */
export async function writeSecretFile(path: string, contents: string | Uint8Array, exclusive = false): Promise<void> {
  await makeDirectory(dirname(path))
  if (exclusive) {
    await writeFile(path, contents, { mode: 0o600, flag: 'wx' })
  } else {
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
    await writeFile(tmp, contents, { mode: 0o600 })
    await rename(tmp, path)
  }
  await chmod(path, 0o600)
}

/**
 * Make a secret file private (mode 0600) if others could read it. Returns the mode it had when
 * it was looser, so the caller can warn; a read-only mount that cannot be changed is reported
 * the same way and left as it is.
 */
export async function keepPrivate(path: string): Promise<number | undefined> {
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) === 0) return undefined
  try {
    await chmod(path, 0o600)
  } catch {}
  return mode
}
