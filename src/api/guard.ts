/**
 * The API's gate: which hosts it answers to (DNS rebinding), which requests may change state
 * (same origin, JSON only), and who is asking (bearer tokens, event-stream tickets).
 */
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import type { Context, MiddlewareHandler } from 'hono'
import { grantsScopeOf, type Access, type Grant } from '../access/index.js'
import type { Scope } from '../tenancy/index.js'

export interface GuardOptions {
  access: Access
  /**
   * Host names the API answers to besides IP addresses, `localhost` and this machine's host name;
   * `*.example.com` matches subdomains, `*` any host.
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
}

export interface GuardEnv {
  Variables: { grant: Grant }
}

/** Routes every client may reach: probes and the dashboard page (it holds no data). */
const OPEN_PATHS = new Set(['/health', '/ready'])
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const refuse = (c: Context, status: 401 | 403 | 415, error: string): Response => {
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="conclave"')
  return c.json({ error }, status)
}

/** The host name of a Host header, without port or IPv6 brackets, lower-cased. */
function hostOf(header: string): string {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'))
  const colon = h.lastIndexOf(':')
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h
}

export function hostAllowed(header: string | undefined, extra: readonly string[]): boolean {
  if (header === undefined || header === '') return false
  if (extra.includes('*')) return true
  const host = hostOf(header)
  if (isIP(host) !== 0 || host === 'localhost' || host === hostname().toLowerCase()) return true
  return extra.some(name => {
    const n = name.toLowerCase()
    return n.startsWith('*.') ? host.endsWith(n.slice(1)) : host === n
  })
}

/** The host:port of an Origin header (`null` and garbage give undefined). */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase()
  } catch {
    return undefined
  }
}

/** `Authorization: Bearer <token>` → the token; undefined when absent or of another scheme. */
function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}

export function guard(opts: GuardOptions): MiddlewareHandler<GuardEnv> {
  const hosts = opts.hosts ?? []
  return async (c, next) => {
    const path = c.req.path
    if (OPEN_PATHS.has(path)) return await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    if (!hostAllowed(c.req.header('host'), hosts)) {
      return refuse(
        c,
        403,
        `host "${c.req.header('host') ?? ''}" is not allowed (CONCLAVE_HTTP_HOSTS lists the names this API answers to)`
      )
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      // Host against host, not scheme: behind a TLS proxy the page is https and this server http.
      const origin = c.req.header('origin')
      if (
        (origin !== undefined && originHost(origin) !== originHost(`http://${c.req.header('host') ?? ''}`)) ||
        c.req.header('sec-fetch-site') === 'cross-site'
      ) {
        return refuse(
          c,
          403,
          "cross-origin request refused: state-changing requests must come from the API's own origin"
        )
      }
    }
    const isApi = path.startsWith('/v1/')
    if (!isApi && !(path === '/metrics' && opts.metricsPublic !== true)) return await next()
    if (path === '/v1/login') return await next()
    c.header('Cache-Control', 'no-store')
    let grant: Grant | undefined
    const token = bearer(c.req.header('authorization'))
    const ticket = path === '/v1/events' && c.req.method === 'GET' ? c.req.query('ticket') : undefined
    if (token !== undefined) {
      const result = await opts.access.authenticate(token)
      if (typeof result === 'string') return refuse(c, 401, `invalid token: ${result}`)
      grant = result
    } else if (ticket !== undefined) {
      grant = opts.access.redeemTicket(ticket)
      if (grant === undefined) {
        return refuse(c, 401, 'invalid ticket: unknown, used or expired (POST /v1/events/tickets for a new one)')
      }
    } else {
      return refuse(
        c,
        401,
        c.req.header('authorization') === undefined
          ? 'missing token: send Authorization: Bearer <token> (the operator token is in <data dir>/api.token; `conclave tenant token` issues tenant tokens)'
          : 'invalid token: the Authorization header must be "Bearer <token>"'
      )
    }
    c.set('grant', grant)
    return await next()
  }
}

/**
 * A route's requirement: a grant with `scope`, and for requests with a body, a JSON body.
 */
export function requires(scope: Scope): MiddlewareHandler<GuardEnv> {
  return async (c, next) => {
    if (!grantsScopeOf(c.get('grant'), scope)) {
      return refuse(c, 403, `this token's scope is ${c.get('grant').scope}; this route needs ${scope}`)
    }
    if (c.req.method === 'POST' || c.req.method === 'PUT' || c.req.method === 'PATCH') {
      const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
      if (type !== 'application/json') return refuse(c, 415, 'the body must be JSON (Content-Type: application/json)')
    }
    return await next()
  }
}
