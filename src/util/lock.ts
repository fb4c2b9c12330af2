/**
 * An exclusive lock on a data dir, held by this process until it releases it or dies: SQLite's
 * exclusive locking mode on `<dir>/agent.lock`, an fcntl lock the kernel drops with the process
 * (no stale lock file after kill -9, and it holds across containers sharing a volume).
 */
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { PathError } from './errors.js'

export const LOCK_FILE = 'agent.lock'

export interface DirLock {
  release(): void
}

/** Take the lock, or throw with `code: 'ELOCKED'` when another process holds it. */
export function lockDirectory(dir: string): DirLock {
  const db = new DatabaseSync(join(dir, LOCK_FILE))
  try {
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)')
    db.exec('BEGIN EXCLUSIVE')
    db.exec('DELETE FROM holder')
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, Date.now())
    db.exec('COMMIT')
  } catch (err) {
    db.close()
    if (/locked|busy/i.test((err as Error).message)) {
      throw new PathError(`${dir} is in use by another running agent`, 'ELOCKED')
    }
    throw err
  }
  return {
    release: () => {
      if (db.isOpen) db.close()
    }
  }
}
