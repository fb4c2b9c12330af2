import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import { HttpListenError } from './errors.js'

export interface HttpServer {
  /** `http://host:port` as bound (port 0 resolved). */
  url: string
  port: number
  close(): Promise<void>
}

/** Serve `app` on host:port. Throws `HttpListenError` when the address cannot be bound. */
export async function startHttpServer(app: Pick<Hono<any>, 'fetch'>, host: string, port: number): Promise<HttpServer> {
  const server = createAdaptorServer({ fetch: app.fetch })
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
