import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { grantsTenant, type Access, type Grant } from '../access/index.js'
import type { PeerView } from '../membership/index.js'
import { tenantStateSchema, type TenantState } from '../tenancy/index.js'
import type { Councils } from '../council/index.js'
import type { Memory } from '../memory/index.js'
import type { Tasks } from '../task/index.js'
import type { EventLog } from '../events/index.js'
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.js'
import { eventStream } from './events.js'
import { guard, requires, type GuardEnv } from './guard.js'
import { memoryQuery } from './query.js'
import { MAX_JSON_DEPTH, nestsDeeper } from '../util/json.js'
import { OverloadError } from '../util/errors.js'
import { jsonArrayStream } from './stream.js'
import {
  DEFAULT_MAX_EVENT_CLIENTS,
  DEFAULT_MAX_MEMORY_QUERIES,
  EVENTS_RETRY_AFTER_S,
  MEMORY_RETRY_AFTER_S
} from './constants.js'

/** What the HTTP API reads from the running agent. */
export interface ApiSource {
  self(): { peerId: string; name: string; roles: string[]; tenant: string; tenants: string[]; addrs: string[] }
  peers(): PeerView[]
  /** Peer ids this agent has an open connection to (the dashboard draws them as edges). */
  connectedPeers(): Set<string>
  /** undefined when ready, else the reason it is not. */
  notReadyReason(): string | undefined
  metrics(): Promise<{ contentType: string; body: string }>
  /** The agent's councils. */
  councils(): Pick<Councils, 'open' | 'list' | 'get' | 'dissolve' | 'leaders'>
  /** Tasks of the agent's councils. */
  tasks(): Pick<Tasks, 'submit' | 'get' | 'list'>
  /** The agent's episode memory. */
  memory(): Pick<Memory, 'stream' | 'stats'>
  /** The agent's recent events, streamed by `GET /v1/events`. */
  events(): EventLog
  /** Adopt and gossip a tenant state signed by the tenant's authority (rotation, revocation). */
  applyState(tenant: string, state: TenantState): Promise<'adopted' | 'stale' | 'invalid'>
}

/** Largest request body the API reads. */
const MAX_BODY_BYTES = 2 * 1024 * 1024

/** A JSON request body, or the 400/413 response explaining why it is not one. */
async function readJson(req: Request): Promise<unknown> {
  try {
    const body: unknown = JSON.parse(await req.text())
    // JSON.stringify overflows near 5,000 levels: a deeper body is refused before anything writes it out.
    if (nestsDeeper(body)) {
      return Response.json({ error: `body nests deeper than ${MAX_JSON_DEPTH} levels` }, { status: 400 })
    }
    return body
  } catch {
    return Response.json({ error: 'body is not JSON' }, { status: 400 })
  }
}

/** Status of request errors thrown by the services, by error name; others are 500. */
const ERROR_STATUS: Record<string, 400 | 404 | 409 | 429> = {
  OverloadError: 429,
  CouncilRequestError: 400,
  TaskRequestError: 400,
  MemoryQueryError: 400,
  UnknownCouncilError: 404,
  UnknownRoleError: 404,
  TaskConflictError: 409,
  CouncilEndedError: 409
}

/** The JSON answer to a request error (`field` names what to fix), or undefined for a bug. */
function requestError(err: unknown): Response | undefined {
  const e = err as Error & { field?: string }
  const status = ERROR_STATUS[e.name]
  if (status === undefined) return undefined
  if (err instanceof OverloadError) return overloaded(err)
  return Response.json({ error: e.message, ...(e.field !== undefined ? { field: e.field } : {}) }, { status })
}

/** 429 with Retry-After and the setting that sets the limit. */
function overloaded(err: OverloadError): Response {
  return Response.json(
    { error: err.message, limit: err.limit },
    { status: 429, headers: { 'Retry-After': String(err.retryAfterS) } }
  )
}

export interface ApiOptions {
  /** Checks bearer tokens, login codes and event-stream tickets. */
  access: Access
  /**
   * Host names the API answers to besides IP addresses, `localhost` and the machine's name.
   *
   * @default []
   */
  hosts?: string[]
  /**
   * Serve `/metrics` without a token.
   *
   * @default false
   */
  metricsPublic?: boolean
  /**
   * Clients of `GET /v1/events` at once; more answer 429.
   *
   * @default 32
   */
  maxEventClients?: number
  /**
   * `GET /v1/memory` answers streaming at once; more answer 429.
   *
   * @default 4
   */
  maxMemoryQueries?: number
  /** Called with errors no route handled (they answer 500 without detail). */
  onError?: (err: Error) => void
}

