import { afterEach, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { bindHttpServer, type HttpServer } from '../../src/api/index.js'
import { HttpListenError } from '../../src/api/errors.js'

describe('the HTTP server is bound first and serves the API once the agent is built', () => {
  const servers: HttpServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(s => s.close()))
  })

  it('answers 503 (ready: starting) until serve, then hands every request to the app', async () => {
    const server = await bindHttpServer('127.0.0.1', 0)
    servers.push(server)
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: 'not-ready', reason: 'starting' })
    const early = await fetch(`${server.url}/v1/councils`)
    expect(early.status).toBe(503)
    expect(early.headers.get('retry-after')).toBe('1')
    expect(await early.json()).toEqual({ error: 'agent is starting' })

    const app = new Hono()
    app.get('/ready', c => c.json({ status: 'ready' }))
    app.get('/v1/councils', c => c.json([{ id: 'c1' }]))
    server.serve(app)
    expect(await (await fetch(`${server.url}/ready`)).json()).toEqual({ status: 'ready' })
    expect(await (await fetch(`${server.url}/v1/councils`)).json()).toEqual([{ id: 'c1' }])
  })

  it('refuses a port in use with HttpListenError naming the address', async () => {
    const first = await bindHttpServer('127.0.0.1', 0)
    servers.push(first)
    const second = bindHttpServer('127.0.0.1', first.port)
    await expect(second).rejects.toBeInstanceOf(HttpListenError)
    await expect(second).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port}: address already in use`)
  })
})
