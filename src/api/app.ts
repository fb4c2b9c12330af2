import { Hono } from 'hono'
import type { PeerView } from '../membership/index.js'
import { tenantStateSchema, type TenantState } from '../tenancy/index.js'

/** What the HTTP API reads from the running agent. */
export interface ApiSource {
  self(): { peerId: string, name: string, roles: string[], tenant: string, tenants: string[], addrs: string[] }
  peers(): PeerView[]
  /** undefined when ready, else the reason it is not. */
  notReadyReason(): string | undefined
  metrics(): Promise<{ contentType: string, body: string }>
  /** Adopt and gossip a tenant state signed by the tenant's authority (rotation, revocation). */
  applyState(tenant: string, state: TenantState): Promise<'adopted' | 'stale' | 'invalid' | 'starting'>
}

/** Largest request body the API reads. */
const MAX_BODY_BYTES = 2 * 1024 * 1024

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

  app.post('/v1/tenants/:tenant/state', async c => {
    const tenant = c.req.param('tenant')
    if (!source.self().tenants.includes(tenant)) return c.json({ error: `this agent is not a member of tenant ${tenant}` }, 404)
    const length = Number(c.req.header('content-length') ?? '0')
    if (length > MAX_BODY_BYTES) return c.json({ error: `body exceeds ${MAX_BODY_BYTES} bytes` }, 413)
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      return c.json({ error: 'body is not JSON' }, 400)
    }
    const parsed = tenantStateSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return c.json({ error: `invalid tenant state: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` }, 400)
    }
    const result = await source.applyState(tenant, parsed.data)
    if (result === 'invalid') return c.json({ error: `not a state of tenant ${tenant} signed by its authority` }, 400)
    if (result === 'starting') return c.json({ error: 'agent is starting' }, 503)
    return c.json({ result })
  })

  app.notFound(c => c.json({ error: 'not found', path: c.req.path }, 404))
  app.onError((err, c) => c.json({ error: 'internal error', message: err.message }, 500))
  return app
}
