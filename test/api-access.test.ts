/**
 * Access to the HTTP API, tried as an attacker would: every route against every kind of token
 * (none, garbage, expired, revoked, another tenant's, too narrow a scope, admin), cross-site
 * requests, a foreign Host header, one-time login codes and event tickets. Real agents of a sim,
 * tokens issued by the tenants' authorities.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { createTenant, issueApiToken, rotateTenant, type Scope, type TenantFile } from '../src/tenancy/index.js'
import { waitFor } from './helpers/wait.js'

const HOUR = 3_600_000
let sim: Sim
let agent: Agent
const ids = { acme: '', globex: '', doomed: '' }
const tokens: Record<string, string> = {}

async function token(
  tenant: string,
  scope: Scope,
  opts: { ttlMs?: number; now?: number } = {}
): Promise<{ token: string; id: string }> {
  const file = sim.authorities.get(tenant) as TenantFile
  const issued = await issueApiToken(file, {
    scope,
    ttlMs: opts.ttlMs ?? HOUR,
    ...(opts.now !== undefined ? { now: opts.now } : {})
  })
  sim.authorities.set(tenant, issued.file)
  return { token: issued.token, id: issued.claims.id }
}

async function call(
  method: string,
  path: string,
  bearer?: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; text: string; headers: Headers }> {
  const abort = new AbortController()
  const res = await fetch(`${agent.url}${path}`, {
    method,
    signal: abort.signal,
    headers: {
      ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {})
  })
  // The event stream never ends by itself: its status is all a refusal test needs.
  const text = res.headers.get('content-type')?.startsWith('text/event-stream') === true ? '' : await res.text()
  abort.abort()
  return { status: res.status, text, headers: res.headers }
}

beforeAll(async () => {
  sim = await Sim.start({
    agents: 2,
    tenants: ['acme', 'globex'],
    tenantsOf: i => (i === 0 ? ['acme', 'globex'] : ['acme']),
    roles: () => ['tpm'],
    overrides: { heartbeatMs: 300 }
  })
  agent = sim.agents[0] as Agent
  const open = async (tenant: string, project: string): Promise<string> => {
    const res = await call('POST', '/v1/councils', agent.apiToken, { project, tenant, coreRoles: ['tpm'] })
    expect(res.status, res.text).toBe(201)
    return (JSON.parse(res.text) as { id: string }).id
  }
  ids.acme = await open('acme', 'secret-acme-project')
  ids.globex = await open('globex', 'secret-globex-project')
  ids.doomed = await open('acme', 'doomed')
  for (const scope of ['read', 'operate', 'admin'] as const) tokens[scope] = (await token('acme', scope)).token
  tokens.globex = (await token('globex', 'admin')).token
  tokens.stranger = (await issueApiToken(await createTenant('initech'), { scope: 'admin', ttlMs: HOUR })).token
  tokens.expired = (await token('acme', 'admin', { now: Date.now() - 2 * HOUR, ttlMs: HOUR })).token
  const revoked = await token('acme', 'admin')
  tokens.revoked = revoked.token
  const { file, state } = await rotateTenant(sim.authorities.get('acme') as TenantFile, [], Date.now(), [revoked.id])
  sim.authorities.set('acme', file)
  expect(await agent.tenancy.applyState('acme', state, true)).not.toBe('invalid')
}, 120_000)

afterAll(async () => {
  await sim?.stop()
})

type Outcome = 'ok' | 401 | 403 | 404

interface Route {
  method: string
  path: () => string
  body?: () => unknown
  scope: Scope
  /** What a token of the other tenant gets. */ foreign: Outcome | 'filtered'
  /** A GET's answer to an allowed token. */ allowed?: number
}

const ROUTES: Route[] = [
  { method: 'GET', path: () => '/v1/self', scope: 'read', foreign: 'filtered' },
  { method: 'GET', path: () => '/v1/peers', scope: 'read', foreign: 'filtered' },
  { method: 'GET', path: () => '/v1/events', scope: 'read', foreign: 'filtered' },
  { method: 'POST', path: () => '/v1/events/tickets', body: () => ({}), scope: 'read', foreign: 'filtered' },
  { method: 'GET', path: () => '/v1/councils', scope: 'read', foreign: 'filtered' },
  {
    method: 'POST',
    path: () => '/v1/councils',
    body: () => ({ project: 'new', tenant: 'acme', coreRoles: ['tpm'] }),
    scope: 'operate',
    foreign: 403
  },
  { method: 'GET', path: () => `/v1/councils/${ids.acme}`, scope: 'read', foreign: 404 },
  { method: 'DELETE', path: () => `/v1/councils/${ids.doomed}`, scope: 'operate', foreign: 404 },
  { method: 'GET', path: () => `/v1/councils/${ids.acme}/tasks`, scope: 'read', foreign: 404 },
  {
    method: 'POST',
    path: () => `/v1/councils/${ids.acme}/tasks`,
    body: () => ({ role: 'tpm', input: 'x' }),
    scope: 'operate',
    foreign: 404
  },
  { method: 'GET', path: () => `/v1/councils/${ids.acme}/tasks/nope`, scope: 'read', foreign: 404, allowed: 404 },
  { method: 'GET', path: () => '/v1/memory', scope: 'read', foreign: 'filtered' },
  { method: 'GET', path: () => '/v1/memory?tenant=acme', scope: 'read', foreign: 403 },
  { method: 'GET', path: () => '/v1/memory/stats', scope: 'read', foreign: 'filtered' },
  { method: 'GET', path: () => '/v1/leaders', scope: 'read', foreign: 'filtered' },
  {
    method: 'POST',
    path: () => '/v1/tenants/acme/state',
    body: () => ({ body: 'x', sig: 'y' }),
    scope: 'admin',
    foreign: 403
  },
  { method: 'GET', path: () => '/metrics', scope: 'read', foreign: 'ok' }
]

