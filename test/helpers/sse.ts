/** A minimal Server-Sent Events client for tests: fetch, then parse `id:`/`event:`/`data:` blocks. */
export interface SseEvent {
  id?: string
  event: string
  data: string
}

export interface SseClient {
  /** The next event (or undefined when the stream ended), waiting at most `timeoutMs`. */
  /** The next event; undefined once the stream ended. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>
  /** Whether the server ended the stream (`next` then returns undefined at once). */
  readonly ended: boolean
  close(): void
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  if (res.status !== 200 || res.body === null) throw new Error(`SSE ${url}: HTTP ${res.status} ${await res.text()}`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  const ready: SseEvent[] = []
  let ended = false
  const parse = (): void => {
    let at: number
    while ((at = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, at)
      buffer = buffer.slice(at + 2)
      const event: SseEvent = { event: 'message', data: '' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'id') event.id = value
        else if (field === 'event') event.event = value
        else if (field === 'data') data.push(value)
      }
      if (data.length === 0 && event.id === undefined) continue
      event.data = data.join('\n')
      ready.push(event)
    }
  }
  return {
    async next(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      while (ready.length === 0 && !ended) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms`)
        let timer: ReturnType<typeof setTimeout> | undefined
        const chunk = await Promise.race([
          reader.read(),
          new Promise<'timeout'>(resolve => {
            timer = setTimeout(() => {
              resolve('timeout')
            }, left)
          })
        ])
        clearTimeout(timer)
        if (chunk === 'timeout') continue
        if (chunk.done) ended = true
        else buffer += chunk.value
        parse()
      }
      return ready.shift()
    },
    get ended() {
      return ended && ready.length === 0
    },
    close() {
      abort.abort()
    }
  }
}
