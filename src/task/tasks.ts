import { createHash, randomBytes } from 'node:crypto'
import type { PeerId, Startable } from '@libp2p/interface'
import type { BehaviourSet, TaskContext, TaskInfo, TaskOutcome } from '../behaviour/index.js'
import type { CouncilView } from '../council/index.js'
import { UnknownCouncilError } from '../council/index.js'
import { silentLogger, type Logger } from '../logger/index.js'
import type { Memory } from '../memory/index.js'
import type { Tenancy, TenantChannel, TenantMessage, Verdict } from '../tenancy/index.js'
import { decodeJson, encodeJson } from '../util/json.js'
import { OverloadError } from '../util/errors.js'
import { TaskBoard, type TaskView } from './board.js'
import { memoryTaskStore, type TaskStore } from './store.js'
import * as C from './constants.js'
import { CouncilEndedError, TaskConflictError, TaskRequestError, TaskRunError, UnknownRoleError } from './errors.js'
import { jsonBytes, taskMessageSchema, taskRequestSchema, type TaskMessage, type TaskSpec } from './messages.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface TasksInit {
  /**
   * Tasks in flight (queued or running) a council takes through `submit`; more throw
   * `OverloadError`. Tasks a result starts are never refused.
   *
   * @default 256
   */
  maxPerCouncil?: number
  /**
   * Tasks in flight this agent submits at once, over all its councils.
   *
   * @default 512
   */
  maxPerSubmitter?: number
  /**
   * A finished task keeps its input this long, then only its result.
   *
   * @default 600000
   */
  inputRetentionMs?: number
  /**
   * Where the task board is kept across restarts (`sqliteTaskStore(<data dir>/tasks.db)` in an
   * agent).
   *
   * @default in memory only
   */
  store?: TaskStore
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface TasksComponents {
  peerId: PeerId
  tenancy: Tenancy
  councils: {
    get(id: string): CouncilView | undefined
    list(): CouncilView[]
    onChange(listener: (view: CouncilView) => void): () => void
  }
  memory: Pick<Memory, 'record' | 'query'>
  behaviours: BehaviourSet
}

/** Listener of task changes (state, holder, result). */
export type TaskListener = (task: TaskView) => void

interface Running {
  controller: AbortController
  epoch: number
}

const ENDED = new Set(['dissolved', 'failed'])

/** Id of the task a result starts: derived, so a retried result never starts it twice. */
export function nextTaskId(parent: string): string {
  return createHash('sha256').update(`${parent}\u0000next`).digest('base64url').slice(0, 22)
}

/**
 * Tasks in councils. Every member of the tenant learns each task from the `task` channel and
 * follows the council's committed roster: the holder of the task's role runs it with its
 * behaviour, reports start and result, and records the episode. When a commit seats another
 * holder before a result, the new holder runs it again under the new epoch, so no task is lost
 * with its holder; a result is accepted once, and a stale holder's is discarded.
 */
export class Tasks implements Startable {
  private readonly components: TasksComponents
  private readonly log: Logger
  private readonly init: TasksInit
  private readonly board: TaskBoard
  private readonly store: TaskStore
  private readonly channels = new Map<string, TenantChannel>()
  private readonly running = new Map<string, Running>()
  private readonly listeners = new Set<TaskListener>()
  private readonly counters = { accepted: 0, duplicate: 0, stale: 0 }
  private readonly lastEpoch = new Map<string, number>()
  /** Tasks submitted here without a result yet, with when their submit was last sent. */
  private readonly awaiting = new Map<string, number>()
  /** Tasks failed here on their deadline whose holder is asked for a result it may have. */
  private readonly repairs = new Map<string, { tries: number; at: number }>()
  private unsubscribe?: () => void
  private ticking?: Ticking
  private started = false

  constructor(components: TasksComponents, init: TasksInit = {}) {
    this.components = components
    this.init = init
    this.store = init.store ?? memoryTaskStore()
    this.board = new TaskBoard({
      onForget: ids => {
        this.store.remove(ids)
      }
    })
    this.log = (init.logger ?? silentLogger()).child({ component: 'tasks' })
  }

  readonly [Symbol.toStringTag] = 'conclave:tasks'