/** A refusal says why in one JSON field and nothing of the agent's data (but what the client sent: `echoed`). */
function expectBareRefusal(text: string, echoed?: string): void {
  const body = JSON.parse(text) as Record<string, unknown>
  expect(Object.keys(body).filter(k => k !== 'error' && k !== 'field')).toEqual([])
  for (const secret of [
    ids.acme,
    ids.globex,
    'secret-acme-project',
    'secret-globex-project',
    ...sim.agents.map(a => a.peerId)
  ]) {
    if (secret !== echoed) expect(text).not.toContain(secret)
  }
}

describe('every route × every kind of token', () => {
  for (const route of ROUTES) {
    it(`${route.method} ${route.path().replace(/\/councils\/(?=\/|$)/, '/councils/:id')}`, async () => {
      const send = async (bearer?: string): Promise<{ status: number; text: string }> =>
        await call(route.method, route.path(), bearer, route.body?.())
      for (const [label, bearer, status] of [
        ['no token', undefined, 401],
        ['garbage', 'garbage', 401],
        ['garbage of the right shape', 'ctk1.AAAA.BBBB', 401],
        ['expired', tokens.expired, 401],
        ['revoked', tokens.revoked, 401],
        ['a token of a tenant the agent is not in', tokens.stranger, 401]
      ] as const) {
        const res = await send(bearer)
        expect(res.status, `${label}: ${res.text}`).toBe(status)
        expectBareRefusal(res.text)
      }
      // Scopes below the route's are refused, and say so.
      for (const scope of ['read', 'operate'] as const) {
        if (scope === route.scope || (scope === 'operate' && route.scope === 'read')) continue
        const res = await send(tokens[scope])
        expect(res.status, `${scope} token: ${res.text}`).toBe(403)
        expect(res.text).toContain(`needs ${route.scope}`)
        expectBareRefusal(res.text)
      }
      const foreign = await send(tokens.globex)
      if (route.foreign === 'filtered' || route.foreign === 'ok') {
        expect(foreign.status, foreign.text).toBeLessThan(300)
        if (route.foreign === 'filtered') {
          for (const secret of [ids.acme, 'secret-acme-project', sim.agents[1]?.peerId as string]) {
            expect(foreign.text).not.toContain(secret)
          }
        }
      } else {
        expect(foreign.status, foreign.text).toBe(route.foreign)
        // "no council <id>": the id the client sent, the same answer as for a council that does not exist.
        expectBareRefusal(foreign.text, route.foreign === 404 ? ids.acme : undefined)
      }
      for (const bearer of [tokens[route.scope] as string, tokens.admin as string, agent.apiToken]) {
        const res = await send(bearer)
        expect([401, 403, 415], `allowed token refused: ${res.text}`).not.toContain(res.status)
        if (route.method === 'GET') expect(res.status, res.text).toBe(route.allowed ?? 200)
      }
    })
  }

  it('a tenant token sees its own tenant and nothing of the other', async () => {
    const acme = JSON.parse((await call('GET', '/v1/councils', tokens.read)).text) as Array<{ id: string }>
    expect(acme.map(c => c.id)).toContain(ids.acme)
    expect(acme.map(c => c.id)).not.toContain(ids.globex)
    const globex = JSON.parse((await call('GET', '/v1/councils', tokens.globex)).text) as Array<{ id: string }>
    expect(globex.map(c => c.id)).toEqual([ids.globex])
    expect(JSON.parse((await call('GET', '/v1/self', tokens.globex)).text)).toMatchObject({
      tenant: 'globex',
      tenants: ['globex'],
      scope: 'admin'
    })
    const operator = JSON.parse((await call('GET', '/v1/councils', agent.apiToken)).text) as Array<{ id: string }>
    expect(operator.map(c => c.id)).toEqual(expect.arrayContaining([ids.acme, ids.globex]))
    // A council opened with a tenant token lands in its tenant.
    const opened = await call('POST', '/v1/councils', tokens.operate, { project: 'scoped', coreRoles: ['tpm'] })
    expect(opened.status, opened.text).toBe(201)
    expect(agent.councils.get((JSON.parse(opened.text) as { id: string }).id)?.tenant).toBe('acme')
  })

  it('every member of the tenant verifies its tokens offline, and revocation reaches them by gossip', async () => {
    const other = sim.agents[1] as Agent
    const res = await fetch(`${other.url}/v1/self`, { headers: { authorization: `Bearer ${tokens.read as string}` } })
    expect(res.status).toBe(200)
    await waitFor(
      async () =>
        (await fetch(`${other.url}/v1/self`, { headers: { authorization: `Bearer ${tokens.revoked as string}` } }))
          .status === 401,
      { timeoutMs: 20_000, message: 'the revocation did not reach the other member' }
    )
    // Another agent's operator token is worth nothing here.
    expect((await call('GET', '/v1/self', other.apiToken)).status).toBe(401)
  })
})

