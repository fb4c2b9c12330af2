/**
 * The task board kept across restarts: every task this agent knows, in SQLite
 * (`<data dir>/tasks.db`). A holder killed with -9 comes back knowing every task of its councils,
 * and runs again the ones that were held here and unfinished; a submitter sends its unfinished
 * ones again until their results arrive.
 *
 * Saves are gathered and written together, one transaction at most every `FLUSH_MS`: a burst of
 * task changes is one write, not hundreds. A task's input (up to 64 KiB) is written once, with
 * the task; later saves write only its small view. A crash loses at most the last `FLUSH_MS` of
 * changes, which peers repair (a submitter sends its tasks again, a holder its results).
 */
import { DatabaseSync } from 'node:sqlite'
import type { Logger } from '../logger/index.js'
import type { TaskView } from './board.js'
import { TASK_STORE_FLUSH_BATCH, TASK_STORE_FLUSH_MS } from './constants.js'

export interface TaskStore {
  load(): TaskView[]
  /** Never throws: a write that fails is logged (the task lives on in memory). */
  save(task: TaskView): void
  remove(ids: string[]): void
  /** Write what is pending, then close. */
  close(): void
}

/** Tasks in memory only (no data dir). */
export function memoryTaskStore(): TaskStore {
  return { load: () => [], save: () => {}, remove: () => {}, close: () => {} }
}

export function sqliteTaskStore(path: string, log: Logger, flushMs = TASK_STORE_FLUSH_MS): TaskStore {
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000')
  db.exec(
    'CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, council TEXT NOT NULL, input TEXT, view TEXT NOT NULL)'
  )
  const insert = db.prepare(
    'INSERT INTO tasks (id, council, input, view) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET input = excluded.input, view = excluded.view'
  )
  const update = db.prepare('UPDATE tasks SET view = ? WHERE id = ?')
  const dropInput = db.prepare('UPDATE tasks SET input = NULL, view = ? WHERE id = ?')
  const del = db.prepare('DELETE FROM tasks WHERE id = ?')
  /** Ids whose row holds the input as it is now (or its absence). */
  const written = new Map<string, boolean>()
  const dirty = new Map<string, TaskView>()
  const gone = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | undefined

  const viewOf = (task: TaskView): string => JSON.stringify({ ...task, input: null })
  const flush = (all = false): void => {
    timer = undefined
    if (!db.isOpen || (dirty.size === 0 && gone.size === 0)) return
    // At most FLUSH_BATCH tasks a write, so that a burst does not hold the event loop.
    const batch = all ? [...dirty.values()] : [...dirty.values()].slice(0, TASK_STORE_FLUSH_BATCH)
    try {
      db.exec('BEGIN')
      try {
        for (const id of gone) del.run(id)
        for (const task of batch) {
          const hasInput = task.input !== null && task.input !== undefined
          const held = written.get(task.id)
          if (held === undefined) {
            insert.run(task.id, task.council, hasInput ? JSON.stringify(task.input) : null, viewOf(task))
          } else if (held && !hasInput) dropInput.run(viewOf(task), task.id)
          else update.run(viewOf(task), task.id)
          written.set(task.id, hasInput)
        }
        db.exec('COMMIT')
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'cannot save the task board')
    }
    for (const task of batch) dirty.delete(task.id)
    gone.clear()
    if (dirty.size > 0) schedule()
  }
  const schedule = (): void => {
    if (timer !== undefined) return
    timer = setTimeout(() => {
      flush()
    }, flushMs)
    timer.unref()
  }

  return {
    load() {
      const out: TaskView[] = []
      for (const row of db.prepare('SELECT id, input, view FROM tasks').all() as Array<{
        id: string
        input: string | null
        view: string
      }>) {
        try {
          const task = JSON.parse(row.view) as TaskView
          task.input = row.input === null ? null : JSON.parse(row.input)
          written.set(row.id, row.input !== null)
          out.push(task)
        } catch {
          log.warn({ path, task: row.id }, 'a saved task is not JSON; skipped')
        }
      }
      return out
    },
    save(task) {
      if (!db.isOpen) return
      dirty.set(task.id, task)
      gone.delete(task.id)
      schedule()
    },
    remove(ids) {
      if (!db.isOpen) return
      for (const id of ids) {
        dirty.delete(id)
        written.delete(id)
        gone.add(id)
      }
      if (ids.length > 0) schedule()
    },
    close() {
      clearTimeout(timer)
      flush(true)
      if (db.isOpen) db.close()
    }
  }
}