  private get self(): string {
    return this.components.peerId.toString()
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const { tenancy, councils } = this.components
    for (const tenant of tenancy.tenants) {
      this.channels.set(
        tenant,
        tenancy.join(tenant, C.TASK_CHANNEL, async msg => await this.onMessage(msg), {
          maxBytes: C.MAX_TASK_MESSAGE_BYTES
        })
      )
    }
    this.restore()
    this.unsubscribe = councils.onChange(view => {
      this.follow(view)
    })
    for (const view of councils.list()) this.follow(view)
    let inputsDroppedAt = 0
    this.ticking = everyTick(C.TASK_TICK_MS, () => {
      this.expire()
      this.resubmit()
      const now = Date.now()
      if (now - inputsDroppedAt >= C.INPUT_DROP_EVERY_MS) {
        inputsDroppedAt = now
        for (const task of this.board.dropInputs(
          now - (this.init.inputRetentionMs ?? C.DEFAULT_TASK_INPUT_RETENTION_MS)
        )) {
          this.store.save(task)
        }
      }
    })
  }

  /**
   * Put back the tasks saved before a restart, of the councils this agent still follows: those
   * held here run again when their council is followed, those submitted here are sent again
   * until their results arrive.
   */
  private restore(): void {
    const forgotten: string[] = []
    let restored = 0
    for (const task of this.store.load()) {
      if (this.components.councils.get(task.council) === undefined) {
        forgotten.push(task.id)
        continue
      }
      this.board.restore(task)
      restored++
      if (task.submittedBy === this.self && task.state !== 'done' && task.state !== 'failed') {
        this.awaiting.set(task.id, 0)
      }
    }
    this.store.remove(forgotten)
    if (restored > 0) this.log.info({ restored, dropped: forgotten.length }, 'task board restored')
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.ticking?.stop()
    this.unsubscribe?.()
    for (const run of this.running.values()) run.controller.abort(new TaskRunError('agent stopping'))
    this.running.clear()
    for (const channel of this.channels.values()) this.components.tenancy.leave(channel)
    this.channels.clear()
  }

  /** Listen to every task change; returns an unsubscribe function. */
  onChange(listener: TaskListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Counts of results accepted, duplicated and discarded as stale, at this agent. */
  get results(): { accepted: number; duplicate: number; stale: number } {
    return { ...this.counters }
  }

  /**
   * Submit a task to a council (validated like the HTTP body). Throws `UnknownCouncilError`,
   * `UnknownRoleError`, `TaskRequestError`, `TaskConflictError` or `CouncilEndedError`.
   */
  async submit(councilId: string, body: unknown, parent?: string): Promise<{ taskId: string; created: boolean }> {
    const council = this.components.councils.get(councilId)
    if (council === undefined) throw new UnknownCouncilError(councilId)
    const parsed = taskRequestSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new TaskRequestError(issue?.path.join('.') || 'body', issue?.message ?? 'invalid')
    }
    const req = parsed.data
    const roles = [...council.coreRoles, ...council.optionalRoles]
    if (!roles.includes(req.role)) throw new UnknownRoleError(councilId, req.role, roles)
    const id = req.id ?? randomBytes(12).toString('base64url')
    const known = this.board.get(id)
    if (known !== undefined) {
      if (known.council !== councilId || known.role !== req.role) throw new TaskConflictError(id)
      return { taskId: id, created: false }
    }
    if (ENDED.has(council.state)) throw new CouncilEndedError(councilId, council.state)
    if (parent === undefined) this.checkRoom(councilId)
    const spec: TaskSpec = {
      id,
      council: councilId,
      role: req.role,
      input: req.input,
      timeoutMs: req.timeoutMs ?? C.DEFAULT_TASK_TIMEOUT_MS,
      submittedAt: Date.now(),
      submittedBy: this.self,
      ...(parent !== undefined ? { parent } : {})
    }
    this.board.submit(spec, council.tenant, council)
    this.awaiting.set(id, Date.now())
    await this.send(council.tenant, { type: 'submit', task: spec })
    this.changed(id)
    this.dispatch(council)
    return { taskId: id, created: true }
  }