describe('cross-site and transport guards', () => {
  it('takes JSON bodies only', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await call('POST', '/v1/councils', agent.apiToken, undefined, { 'content-type': type })
      expect(res.status, type).toBe(415)
    }
    const none = await fetch(`${agent.url}/v1/councils`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.apiToken}` },
      body: '{}'
    })
    expect(none.status).toBe(415)
    // Nested 5,000 deep: a 400 that names the problem, not a 500 with an internal message.
    const deep = await call(
      'POST',
      `/v1/councils/${ids.acme}/tasks`,
      agent.apiToken,
      `{"role":"tpm","input":${'['.repeat(5_000)}${']'.repeat(5_000)}}`
    )
    expect(deep.status).toBe(400)
    expect(JSON.parse(deep.text)).toEqual({ error: 'body nests deeper than 128 levels' })
  })

  it('refuses state changes from another origin, and sends no CORS grant', async () => {
    const body = { project: 'csrf', tenant: 'acme', coreRoles: ['tpm'] }
    const evil = await call('POST', '/v1/councils', agent.apiToken, body, { origin: 'https://evil.example' })
    expect(evil.status).toBe(403)
    expect(evil.text).toContain('cross-origin')
    const crossSite = await call('POST', '/v1/councils', agent.apiToken, body, { 'sec-fetch-site': 'cross-site' })
    expect(crossSite.status).toBe(403)
    const same = await call('POST', '/v1/councils', agent.apiToken, body, { origin: new URL(agent.url).origin })
    expect(same.status, same.text).toBe(201)
    for (const res of [
      evil,
      same,
      await call('OPTIONS', '/v1/councils', undefined, undefined, {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST'
      })
    ]) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('answers only to its own host names (DNS rebinding)', async () => {
    const get = async (host: string): Promise<number> =>
      await new Promise((resolve, reject) => {
        const url = new URL(agent.url)
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/v1/self',
            headers: { host, authorization: `Bearer ${agent.apiToken}` }
          },
          res => {
            res.resume()
            resolve(res.statusCode ?? 0)
          }
        )
        req.on('error', reject)
        req.end()
      })
    expect(await get('evil.example:8080')).toBe(403)
    expect(await get('rebind.attacker.test')).toBe(403)
    expect(await get(`localhost:${new URL(agent.url).port}`)).toBe(200)
    expect(await get(`127.0.0.1:${new URL(agent.url).port}`)).toBe(200)
  })

  it('keeps probes open and metrics behind a token', async () => {
    expect((await call('GET', '/health')).status).toBe(200)
    expect([200, 503]).toContain((await call('GET', '/ready')).status)
    expect((await call('GET', '/metrics')).status).toBe(401)
    expect((await call('GET', '/metrics', tokens.read)).status).toBe(200)
  })
})

describe('dashboard sign-in', () => {
  it('a login code works once', async () => {
    const code = new URL(agent.loginUrl()).hash.replace('#login=', '')
    const first = await call('POST', '/v1/login', undefined, { code })
    expect(first.status).toBe(200)
    expect(JSON.parse(first.text)).toEqual({ token: agent.apiToken })
    const again = await call('POST', '/v1/login', undefined, { code })
    expect(again.status).toBe(401)
    expectBareRefusal(again.text)
    expect((await call('POST', '/v1/login', undefined, { code: 'guess' })).status).toBe(401)
    expect((await call('POST', '/v1/login', undefined, 'code=x', { 'content-type': 'text/plain' })).status).toBe(415)
  })

  it('an event ticket opens the stream once, with the grant of the token that asked for it', async () => {
    const ticket = async (bearer: string): Promise<string> =>
      (JSON.parse((await call('POST', '/v1/events/tickets', bearer, {})).text) as { ticket: string }).ticket
    const t = await ticket(tokens.read as string)
    expect((await call('GET', `/v1/events?ticket=${t}`)).status).toBe(200)
    const reused = await call('GET', `/v1/events?ticket=${t}`)
    expect(reused.status).toBe(401)
    expectBareRefusal(reused.text)
    expect((await call('GET', '/v1/events?ticket=made-up')).status).toBe(401)
    // A ticket opens the event stream and nothing else.
    expect((await call('GET', `/v1/self?ticket=${await ticket(agent.apiToken)}`)).status).toBe(401)
  })
})
