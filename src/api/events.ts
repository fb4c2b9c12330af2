/**
 * `GET /v1/events`: Server-Sent Events. Each event has an id; a client that reconnects with
 * `Last-Event-ID` (browsers' EventSource does it by itself) gets what it missed, then live events.
 * `?types=member,council,task,rejected` narrows the stream.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { eventDefaults, type AgentEvent, type EventLog, type EventType } from '../events/index.js'

const TYPES: readonly EventType[] = ['member', 'council', 'task', 'rejected']

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1))

/** `visible` narrows the stream to the events a client may see (its token's tenant). */
export function eventStream (c: Context, log: EventLog, visible?: (event: AgentEvent) => boolean): Response {
  const typesParam = c.req.query('types')
  const types = typesParam === undefined ? TYPES : typesParam.split(',').map(t => t.trim()).filter(t => t !== '')
  const unknown = types.filter(t => !(TYPES as readonly string[]).includes(t))
  if (unknown.length > 0 || types.length === 0) return c.json({ error: `types must be among ${TYPES.join(', ')}`, field: 'types' }, 400)
  const typeWanted = new Set<string>(types)
  const wanted = (event: AgentEvent): boolean => typeWanted.has(event.type) && (visible?.(event) ?? true)
  const lastId = c.req.header('last-event-id') ?? c.req.query('lastEventId')

  return streamSSE(c, async stream => {
    const queue: AgentEvent[] = []
    let wake: (() => void) | undefined
    let overflowed = false
    // Subscribe before reading the backlog, so nothing falls between the two.
    const unsubscribe = log.subscribe(event => {
      if (!wanted(event)) return
      if (queue.length >= eventDefaults.MAX_QUEUED_PER_CLIENT) overflowed = true
      else queue.push(event)
      wake?.()
    })
    stream.onAbort(() => { wake?.() })
    const send = async (event: AgentEvent): Promise<void> => {
      await stream.writeSSE({ id: event.id, event: event.type, data: JSON.stringify(event) })
    }
    try {
      const { events: backlog, gap } = log.after(lastId)
      // The client asked to resume from events that are no longer kept: it must reload state.
      if (gap) await stream.writeSSE({ event: 'gap', data: JSON.stringify({ lastEventId: lastId ?? null }) })
      let last = 0
      for (const event of backlog) {
        if (!wanted(event)) continue
        await send(event)
        last = seqOf(event.id)
      }
      while (!stream.aborted && !stream.closed && !overflowed) {
        if (queue.length === 0) {
          await new Promise<void>(resolve => {
            const timer = setTimeout(resolve, eventDefaults.SSE_KEEPALIVE_MS)
            wake = () => { clearTimeout(timer); resolve() }
          })
          wake = undefined
          if (queue.length === 0 && !stream.aborted) await stream.write(': keepalive\n\n')
          continue
        }
        const event = queue.shift() as AgentEvent
        if (seqOf(event.id) <= last) continue
        await send(event)
        last = seqOf(event.id)
      }
    } finally {
      unsubscribe()
    }
  })
}
