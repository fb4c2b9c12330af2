import { Hono } from 'hono'
import type { PeerView } from '../membership/index.js'

/** What the HTTP API reads from the running agent. */
export interface ApiSource {
  self(): { peerId: string, name: string, roles: string[], tenant: string, tenants: string[], addrs: string[] }
  peers(): PeerView[]
  /** undefined when ready, else the reason it is not. */
  notReadyReason(): string | undefined
  metrics(): Promise<{ contentType: string, body: string }>
}

/** The agent's HTTP API (JSON). Routes are listed in the README. */
export function createApiApp (source: ApiSource): Hono {
  const app = new Hono()

  app.get('/health', c => c.json({ status: 'ok' }))

  app.get('/ready', c => {
    const reason = source.notReadyReason()
    return reason === undefined ? c.json({ status: 'ready' }) : c.json({ status: 'not-ready', reason }, 503)
  })

  app.get('/metrics', async c => {
    const { contentType, body } = await source.metrics()
    return c.body(body, 200, { 'content-type': contentType })
  })

  app.get('/v1/self', c => c.json(source.self()))

  app.get('/v1/peers', c => {
    const peers = source.peers().map(p => ({
      peerId: p.peerId, name: p.name, roles: p.roles, tenant: p.tenant, state: p.state, lastSeenMs: p.lastSeenMs, addrs: p.addrs
    }))
    return c.json(peers)
  })

  app.notFound(c => c.json({ error: 'not found', path: c.req.path }, 404))
  app.onError((err, c) => c.json({ error: 'internal error', message: err.message }, 500))
  return app
}
