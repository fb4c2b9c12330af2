/**
 * Council state kept across restarts. An agent that comes back with the same peer id must not
 * come back empty-handed: it may be the coordinator everyone else waits for (it would never
 * announce a council it forgot), and its promise (the highest epoch it acknowledged) is what
 * stops it from acknowledging an older proposal a second time.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from '../logger/index.js'
import { savedCouncilsSchema, type SavedCouncil } from './messages.js'

export interface CouncilStore {
  load(): SavedCouncil[]
  /**
   * Replace what is saved with `councils`; with `durable`, return only once the disk has it (a
   * promise to a proposal, before its acknowledgement leaves). Never throws: a write that fails is
   * logged.
   */
  save(councils: SavedCouncil[], durable?: boolean): void
}

/**
 * A JSON file, replaced atomically (temp file + rename) on every save. Saves are synchronous, so
 * that the file holds what the agent last saved, in order, and a durable one is on disk when
 * `save` returns (docs/decisions/synchronous-saves.md says why not asynchronous). A missing file
 * is an empty store; an unreadable one is logged and ignored (peers re-announce their commits).
 */
export function fileCouncilStore(path: string, log: Logger): CouncilStore {
  const tmp = `${path}.${process.pid}.tmp`
  return {
    load() {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          log.warn({ path, err: (err as Error).message }, 'cannot read saved councils; starting without them')
        }
        return []
      }
      try {
        const parsed = savedCouncilsSchema.safeParse(JSON.parse(text))
        if (parsed.success) return parsed.data.councils
        log.warn(
          { path, problem: parsed.error.issues[0]?.message },
          'saved councils are malformed; starting without them'
        )
      } catch (err) {
        log.warn({ path, err: (err as Error).message }, 'saved councils are not JSON; starting without them')
      }
      return []
    },
    save(councils, durable = false) {
      try {
        // `flush` syncs the file before it is closed.
        writeFileSync(tmp, JSON.stringify({ version: 1, councils }), { mode: 0o600, flush: durable })
        renameSync(tmp, path)
        // The rename itself is on disk only once the directory is.
        if (durable) syncDirectory(dirname(path))
      } catch (err) {
        log.error({ path, err: (err as Error).message }, 'cannot save councils')
      }
    }
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } catch (err) {
    // Some filesystems cannot sync a directory; the file itself is on disk.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOTSUP') throw err
  } finally {
    closeSync(fd)
  }
}
