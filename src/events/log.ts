import { randomBytes } from 'node:crypto'
import * as C from './constants.js'

/** What the event stream carries. */
export type EventType = 'member' | 'council' | 'task' | 'rejected'

export interface AgentEvent {
  /** `<boot>-<seq>`: the boot part changes when the agent restarts, the sequence grows by one. */
  id: string
  type: EventType
  /** Milliseconds since the epoch, when the agent saw it. */
  ts: number
  data: Record<string, unknown>
}

export interface EventLogInit {
  /**
   * Events kept for replay to clients that reconnect or connect late (at least this many; up to
   * a quarter more between trims).
   *
   * @default 10000
   */
  capacity?: number
}

/**
 * The agent's recent events, in order, with ids a client can resume from (SSE `Last-Event-ID`):
 * membership changes, council state and roster changes, task state changes, rejections.
 */
export class EventLog {
  private readonly boot = randomBytes(4).toString('hex')
  private readonly capacity: number
  private readonly events: AgentEvent[] = []
  private seq = 0
  private readonly listeners = new Set<(event: AgentEvent) => void>()

  constructor(init: EventLogInit = {}) {
    this.capacity = init.capacity ?? C.DEFAULT_EVENT_CAPACITY
  }

  emit(type: EventType, data: Record<string, unknown>): AgentEvent {
    const event: AgentEvent = { id: `${this.boot}-${++this.seq}`, type, ts: Date.now(), data }
    this.events.push(event)
    // Trimmed in batches: shifting a 10,000-entry array on every event would cost O(n) each.
    if (this.events.length > this.capacity + this.capacity / 4) {
      this.events.splice(0, this.events.length - this.capacity)
    }
    for (const listener of this.listeners) listener(event)
    return event
  }

  /**
   * Events after `lastId`. An id of this run resumes right after it; an unknown one (another
   * run of the agent, or a malformed header) replays everything still kept. `gap` tells that
   * events the client asked for were already dropped.
   */
  after(lastId?: string): { events: AgentEvent[]; gap: boolean } {
    if (lastId === undefined || lastId === '') return { events: [...this.events], gap: false }
    const [boot, seqText] = lastId.split('-')
    const seq = Number(seqText)
    if (boot !== this.boot || !Number.isInteger(seq) || seq < 0 || seq > this.seq) {
      return { events: [...this.events], gap: this.seq > this.events.length }
    }
    const first = this.seq - this.events.length + 1
    return { events: this.events.slice(Math.max(0, seq + 1 - first)), gap: seq + 1 < first }
  }

  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
