import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { PeerView } from '../membership/index.js'
import { tenantStateSchema, type TenantState } from '../tenancy/index.js'
import type { Councils } from '../council/index.js'
import type { Memory } from '../memory/index.js'
import type { Tasks } from '../task/index.js'
import type { EventLog } from '../events/index.js'
import { DASHBOARD_HTML } from './dashboard.js'
import { eventStream } from './events.js'
import { memoryQuery } from './query.js'

/** What the HTTP API reads from the running agent. */
export interface ApiSource {
  self(): { peerId: string, name: string, roles: string[], tenant: string, tenants: string[], addrs: string[] }
  peers(): PeerView[]
  /** Peer ids this agent has an open connection to (the dashboard draws them as edges). */
  connectedPeers(): Set<string>
  /** undefined when ready, else the reason it is not. */
  notReadyReason(): string | undefined
  metrics(): Promise<{ contentType: string, body: string }>
  /** The agent's councils (undefined while starting). */
  councils(): Pick<Councils, 'open' | 'list' | 'get' | 'dissolve' | 'leaders'> | undefined
  /** Tasks of the agent's councils (undefined while starting). */
  tasks(): Pick<Tasks, 'submit' | 'get' | 'list'> | undefined
  /** The agent's episode memory (undefined while starting). */
  memory(): Pick<Memory, 'query' | 'stats'> | undefined
  /** The agent's recent events, streamed by `GET /v1/events`. */
  events(): EventLog | undefined
  /** Adopt and gossip a tenant state signed by the tenant's authority (rotation, revocation). */
  applyState(tenant: string, state: TenantState): Promise<'adopted' | 'stale' | 'invalid' | 'starting'>
}

/** Largest request body the API reads. */
const MAX_BODY_BYTES = 2 * 1024 * 1024

/** A JSON request body, or the 400/413 response explaining why it is not one. */
async function readJson (req: Request): Promise<unknown> {
  try {
    return JSON.parse(await req.text())
  } catch {
    return Response.json({ error: 'body is not JSON' }, { status: 400 })
  }
}

/** Status of request errors thrown by the services, by error name; others are 500. */
const ERROR_STATUS: Record<string, 400 | 404 | 409> = {
  CouncilRequestError: 400,
  TaskRequestError: 400,
  MemoryQueryError: 400,
  UnknownCouncilError: 404,
  UnknownRoleError: 404,
  TaskConflictError: 409,
  CouncilEndedError: 409
}

/** The JSON answer to a request error (`field` names what to fix), or undefined for a bug. */
function requestError (err: unknown): Response | undefined {
  const e = err as Error & { field?: string }
  const status = ERROR_STATUS[e.name]
  if (status === undefined) return undefined
  return Response.json({ error: e.message, ...(e.field !== undefined ? { field: e.field } : {}) }, { status })
}

const starting = (): Response => Response.json({ error: 'agent is starting' }, { status: 503 })

/** The agent's HTTP API (JSON). Routes are listed in the README. */
export function createApiApp (source: ApiSource): Hono {
  const app = new Hono()

  app.use('/v1/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: c => c.json({ error: `body exceeds ${MAX_BODY_BYTES} bytes` }, 413) }))

  app.get('/', c => c.html(DASHBOARD_HTML))

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

  app.get('/v1/events', c => {
    const log = source.events()
    return log === undefined ? starting() : eventStream(c, log)
  })

  app.get('/v1/peers', c => {
    const connected = source.connectedPeers()
    const peers = source.peers().map(p => ({
      peerId: p.peerId, name: p.name, roles: p.roles, tenant: p.tenant, state: p.state, lastSeenMs: p.lastSeenMs, addrs: p.addrs, connected: connected.has(p.peerId)
    }))
    return c.json(peers)
  })

  app.get('/v1/councils', c => c.json(source.councils()?.list() ?? []))

  app.post('/v1/councils', async c => {
    const councils = source.councils()
    if (councils === undefined) return c.json({ error: 'agent is starting' }, 503)
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    try {
      return c.json({ id: await councils.open(body) }, 201)
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  app.get('/v1/councils/:id', c => {
    const view = source.councils()?.get(c.req.param('id'))
    return view === undefined ? c.json({ error: `no council ${c.req.param('id')}` }, 404) : c.json(view)
  })

  app.delete('/v1/councils/:id', async c => {
    const councils = source.councils()
    if (councils?.get(c.req.param('id')) === undefined) return c.json({ error: `no council ${c.req.param('id')}` }, 404)
    return c.json(await councils.dissolve(c.req.param('id')))
  })

  app.post('/v1/councils/:id/tasks', async c => {
    const tasks = source.tasks()
    if (tasks === undefined) return starting()
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    try {
      const { taskId } = await tasks.submit(c.req.param('id'), body)
      return c.json({ taskId }, 202)
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  app.get('/v1/councils/:id/tasks', c => {
    const id = c.req.param('id')
    if (source.councils()?.get(id) === undefined) return c.json({ error: `no council ${id}` }, 404)
    return c.json(source.tasks()?.list(id) ?? [])
  })

  app.get('/v1/councils/:id/tasks/:taskId', c => {
    const { id, taskId } = c.req.param()
    if (source.councils()?.get(id) === undefined) return c.json({ error: `no council ${id}` }, 404)
    const task = source.tasks()?.get(id, taskId)
    return task === undefined ? c.json({ error: `no task ${taskId} in council ${id}` }, 404) : c.json(task)
  })

  app.get('/v1/memory', c => {
    const memory = source.memory()
    if (memory === undefined) return starting()
    try {
      return c.json(memory.query(memoryQuery(new URL(c.req.url).searchParams)))
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  app.get('/v1/memory/stats', c => {
    const memory = source.memory()
    return memory === undefined ? starting() : c.json(memory.stats())
  })

  app.get('/v1/leaders', c => c.json(source.councils()?.leaders() ?? {}))

  app.post('/v1/tenants/:tenant/state', async c => {
    const tenant = c.req.param('tenant')
    if (!source.self().tenants.includes(tenant)) return c.json({ error: `this agent is not a member of tenant ${tenant}` }, 404)
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
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
