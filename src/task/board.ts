import {
  EARLY_REPORT_TTL_MS,
  MAX_EARLY_REPORTS,
  MAX_EARLY_REPORTS_PER_TASK,
  MAX_FINISHED_TASKS_PER_COUNCIL,
  MAX_TASK_ERROR_CHARS,
  TASK_EXPIRY_GRACE_MS
} from './constants.js'
import type { ResultMessage, StartMessage, TaskSpec } from './messages.js'

export type TaskState = 'queued' | 'running' | 'done' | 'failed'

/** A task as the API shows it. */
export interface TaskView {
  id: string
  council: string
  tenant: string
  role: string
  input: unknown
  state: TaskState
  /** Current holder of the task's role, as this agent knows it. */
  holder: string | null
  /** Council epoch under which `holder` got the task. */
  epoch: number
  /** Dispatches so far (2 and up: an earlier holder was lost). */
  attempts: number
  result?: unknown
  error?: string
  submittedAt: number
  submittedBy: string
  timeoutMs: number
  /** When this agent learned that the current attempt started. */
  startedAt: number | null
  finishedAt: number | null
  parent?: string
  /** The task this one's result started. */
  next?: string
}

/** The parts of a council the board needs: its roster under its epoch, and whether it ended. */
export interface CouncilSeats {
  id: string
  epoch: number
  state: string
  roster: Array<{ role: string; peerId: string }>
}

/** What became of a result message. */
export type ResultVerdict = 'accepted' | 'duplicate' | 'stale' | 'unknown'

const finished = (t: TaskView): boolean => t.state === 'done' || t.state === 'failed'

/**
 * Task states at one agent, a pure state machine fed by council changes and task messages.
 * A task goes to whoever holds its role in the committed roster; when a commit seats someone
 * else, the task is dispatched again under that epoch. A result counts once (the first
 * accepted); one from a former holder under an older epoch than the current dispatch is stale.
 */
export class TaskBoard {
  private readonly tasks = new Map<string, TaskView>()
  /** Tasks failed here without a holder's word: a holder's result still replaces the failure. */
  private readonly inferred = new Set<string>()
  /** Told of tasks the board forgets (its store drops them too). */
  private readonly onForget: (ids: string[]) => void

  constructor(opts: { onForget?: (ids: string[]) => void } = {}) {
    this.onForget = opts.onForget ?? (() => {})
  }

  /** Put back a task saved before a restart (one already known wins). */
  restore(task: TaskView): void {
    if (!this.tasks.has(task.id)) this.tasks.set(task.id, task)
  }
  /**
   * Start and result reports that arrived before their task. Gossip does not order messages from
   * different senders: a holder's `start` can overtake the `submit` another member published,
   * and a member that dropped it counted one attempt too few after a failover.
   */
  private readonly early = new Map<
    string,
    { at: number; reports: Array<{ from: string; msg: StartMessage | ResultMessage }> }
  >()

  get(id: string): TaskView | undefined {
    return this.tasks.get(id)
  }

  /** Every task on the board (metrics count them by state). */
  all(): TaskView[] {
    return [...this.tasks.values()]
  }

  list(council: string): TaskView[] {
    return [...this.tasks.values()]
      .filter(t => t.council === council)
      .sort((a, b) => a.submittedAt - b.submittedAt || a.id.localeCompare(b.id))
  }

  /** Finished tasks that finished at or before `before` drop their input; returns those that did. */
  dropInputs(before: number): TaskView[] {
    const dropped: TaskView[] = []
    for (const t of this.tasks.values()) {
      if (finished(t) && t.finishedAt !== null && t.finishedAt <= before && t.input !== null) {
        t.input = null
        dropped.push(t)
      }
    }
    return dropped
  }

  unfinished(council: string): TaskView[] {
    return this.list(council).filter(t => !finished(t))
  }

  /** Learn a task (idempotent by id); `created` is false when it was known. */
  submit(spec: TaskSpec, tenant: string, council?: CouncilSeats): { task: TaskView; created: boolean } {
    const known = this.tasks.get(spec.id)
    if (known !== undefined) return { task: known, created: false }
    const task: TaskView = {
      id: spec.id,
      council: spec.council,
      tenant,
      role: spec.role,
      input: spec.input,
      state: 'queued',
      holder: null,
      epoch: 0,
      attempts: 0,
      submittedAt: spec.submittedAt,
      submittedBy: spec.submittedBy,
      timeoutMs: spec.timeoutMs,
      startedAt: null,
      finishedAt: null,
      ...(spec.parent !== undefined ? { parent: spec.parent } : {})
    }
    this.tasks.set(task.id, task)
    if (council !== undefined) this.assign(council)
    this.replayEarly(task.id)
    this.forgetFinished(spec.council)
    return { task, created: true }
  }

