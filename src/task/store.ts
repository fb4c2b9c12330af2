/**
 * The task board kept across restarts: every task this agent knows, as its view, in SQLite
 * (`<data dir>/tasks.db`). A holder killed with -9 comes back knowing every task of its councils,
 * and runs again the ones that were held here and unfinished; a submitter sends its unfinished
 * ones again until their results arrive.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { Logger } from '../logger/index.js'
import type { TaskView } from './board.js'

export interface TaskStore {
  load(): TaskView[]
  /** Never throws: a write that fails is logged (the task lives on in memory). */
  save(task: TaskView): void
  remove(ids: string[]): void
  close(): void
}

/** Tasks in memory only (no data dir). */
export function memoryTaskStore (): TaskStore {
  return { load: () => [], save: () => {}, remove: () => {}, close: () => {} }
}

export function sqliteTaskStore (path: string, log: Logger): TaskStore {
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000')
  db.exec('CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, council TEXT NOT NULL, view TEXT NOT NULL)')
  const upsert: StatementSync = db.prepare('INSERT INTO tasks (id, council, view) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET view = excluded.view')
  const del: StatementSync = db.prepare('DELETE FROM tasks WHERE id = ?')
  const guard = (what: string, fn: () => void): void => {
    try {
      fn()
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, `cannot ${what} the task board`)
    }
  }
  return {
    load () {
      const out: TaskView[] = []
      for (const row of db.prepare('SELECT view FROM tasks').all() as Array<{ view: string }>) {
        try {
          out.push(JSON.parse(row.view) as TaskView)
        } catch {
          log.warn({ path }, 'a saved task is not JSON; skipped')
        }
      }
      return out
    },
    save (task) { if (db.isOpen) guard('save', () => { upsert.run(task.id, task.council, JSON.stringify(task)) }) },
    remove (ids) {
      if (ids.length === 0 || !db.isOpen) return
      guard('prune', () => {
        db.exec('BEGIN')
        try {
          for (const id of ids) del.run(id)
          db.exec('COMMIT')
        } catch (err) {
          db.exec('ROLLBACK')
          throw err
        }
      })
    },
    close () { if (db.isOpen) db.close() }
  }
}