  /** Refuse a submission past the in-flight limits; nothing accepted is dropped to make room. */
  private checkRoom(councilId: string): void {
    let inCouncil = 0
    let mine = 0
    for (const t of this.board.all()) {
      if (t.state === 'done' || t.state === 'failed') continue
      if (t.council === councilId) inCouncil++
      if (t.submittedBy === this.self) mine++
    }
    const perCouncil = this.init.maxPerCouncil ?? C.DEFAULT_MAX_TASKS_PER_COUNCIL
    const perSubmitter = this.init.maxPerSubmitter ?? C.DEFAULT_MAX_TASKS_PER_SUBMITTER
    if (inCouncil >= perCouncil) {
      throw new OverloadError(
        'CONCLAVE_MAX_TASKS_PER_COUNCIL',
        `council ${councilId} has ${inCouncil} tasks in flight, the most allowed`,
        C.TASK_RETRY_AFTER_S
      )
    }
    if (mine >= perSubmitter) {
      throw new OverloadError(
        'CONCLAVE_MAX_TASKS_PER_SUBMITTER',
        `this agent has ${mine} submitted tasks in flight, the most allowed`,
        C.TASK_RETRY_AFTER_S
      )
    }
  }

  get(councilId: string, taskId: string): TaskView | undefined {
    const task = this.board.get(taskId)
    return task?.council === councilId && this.components.councils.get(councilId) !== undefined
      ? { ...task }
      : undefined
  }

  /** Every task this agent knows, of every council (views). */
  all(): TaskView[] {
    return this.board.all().map(t => ({ ...t }))
  }

  list(councilId: string): TaskView[] {
    return this.components.councils.get(councilId) === undefined ? [] : this.board.list(councilId).map(t => ({ ...t }))
  }

  // --- following councils ----------------------------------------------------------------------

  private follow(view: CouncilView): void {
    if (ENDED.has(view.state)) {
      for (const task of this.board.unfinished(view.id)) {
        this.abortRun(task.id, `council ${view.state}`)
        if (this.board.fail(task.id, `council ${view.state}${view.reason !== undefined ? `: ${view.reason}` : ''}`)) {
          this.changed(task.id)
        }
      }
      return
    }
    const previous = this.lastEpoch.get(view.id) ?? 0
    this.lastEpoch.set(view.id, view.epoch)
    this.dispatch(view)
    // A new epoch may seat an agent that joined after the tasks were sent: the coordinator tells it.
    if (view.epoch > previous && view.coordinator === this.self) {
      for (const task of this.board.unfinished(view.id)) {
        void this.send(view.tenant, { type: 'submit', task: specOf(task) })
      }
    }
  }

  /** Apply the roster to the tasks of a council; run those now held here, abort those lost. */
  private dispatch(view: CouncilView): void {
    for (const task of this.board.assign(view)) {
      this.changed(task.id)
      if (task.holder !== this.self) this.abortRun(task.id, 'seat moved to another holder')
    }
    for (const task of this.board.unfinished(view.id)) {
      if (task.holder === this.self && !this.running.has(task.id)) void this.run(task, view)
    }
  }

  private abortRun(taskId: string, reason: string): void {
    const run = this.running.get(taskId)
    if (run === undefined) return
    this.running.delete(taskId)
    run.controller.abort(new TaskRunError(reason))
  }

  // --- running ----------------------------------------------------------------------------------

  private async run(task: TaskView, council: CouncilView): Promise<void> {
    const controller = new AbortController()
    const epoch = task.epoch
    this.running.set(task.id, { controller, epoch })
    const attempt = task.attempts + 1
    const remaining = task.submittedAt + task.timeoutMs - Date.now()
    const deadline = setTimeout(
      () => {
        controller.abort(new TimeoutError(task.timeoutMs))
      },
      Math.max(0, remaining)
    )
    const log = this.log.child({ task: task.id, council: council.id, role: task.role })
    try {
      const start = { type: 'start' as const, id: task.id, council: council.id, epoch, attempt }
      if (this.board.started(this.self, start)) this.changed(task.id)
      await this.send(council.tenant, start)
      const behaviour = this.components.behaviours.for(task.role)
      if (behaviour === undefined) throw new TaskRunError(`agent has no behaviour for role ${task.role}`)
      const info: TaskInfo = {
        id: task.id,
        council: council.id,
        role: task.role,
        input: task.input,
        attempt,
        epoch,
        ...(task.parent !== undefined ? { parent: task.parent } : {})
      }
      const outcome =
        (await raceAbort(
          Promise.resolve(behaviour.onTask(info, this.context(info, council, log, controller.signal))),
          controller.signal
        )) ?? {}
      if (outcome.output !== undefined && jsonBytes(outcome.output) > C.MAX_TASK_OUTPUT_BYTES) {
        throw new TaskRunError(`output exceeds ${C.MAX_TASK_OUTPUT_BYTES} bytes as JSON`)
      }
      await this.finish(task, council, epoch, attempt, outcome, undefined)
    } catch (err) {
      const reason = controller.signal.aborted ? (controller.signal.reason as Error) : (err as Error)
      if (controller.signal.aborted && !(reason instanceof TimeoutError)) {
        log.info({ reason: reason.message }, 'task abandoned here')
        return
      }
      await this.finish(task, council, epoch, attempt, undefined, reason.message)
    } finally {
      clearTimeout(deadline)
      if (this.running.get(task.id)?.controller === controller) this.running.delete(task.id)
    }
  }

