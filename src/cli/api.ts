import { resolve } from 'node:path'
import { operatorTokenPath, readOperatorToken } from '../access/index.js'
import { parseHostPort } from '../config/index.js'
import { DEFAULT_DATA_DIR } from '../config/constants.js'
import { EXIT_CONFIG, EXIT_FAILURE } from './exit.js'
import { UsageError } from './errors.js'

/** The API to ask: --api, else the agent's CONCLAVE_HTTP on this host, else :8080. */
export function apiUrl(opts: { api?: string }): string | Error {
  if (opts.api !== undefined) {
    try {
      return new URL(opts.api).toString().replace(/\/$/, '')
    } catch {
      return new UsageError(`--api: "${opts.api}" is not a URL (e.g. http://127.0.0.1:8080)`)
    }
  }
  const parsed = parseHostPort(process.env.CONCLAVE_HTTP ?? '127.0.0.1:8080')
  if (typeof parsed === 'string') return new UsageError(`CONCLAVE_HTTP: ${parsed}`)
  const host = parsed.host === '0.0.0.0' || parsed.host === '::' ? '127.0.0.1' : parsed.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${parsed.port}`
}

/** Where a command reaches an agent's API, and with which token. */
export interface ApiTargetOptions {
  api?: string
  /** A bearer token; else CONCLAVE_API_TOKEN, else the operator token in the data dir. */
  token?: string
  /** The agent's data dir, whose api.token is used; else CONCLAVE_DATA_DIR, else `.conclave`. */
  dataDir?: string
}

export interface ApiTarget {
  base: string
  /** `fetch` of `base + path` with the bearer token. */
  fetch: (path: string, init?: RequestInit) => Promise<Response>
}

/** The token a command sends: --token, CONCLAVE_API_TOKEN, or `<data dir>/api.token`. */
export async function apiToken(opts: ApiTargetOptions): Promise<string | Error> {
  const given = opts.token ?? process.env.CONCLAVE_API_TOKEN
  if (given !== undefined && given.trim() !== '') return given.trim()
  const dataDir = resolve(opts.dataDir ?? process.env.CONCLAVE_DATA_DIR ?? DEFAULT_DATA_DIR)
  try {
    const token = await readOperatorToken(dataDir)
    if (token !== undefined) return token
  } catch (err) {
    return err as Error
  }
  return new UsageError(
    `no API token: pass --token or set CONCLAVE_API_TOKEN (\`conclave tenant token\` issues one), or run where the agent's data dir is (--data-dir; ${operatorTokenPath(dataDir)} does not exist)`
  )
}

/** The API base URL and token of a command; an Error names the flag or variable to fix. */
export async function apiTarget(opts: ApiTargetOptions): Promise<ApiTarget | Error> {
  const base = apiUrl(opts)
  if (base instanceof Error) return base
  const token = await apiToken(opts)
  if (token instanceof Error) return token
  return {
    base,
    fetch: async (path, init = {}) =>
      await fetch(`${base}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` }
      })
  }
}

/** Report an API refusal; a refused token (401, 403) is a usage problem (exit 2). */
export async function refused(base: string, res: Response): Promise<number> {
  const body = (await res.json().catch(() => ({}))) as { error?: string }
  process.stderr.write(`conclave: ${base} answered ${res.status}: ${body.error ?? res.statusText}\n`)
  return res.status === 401 || res.status === 403 ? EXIT_CONFIG : EXIT_FAILURE
}
