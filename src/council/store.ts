/**
 * Council state kept across restarts. An agent that comes back with the same peer id must not
 * come back empty-handed: it may be the coordinator everyone else waits for (it would never
 * announce a council it forgot), and its promise (the highest epoch it acknowledged) is what
 * stops it from acknowledging an older proposal a second time.
 */
import { readFileSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from '../logger/index.js'
import { savedCouncilsSchema, type SavedCouncil } from './messages.js'

export interface CouncilStore {
  load(): SavedCouncil[]
  /**
   * Replace what is saved with `snapshot()`, taken as the write begins: saves asked for while one
   * is under way join the next write, which saves the state of then. Resolves once written, and
   * with `durable` once the disk has it (a promise to a proposal, before its acknowledgement
   * leaves). Never rejects: a write that fails is logged.
   */
  save(snapshot: () => SavedCouncil[], durable?: boolean): Promise<void>
}

/**
 * A JSON file, replaced atomically (temp file + rename) on every save. Writes are asynchronous,
 * one at a time, coalesced: an agent saves on every proposal and commit it sees, and at 100
 * agents in one process synchronous writes ran inside gossip's validators, holding up the
 * flood at every hop. A missing file is an empty store; an unreadable one is logged and ignored
 * (peers re-announce their commits).
 */
export function fileCouncilStore (path: string, log: Logger): CouncilStore {
  const tmp = `${path}.${process.pid}.tmp`
  const write = async (councils: SavedCouncil[], durable: boolean): Promise<void> => {
    try {
      const file = await open(tmp, 'w', 0o600)
      try {
        await file.writeFile(JSON.stringify({ version: 1, councils }))
        if (durable) await file.sync()
      } finally {
        await file.close()
      }
      await rename(tmp, path)
      // The rename itself is on disk only once the directory is.
      if (durable) await syncDirectory(dirname(path))
    } catch (err) {
      log.error({ path, err: (err as Error).message }, 'cannot save councils')
    }
  }
  /** The last write begun or queued; `queued` is the one not begun yet, which later saves join. */
  let tail: Promise<void> = Promise.resolve()
  let queued: { durable: boolean, done: Promise<void> } | undefined
  return {
    load () {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ path, err: (err as Error).message }, 'cannot read saved councils; starting without them')
        return []
      }
      try {
        const parsed = savedCouncilsSchema.safeParse(JSON.parse(text))
        if (parsed.success) return parsed.data.councils
        log.warn({ path, problem: parsed.error.issues[0]?.message }, 'saved councils are malformed; starting without them')
      } catch (err) {
        log.warn({ path, err: (err as Error).message }, 'saved councils are not JSON; starting without them')
      }
      return []
    },
    async save (snapshot, durable = false) {
      if (queued !== undefined) {
        queued.durable ||= durable
        return await queued.done
      }
      const next: { durable: boolean, done: Promise<void> } = { durable, done: Promise.resolve() }
      queued = next
      next.done = tail.then(async () => {
        queued = undefined
        await write(snapshot(), next.durable)
      })
      tail = next.done
      return await next.done
    }
  }
}

async function syncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch (err) {
    // Some filesystems cannot sync a directory; the file itself is on disk.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOTSUP') throw err
  } finally {
    await handle.close()
  }
}