  private context(info: TaskInfo, council: CouncilView, log: Logger, signal: AbortSignal): TaskContext {
    const { memory } = this.components
    return {
      council,
      task: info,
      log,
      signal,
      memory: {
        record: async episode =>
          await memory.record(council.tenant, { council: council.id, task: info.id, role: info.role, ...episode }),
        recent: (filter = {}) => memory.query({ ...filter, tenant: council.tenant })
      }
    }
  }

  /** Publish the result (if this agent still holds the task), record the episode, start the next task. */
  private async finish(
    task: TaskView,
    council: CouncilView,
    epoch: number,
    attempt: number,
    outcome: TaskOutcome | undefined,
    error: string | undefined
  ): Promise<void> {
    if (this.running.get(task.id)?.epoch !== epoch || !this.started) return
    const next = outcome?.next !== undefined ? nextTaskId(task.id) : undefined
    const result = {
      type: 'result' as const,
      id: task.id,
      council: council.id,
      epoch,
      attempt,
      ok: error === undefined,
      ...(outcome?.output !== undefined ? { output: outcome.output } : {}),
      ...(error !== undefined ? { error: error.slice(0, C.MAX_TASK_ERROR_CHARS) } : {}),
      ...(next !== undefined ? { next } : {})
    }
    this.onResult(this.self, result)
    await this.send(council.tenant, result)
    const summary =
      outcome?.summary ?? (error !== undefined ? `failed: ${error}` : (JSON.stringify(outcome?.output) ?? 'done'))
    try {
      await this.components.memory.record(council.tenant, {
        council: council.id,
        task: task.id,
        role: task.role,
        summary: summary.slice(0, 4_096),
        reward: error !== undefined ? null : (outcome?.reward ?? null)
      })
    } catch (err) {
      this.log.warn({ task: task.id, err: (err as Error).message }, 'could not record the episode')
    }
    if (outcome?.next !== undefined && next !== undefined) {
      try {
        await this.submit(council.id, { role: outcome.next.role, input: outcome.next.input, id: next }, task.id)
      } catch (err) {
        this.log.warn(
          { task: task.id, next: outcome.next.role, err: (err as Error).message },
          'could not start the next task'
        )
      }
    }
  }

  // --- messages ---------------------------------------------------------------------------------

  private async send(tenant: string, message: TaskMessage): Promise<void> {
    const channel = this.channels.get(tenant)
    if (channel === undefined) return
    try {
      await channel.publish(encodeJson(message))
    } catch (err) {
      this.log.debug({ type: message.type, err: (err as Error).message }, 'task publish failed')
    }
  }

  private readonly onMessage = async (msg: TenantMessage): Promise<Verdict> => {
    const message = decodeJson(msg.payload, taskMessageSchema)
    if (message === undefined) return { reject: 'malformed' }
    const councilId = message.type === 'submit' ? message.task.council : message.council
    const council = this.components.councils.get(councilId)
    if (council !== undefined && council.tenant !== msg.tenant) return { reject: 'wrong-tenant' }
    switch (message.type) {
      case 'submit': {
        if (council !== undefined && ![...council.coreRoles, ...council.optionalRoles].includes(message.task.role)) {
          return { reject: 'unknown-role' }
        }
        const known = this.board.get(message.task.id)
        if (known !== undefined && known.holder === this.self && (known.state === 'done' || known.state === 'failed')) {
          this.resendResult(known)
        }
        const { created } = this.board.submit(message.task, msg.tenant, council)
        if (created) this.changed(message.task.id)
        if (council !== undefined) this.dispatch(council)
        return 'accept'
      }
      case 'start':
        if (this.board.started(msg.from, message)) this.changed(message.id)
        return 'accept'
      case 'result':
        this.onResult(msg.from, message)
        return 'accept'
    }
  }

