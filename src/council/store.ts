/**
 * Council state kept across restarts. An agent that comes back with the same peer id must not
 * come back empty-handed: it may be the coordinator everyone else waits for (it would never
 * announce a council it forgot), and its promise (the highest epoch it acknowledged) is what
 * stops it from acknowledging an older proposal a second time.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Logger } from '../logger/index.js'
import { savedCouncilsSchema, type SavedCouncil } from './messages.js'

export interface CouncilStore {
  load(): SavedCouncil[]
  save(councils: SavedCouncil[]): void
}

/**
 * A JSON file, replaced atomically (temp file + rename) on every save. Saves are synchronous so
 * that a promise is on disk before the acknowledgement that makes it leaves. A missing file is
 * an empty store; an unreadable one is logged and ignored (peers re-announce their commits).
 */
export function fileCouncilStore (path: string, log: Logger): CouncilStore {
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
    save (councils) {
      const tmp = `${path}.${process.pid}.tmp`
      try {
        writeFileSync(tmp, JSON.stringify({ version: 1, councils }), { mode: 0o600 })
        renameSync(tmp, path)
      } catch (err) {
        log.error({ path, err: (err as Error).message }, 'cannot save councils')
      }
    }
  }
}
