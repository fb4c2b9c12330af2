import { parseHostPort } from '../config/index.js'

/** The API to ask: --api, else the agent's CONCLAVE_HTTP on this host, else :8080. */
export function apiUrl (opts: { api?: string }): string | Error {
  if (opts.api !== undefined) {
    try {
      return new URL(opts.api).toString().replace(/\/$/, '')
    } catch {
      return new Error(`--api: "${opts.api}" is not a URL (e.g. http://127.0.0.1:8080)`)
    }
  }
  const parsed = parseHostPort(process.env.CONCLAVE_HTTP ?? '127.0.0.1:8080')
  if (typeof parsed === 'string') return new Error(`CONCLAVE_HTTP: ${parsed}`)
  const host = parsed.host === '0.0.0.0' || parsed.host === '::' ? '127.0.0.1' : parsed.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${parsed.port}`
}

