import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import { HttpListenError } from './errors.js'

type Fetch = Pick<Hono<any>, 'fetch'>['fetch']

export interface HttpServer {
  /** `http://host:port` as bound (port 0 resolved). */
  url: string
  port: number
  /** Hand requests to `app` from now on. Until then every request gets `503`, and `/ready` says `starting`. */
  serve(app: Pick<Hono<any>, 'fetch'>): void
  close(): Promise<void>
}

/** What a bound server answers before the agent behind it exists. */
const starting: Fetch = (req: Request) => {
  const path = new URL(req.url).pathname
  if (path === '/ready') return Response.json({ status: 'not-ready', reason: 'starting' }, { status: 503 })
  return Response.json({ error: 'agent is starting' }, { status: 503, headers: { 'Retry-After': '1' } })
}

/**
 * Bind host:port. Binding comes first in an agent's start, so that a port in use fails before
 * the node joins the mesh; the API is attached with `serve` once the agent is built. Throws
 * `HttpListenError` when the address cannot be bound.
 */
export async function bindHttpServer(host: string, port: number): Promise<HttpServer> {
  let fetch: Fetch = starting
  const server = createAdaptorServer({ fetch: (req: Request, env: unknown) => fetch(req, env) })
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const reason =
        err.code === 'EADDRINUSE'
          ? 'address already in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'address not available on this host'
            : err.message
      reject(new HttpListenError(`cannot listen on ${host}:${port}: ${reason}`, { cause: err }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const bound = (server.address() as AddressInfo).port
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    serve: app => {
      fetch = app.fetch
    },
    close: async () => {
      await new Promise<void>(resolve => {
        server.close(() => {
          resolve()
        })
        if ('closeAllConnections' in server) (server as { closeAllConnections: () => void }).closeAllConnections()
      })
    }
  }
}
