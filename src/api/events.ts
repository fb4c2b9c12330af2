/**
 * `GET /v1/events`: Server-Sent Events. Each event has an id; a client that reconnects with
 * `Last-Event-ID` (browsers' EventSource does it by itself) gets what it missed, then live events.
 * `?types=member,council,task,rejected` narrows the stream.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { eventDefaults, type AgentEvent, type EventLog, type EventType } from '../events/index.js'
import { CHUNK_BYTES, SLOW_CLIENT_MS } from './constants.js'
import { within } from './stream.js'

const TYPES: readonly EventType[] = ['member', 'council', 'task', 'rejected']

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1))

/** Each event's SSE text, made once however many clients it goes to. */
const texts = new WeakMap<AgentEvent, string>()
function sseText(event: AgentEvent): string {
  let text = texts.get(event)
  if (text === undefined) {
    text = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
    texts.set(event, text)
  }
  return text
}

/** `visible` narrows the stream to the events a client may see (its token's tenant). */
export function eventStream(
  c: Context,
  log: EventLog,
  visible?: (event: AgentEvent) => boolean,
  onEnd?: () => void
): Response {
  const typesParam = c.req.query('types')
  const types =
    typesParam === undefined
      ? TYPES
      : typesParam
          .split(',')
          .map(t => t.trim())
          .filter(t => t !== '')
  const unknown = types.filter(t => !(TYPES as readonly string[]).includes(t))
  if (unknown.length > 0 || types.length === 0) {
    return c.json({ error: `types must be among ${TYPES.join(', ')}`, field: 'types' }, 400)
  }
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
    stream.onAbort(() => {
      wake?.()
    })
    let last = 0
    // Events go out in chunks of at most CHUNK_BYTES, each written once the client took the one
    // before; a client that takes none for SLOW_CLIENT_MS is cut off (it resumes by Last-Event-ID).
    let chunk = ''
    const flush = async (): Promise<void> => {
      if (chunk === '') return
      const text = chunk
      chunk = ''
      await within(stream.write(text), SLOW_CLIENT_MS)
    }
    const add = async (event: AgentEvent): Promise<void> => {
      chunk += sseText(event)
      last = seqOf(event.id)
      if (chunk.length >= CHUNK_BYTES) await flush()
    }
    try {
      const { events: backlog, gap } = log.after(lastId)
      // The client asked to resume from events that are no longer kept: it must reload state.
      if (gap) chunk += `event: gap\ndata: ${JSON.stringify({ lastEventId: lastId ?? null })}\n\n`
      for (const event of backlog) {
        if (wanted(event)) await add(event)
        if (stream.aborted) return
      }
      await flush()
      // eslint-disable-next-line no-unmodified-loop-condition -- set by a callback while the loop awaits
      while (!stream.aborted && !stream.closed && !overflowed) {
        if (queue.length === 0) {
          await new Promise<void>(resolve => {
            const timer = setTimeout(resolve, eventDefaults.SSE_KEEPALIVE_MS)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          wake = undefined
          if (queue.length === 0 && !stream.aborted) await within(stream.write(': keepalive\n\n'), SLOW_CLIENT_MS)
          continue
        }
        for (const event of queue.splice(0)) if (seqOf(event.id) > last) await add(event)
        await flush()
      }
    } catch {
      stream.abort()
    } finally {
      unsubscribe()
      onEnd?.()
    }
  })
}
