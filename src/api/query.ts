import { MEMORY, MemoryQueryError, type EpisodeFilter } from '../memory/index.js'

const TEXT_PARAMS = ['tenant', 'council', 'agent', 'role'] as const
const KNOWN = new Set<string>([...TEXT_PARAMS, 'since', 'limit'])

function integer(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = params.get(name)
  if (raw === null) return undefined
  if (!/^\d+$/.test(raw)) throw new MemoryQueryError(name, `"${raw}" is not a whole number`)
  const n = Number(raw)
  if (n < min || n > max) throw new MemoryQueryError(name, `${n} is out of range (${min}-${max})`)
  return n
}

/** `GET /v1/memory` query string → filter. Throws `MemoryQueryError` naming the parameter. */
export function memoryQuery(params: URLSearchParams): Omit<EpisodeFilter, 'tenants'> & { tenant?: string } {
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) throw new MemoryQueryError(name, `unknown parameter (use ${[...KNOWN].join(', ')})`)
  }
  const filter: Omit<EpisodeFilter, 'tenants'> & { tenant?: string } = {}
  for (const name of TEXT_PARAMS) {
    const value = params.get(name)
    if (value === null) continue
    if (value.length === 0 || value.length > 128) throw new MemoryQueryError(name, 'must be 1-128 characters')
    filter[name] = value
  }
  const since = integer(params, 'since', 0, Number.MAX_SAFE_INTEGER)
  const limit = integer(params, 'limit', 1, MEMORY.MAX_QUERY_LIMIT)
  if (since !== undefined) filter.since = since
  if (limit !== undefined) filter.limit = limit
  return filter
}