  private keepEarly(from: string, msg: StartMessage | ResultMessage, now: number): void {
    const entry = this.early.get(msg.id)
    if (entry !== undefined) {
      if (entry.reports.length < MAX_EARLY_REPORTS_PER_TASK) entry.reports.push({ from, msg })
      return
    }
    if (this.early.size >= MAX_EARLY_REPORTS) this.early.delete(this.early.keys().next().value as string)
    this.early.set(msg.id, { at: now, reports: [{ from, msg }] })
  }

  private replayEarly(id: string, now = Date.now()): void {
    const entry = this.early.get(id)
    if (entry === undefined) return
    this.early.delete(id)
    if (now - entry.at > EARLY_REPORT_TTL_MS) return
    for (const { from, msg } of entry.reports) {
      if (msg.type === 'start') this.started(from, msg, now)
      else this.result(from, msg, now)
    }
  }

  /**
   * Follow a council's committed roster: unfinished tasks whose role changed hands are
   * dispatched to the new holder under the council's epoch. Returns the tasks that moved.
   */
  assign(council: CouncilSeats): TaskView[] {
    const moved: TaskView[] = []
    for (const task of this.unfinished(council.id)) {
      const holder = council.roster.find(s => s.role === task.role)?.peerId ?? null
      if (holder === null || holder === task.holder || council.epoch < task.epoch) continue
      task.holder = holder
      task.epoch = council.epoch
      task.state = 'queued'
      task.startedAt = null
      moved.push(task)
    }
    return moved
  }

  /** A holder reports it started. Ignored from a former holder under an older epoch. */
  started(from: string, msg: StartMessage, now = Date.now()): boolean {
    const task = this.tasks.get(msg.id)
    if (task === undefined) {
      this.keepEarly(from, msg, now)
      return false
    }
    if (finished(task)) return false
    if (from !== task.holder && msg.epoch < task.epoch) return false
    task.holder = from
    task.epoch = Math.max(task.epoch, msg.epoch)
    task.attempts = Math.max(task.attempts, msg.attempt)
    task.state = 'running'
    task.startedAt = now
    return true
  }

  /**
   * A holder reports a result. The first acceptable one wins; later ones are duplicates. A
   * result from someone who is not the current holder counts only if its epoch is not older
   * than the current dispatch (this agent may simply not have seen that commit yet).
   */
  result(from: string, msg: ResultMessage, now = Date.now()): ResultVerdict {
    const task = this.tasks.get(msg.id)
    if (task === undefined) {
      this.keepEarly(from, msg, now)
      return 'unknown'
    }
    // A holder's word replaces a failure this agent only inferred (a deadline it saw pass, a
    // council it saw end): every agent then ends with the state the holder reported.
    if (finished(task) && !this.inferred.has(task.id)) return 'duplicate'
    if (from !== task.holder && msg.epoch < task.epoch) return 'stale'
    this.inferred.delete(task.id)
    delete task.error
    delete task.result
    task.holder = from
    task.epoch = Math.max(task.epoch, msg.epoch)
    task.attempts = Math.max(task.attempts, msg.attempt)
    task.finishedAt = now
    if (msg.ok) {
      task.state = 'done'
      task.result = msg.output
    } else {
      task.state = 'failed'
      task.error = msg.error ?? 'failed'
    }
    if (msg.next !== undefined) task.next = msg.next
    return 'accepted'
  }

  /** Whether a task's failure was inferred here rather than reported by a holder. */
  failedHere(id: string): boolean {
    return this.inferred.has(id)
  }

  /** Fail a task here without a holder's word (its deadline passed, its council ended). */
  fail(id: string, error: string, now = Date.now()): boolean {
    const task = this.tasks.get(id)
    if (task === undefined || finished(task)) return false
    this.inferred.add(id)
    task.state = 'failed'
    task.error = error.slice(0, MAX_TASK_ERROR_CHARS)
    task.finishedAt = now
    return true
  }

  /** Unfinished tasks whose deadline passed more than the grace period ago. */
  overdue(now = Date.now()): TaskView[] {
    return [...this.tasks.values()].filter(
      t => !finished(t) && now > t.submittedAt + t.timeoutMs + TASK_EXPIRY_GRACE_MS
    )
  }

  /** Forget every task of a council (it was forgotten itself). */
  forgetCouncil(council: string): void {
    const ids = this.list(council).map(t => t.id)
    for (const id of ids) {
      this.tasks.delete(id)
      this.inferred.delete(id)
    }
    this.onForget(ids)
  }

  private forgetFinished(council: string): void {
    const done = this.list(council).filter(finished)
    const ids = done.slice(0, Math.max(0, done.length - MAX_FINISHED_TASKS_PER_COUNCIL)).map(t => t.id)
    for (const id of ids) {
      this.tasks.delete(id)
      this.inferred.delete(id)
    }
    this.onForget(ids)
  }
}
