import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ChatRequest {
  model: string
  messages: Array<{ role: string; content: string }>
}

/** How the fake endpoint answers one request. */
export type Reply = { status: number; body: string } | 'hang'

/** A local OpenAI-compatible chat endpoint on loopback; `reply` decides each answer. */
export interface LlmServer {
  url: string
  requests: ChatRequest[]
  reply: (req: ChatRequest) => Reply
  close(): Promise<void>
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  return body
}

export const completion = (content: string): Reply => ({
  status: 200,
  body: JSON.stringify({
    id: 'c1',
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }]
  })
})

export async function startLlmServer(): Promise<LlmServer> {
  const hanging = new Set<() => void>()
  const state: LlmServer = {
    url: '',
    requests: [],
    reply: req => completion(`echo: ${req.messages.at(-1)?.content ?? ''}`),
    close: async () => {
      for (const end of hanging) end()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{"error":"not found"}')
        return
      }
      const chat = JSON.parse(await readBody(req)) as ChatRequest
      state.requests.push(chat)
      const reply = state.reply(chat)
      if (reply === 'hang') {
        hanging.add(() => res.destroy())
        return
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body)
    })()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return state
}