type Ctx = Context<GuardEnv>
const grantOf = (c: Ctx): Grant => c.get('grant')
/** Whether the request's grant covers `tenant`. */
const sees = (c: Ctx, tenant: string): boolean => grantsTenant(grantOf(c), tenant)
const noCouncil = (c: Ctx, id: string): Response => c.json({ error: `no council ${id}` }, 404)
const tenantRefused = (c: Ctx, tenant: string): Response =>
  c.json({ error: `this token does not grant tenant ${tenant}` }, 403)

/** The agent's HTTP API (JSON). Routes are described in docs/openapi.yaml (and docs/reference/http-api.md). */
export function createApiApp(source: ApiSource, opts: ApiOptions): Hono<GuardEnv> {
  const app = new Hono<GuardEnv>()
  const { access } = opts
  const maxEventClients = opts.maxEventClients ?? DEFAULT_MAX_EVENT_CLIENTS
  const maxMemoryQueries = opts.maxMemoryQueries ?? DEFAULT_MAX_MEMORY_QUERIES
  let eventClients = 0
  let memoryQueries = 0

  app.use(
    '*',
    guard({
      access,
      ...(opts.hosts !== undefined ? { hosts: opts.hosts } : {}),
      ...(opts.metricsPublic !== undefined ? { metricsPublic: opts.metricsPublic } : {})
    })
  )
  app.use(
    '/v1/*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: c => c.json({ error: `body exceeds ${MAX_BODY_BYTES} bytes` }, 413) })
  )

  app.get('/', c => {
    c.header('Content-Security-Policy', DASHBOARD_CSP)
    c.header('X-Frame-Options', 'DENY')
    return c.html(DASHBOARD_HTML)
  })

  // A dashboard login link's one-time code, exchanged for the operator token.
  app.post('/v1/login', async c => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
    if (type !== 'application/json') {
      return c.json({ error: 'the body must be JSON (Content-Type: application/json)' }, 415)
    }
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    const code = (body as { code?: unknown } | null)?.code
    if (typeof code !== 'string' || code.length > 256) {
      return c.json({ error: 'body must be {"code": "<login code>"}', field: 'code' }, 400)
    }
    const token = access.redeemLogin(code)
    c.header('Cache-Control', 'no-store')
    return token === undefined ? c.json({ error: 'login code unknown, used or expired' }, 401) : c.json({ token })
  })

  app.post('/v1/events/tickets', requires('read'), c => c.json(access.ticket(grantOf(c)), 201))

  app.get('/health', c => c.json({ status: 'ok' }))

  app.get('/ready', c => {
    const reason = source.notReadyReason()
    return reason === undefined ? c.json({ status: 'ready' }) : c.json({ status: 'not-ready', reason }, 503)
  })

  app.get('/metrics', async c => {
    const { contentType, body } = await source.metrics()
    return c.body(body, 200, { 'content-type': contentType })
  })

  app.get('/v1/self', requires('read'), c => {
    const self = source.self()
    const tenants = self.tenants.filter(t => sees(c, t))
    return c.json({ ...self, tenant: tenants[0] ?? grantOf(c).tenant ?? self.tenant, tenants, scope: grantOf(c).scope })
  })

  app.get('/v1/events', requires('read'), c => {
    const log = source.events()
    const grant = grantOf(c)
    // Rejections name no tenant: they are shown to grants of every tenant only.
    const visible =
      grant.tenant === undefined ? undefined : (e: { data: Record<string, unknown> }) => e.data.tenant === grant.tenant
    if (eventClients >= maxEventClients) {
      return overloaded(
        new OverloadError(
          'CONCLAVE_MAX_EVENT_CLIENTS',
          `${eventClients} clients follow the event stream, the most allowed`,
          EVENTS_RETRY_AFTER_S
        )
      )
    }
    eventClients++
    let ended = false
    const end = (): void => {
      if (!ended) {
        ended = true
        eventClients--
      }
    }
    const res = eventStream(c, log, visible, end)
    // A refusal (bad `types`) is not a stream: its slot is free at once.
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) end()
    return res
  })

  app.get('/v1/peers', requires('read'), c => {
    const connected = source.connectedPeers()
    const peers = source
      .peers()
      .filter(p => sees(c, p.tenant))
      .map(p => ({
        peerId: p.peerId,
        name: p.name,
        roles: p.roles,
        tenant: p.tenant,
        state: p.state,
        lastSeenMs: p.lastSeenMs,
        addrs: p.addrs,
        connected: connected.has(p.peerId)
      }))
    return c.json(peers)
  })

  app.get('/v1/councils', requires('read'), c =>
    c.json(
      source
        .councils()
        .list()
        .filter(v => sees(c, v.tenant))
    )
  )

  app.post('/v1/councils', requires('operate'), async c => {
    const councils = source.councils()
    let body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    const granted = grantOf(c).tenant
    if (granted !== undefined && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const named = (body as { tenant?: unknown }).tenant
      if (named === undefined) body = { ...body, tenant: granted }
      else if (named !== granted) return tenantRefused(c, String(named))
    }
    try {
      return c.json({ id: await councils.open(body) }, 201)
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  /** The council `id` if this request's grant sees it: councils of other tenants are not found. */
  const council = (c: Ctx, id: string): ReturnType<ReturnType<ApiSource['councils']>['get']> => {
    const view = source.councils().get(id)
    return view !== undefined && sees(c, view.tenant) ? view : undefined
  }

  app.get('/v1/councils/:id', requires('read'), c => {
    const view = council(c, c.req.param('id'))
    return view === undefined ? noCouncil(c, c.req.param('id')) : c.json(view)
  })

  app.delete('/v1/councils/:id', requires('operate'), async c => {
    if (council(c, c.req.param('id')) === undefined) return noCouncil(c, c.req.param('id'))
    return c.json(await source.councils().dissolve(c.req.param('id')))
  })

  app.post('/v1/councils/:id/tasks', requires('operate'), async c => {
    const tasks = source.tasks()
    if (council(c, c.req.param('id')) === undefined) return noCouncil(c, c.req.param('id'))
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    try {
      const { taskId } = await tasks.submit(c.req.param('id'), body)
      return c.json({ taskId }, 202)
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  app.get('/v1/councils/:id/tasks', requires('read'), c => {
    const id = c.req.param('id')
    if (council(c, id) === undefined) return noCouncil(c, id)
    // Up to a thousand finished tasks and the in-flight ones, inputs of up to 64 KiB each: streamed.
    return jsonArrayStream(c, source.tasks().list(id), () => {})
  })

  app.get('/v1/councils/:id/tasks/:taskId', requires('read'), c => {
    const { id, taskId } = c.req.param()
    if (council(c, id) === undefined) return noCouncil(c, id)
    const task = source.tasks().get(id, taskId)
    return task === undefined ? c.json({ error: `no task ${taskId} in council ${id}` }, 404) : c.json(task)
  })

  app.get('/v1/memory', requires('read'), c => {
    const memory = source.memory()
    try {
      const filter = memoryQuery(new URL(c.req.url).searchParams)
      const granted = grantOf(c).tenant
      if (filter.tenant !== undefined && !sees(c, filter.tenant)) return tenantRefused(c, filter.tenant)
      if (granted !== undefined) filter.tenant = granted
      if (memoryQueries >= maxMemoryQueries) {
        return overloaded(
          new OverloadError(
            'CONCLAVE_MAX_MEMORY_QUERIES',
            `${memoryQueries} memory answers are streaming, the most allowed`,
            MEMORY_RETRY_AFTER_S
          )
        )
      }
      memoryQueries++
      return jsonArrayStream(c, memory.stream(filter), () => {
        memoryQueries--
      })
    } catch (err) {
      return requestError(err) ?? Promise.reject(err)
    }
  })

  app.get('/v1/memory/stats', requires('read'), c => {
    const memory = source.memory()
    const stats = memory.stats()
    return c.json({ ...stats, tenants: stats.tenants.filter(t => sees(c, t.tenant)) })
  })

  app.get('/v1/leaders', requires('read'), c => c.json(source.councils().leaders(grantOf(c).tenant)))

  app.post('/v1/tenants/:tenant/state', requires('admin'), async c => {
    const tenant = c.req.param('tenant')
    if (!sees(c, tenant)) return tenantRefused(c, tenant)
    if (!source.self().tenants.includes(tenant)) {
      return c.json({ error: `this agent is not a member of tenant ${tenant}` }, 404)
    }
    const body = await readJson(c.req.raw)
    if (body instanceof Response) return body
    const parsed = tenantStateSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return c.json(
        { error: `invalid tenant state: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` },
        400
      )
    }
    const result = await source.applyState(tenant, parsed.data)
    if (result === 'invalid') return c.json({ error: `not a state of tenant ${tenant} signed by its authority` }, 400)
    return c.json({ result })
  })

  app.notFound(c => c.json({ error: 'not found', path: c.req.path }, 404))
  // The cause goes to the agent's log, not to the client.
  app.onError((err, c) => {
    opts.onError?.(err)
    return c.json({ error: 'internal error' }, 500)
  })
  return app
}