  private onResult(from: string, message: Extract<TaskMessage, { type: 'result' }>): void {
    const verdict = this.board.result(from, message)
    if (verdict === 'unknown') return
    this.counters[verdict]++
    if (verdict === 'stale') {
      this.log.info({ task: message.id, from, epoch: message.epoch }, 'discarded a result from a former holder')
    }
    if (verdict === 'accepted') {
      this.changed(message.id)
      // Someone else's result ends the task: if it was running here too, stop.
      if (from !== this.self) this.abortRun(message.id, 'result arrived from another holder')
    }
  }

  /**
   * Gossip is best effort: a submit can miss its holder, or the holder's start and result can
   * miss the submitter (a mesh still forming, a lost message), and the task would wait for its
   * deadline. The submitter sends the submit again until it has the result: often while no
   * holder has started, rarely while one runs. Receivers that know the task ignore the copy, and
   * a holder that already finished it sends its result again.
   */
  private resubmit(): void {
    const now = Date.now()
    for (const [id, sentAt] of this.awaiting) {
      const task = this.board.get(id)
      if (task === undefined || task.state === 'done' || task.state === 'failed') {
        this.awaiting.delete(id)
        continue
      }
      if (now - sentAt < (task.state === 'queued' ? C.RESUBMIT_MS : C.RESUBMIT_RUNNING_MS)) continue
      this.awaiting.set(id, now)
      this.log.debug({ task: id, role: task.role, state: task.state }, 'no result yet; sending the task again')
      void this.send(task.tenant, { type: 'submit', task: specOf(task) })
    }
  }

  /** The result this agent reported for `task`, again (its first copy may have been lost). */
  private resendResult(task: TaskView): void {
    void this.send(task.tenant, {
      type: 'result',
      id: task.id,
      council: task.council,
      epoch: task.epoch,
      attempt: Math.max(1, task.attempts),
      ok: task.state === 'done',
      ...(task.result !== undefined ? { output: task.result } : {}),
      ...(task.error !== undefined ? { error: task.error } : {}),
      ...(task.next !== undefined ? { next: task.next } : {})
    })
  }

  private expire(): void {
    const now = Date.now()
    for (const task of this.board.overdue()) {
      if (
        !this.board.fail(
          task.id,
          `timed out after ${task.timeoutMs} ms without a result${task.holder === null ? ' (no holder was seated)' : ''}`
        )
      ) {
        continue
      }
      this.changed(task.id)
      // The holder may have finished and its result gone astray: ask for it.
      if (task.holder !== null) this.repairs.set(task.id, { tries: 0, at: now })
    }
    this.askForResults(now)
  }

  /**
   * A task that timed out here may be done at its holder. Sending the task again makes a holder
   * that finished it report its result again, to every member: a few times, further apart,
   * until a holder's result replaces the failure inferred here.
   */
  private askForResults(now: number): void {
    let sent = 0
    for (const [id, repair] of this.repairs) {
      const task = this.board.get(id)
      if (task === undefined || !this.board.failedHere(id) || repair.tries >= C.RESULT_ASKS.length) {
        this.repairs.delete(id)
        continue
      }
      if (now < repair.at || sent >= C.MAX_RESULT_ASKS_PER_TICK) continue
      sent++
      repair.at = now + (C.RESULT_ASKS[repair.tries] ?? 0)
      repair.tries++
      void this.send(task.tenant, { type: 'submit', task: specOf(task) })
    }
  }

  private changed(id: string): void {
    const task = this.board.get(id)
    if (task === undefined) return
    this.store.save(task)
    for (const listener of this.listeners) {
      try {
        listener({ ...task })
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'task listener failed')
      }
    }
  }
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
  constructor(ms: number) {
    super(`timed out after ${ms} ms`)
  }
}

function specOf(task: TaskView): TaskSpec {
  return {
    id: task.id,
    council: task.council,
    role: task.role,
    input: task.input,
    timeoutMs: task.timeoutMs,
    submittedAt: task.submittedAt,
    submittedBy: task.submittedBy,
    ...(task.parent !== undefined ? { parent: task.parent } : {})
  }
}

/** A behaviour that ignores its signal still cannot hold the task past an abort. */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort)
    })
  })
}
