import { apiTarget, refused, type ApiTarget, type ApiTargetOptions } from '../api.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { formatAge, renderTable } from '../table.js'

export interface StatusOptions extends ApiTargetOptions {
  json?: boolean
}

interface Self {
  peerId: string
  name: string
  roles: string[]
  tenant: string
  addrs: string[]
}
interface Peer {
  peerId: string
  name: string
  roles: string[]
  tenant: string
  state: string
  lastSeenMs: number
  connected?: boolean
}
interface Council {
  id: string
  tenant: string
  project: string
  state: string
  epoch: number
  roster: Array<{ role: string; peerId: string; name: string }>
  reason?: string
}
type Leaders = Record<string, { peerId: string; epoch: number }>

/** An answer other than 2xx, to report as the agent gave it. */
class Refused extends Error {
  constructor(readonly res: Response) {
    super(`answered ${res.status}`)
  }
}

async function getJson<T>(target: ApiTarget, path: string): Promise<T> {
  const res = await target.fetch(path, { signal: AbortSignal.timeout(5_000) })
  if (!res.ok) throw new Refused(res)
  return (await res.json()) as T
}

/** `conclave status`: the agent's view of the mesh as a table (or JSON). */
export async function statusCommand(opts: StatusOptions): Promise<number> {
  const target = await apiTarget(opts)
  if (target instanceof Error) {
    process.stderr.write(`conclave: ${target.message}\n`)
    return EXIT_CONFIG
  }
  const base = target.base
  let self: Self
  let peers: Peer[]
  let councils: Council[]
  let leaders: Leaders
  try {
    ;[self, peers, councils, leaders] = await Promise.all([
      getJson<Self>(target, '/v1/self'),
      getJson<Peer[]>(target, '/v1/peers'),
      getJson<Council[]>(target, '/v1/councils'),
      getJson<Leaders>(target, '/v1/leaders')
    ])
  } catch (err) {
    if (err instanceof Refused) return await refused(base, err.res)
    const cause = (err as { cause?: { code?: string } }).cause?.code
    process.stderr.write(`conclave: cannot reach the agent API at ${base}: ${cause ?? (err as Error).message}\n`)
    return EXIT_FAILURE
  }
  if (opts.json === true) {
    process.stdout.write(JSON.stringify({ self, peers, councils, leaders }, null, 2) + '\n')
    return EXIT_OK
  }
  const byState = new Map<string, number>()
  for (const p of peers) byState.set(p.state, (byState.get(p.state) ?? 0) + 1)
  const summary = [...byState].map(([s, n]) => `${n} ${s}`).join(', ') || 'no peers'
  process.stdout.write(`${self.name} ${self.peerId} (tenant ${self.tenant}): ${summary}\n\n`)
  const sorted = [...peers].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.name.localeCompare(b.name))
  process.stdout.write(
    renderTable(
      ['NAME', 'PEER ID', 'TENANT', 'STATE', 'LAST SEEN', 'CONNECTED', 'ROLES'],
      sorted.map(p => [
        p.name,
        p.peerId,
        p.tenant,
        p.state,
        formatAge(p.lastSeenMs),
        p.connected === true ? 'yes' : 'no',
        p.roles.join(',')
      ])
    ) + '\n'
  )
  const nameOf = (id: string): string =>
    id === self.peerId ? self.name : (peers.find(p => p.peerId === id)?.name ?? id)
  process.stdout.write(`\nCouncils: ${councils.length === 0 ? 'none' : ''}\n`)
  if (councils.length > 0) {
    process.stdout.write(
      renderTable(
        ['PROJECT', 'ID', 'TENANT', 'STATE', 'EPOCH', 'ROSTER'],
        councils.map(c => [
          c.project,
          c.id,
          c.tenant,
          c.state + (c.reason !== undefined ? ` (${c.reason})` : ''),
          String(c.epoch),
          c.roster.map(s => `${s.role}=${s.name}`).join(' ')
        ])
      ) + '\n'
    )
  }
  const singletons = Object.entries(leaders)
  process.stdout.write(`\nLeaders: ${singletons.length === 0 ? 'none' : ''}\n`)
  if (singletons.length > 0) {
    process.stdout.write(
      renderTable(
        ['SINGLETON', 'LEADER', 'PEER ID', 'EPOCH'],
        singletons.map(([name, l]) => [name, nameOf(l.peerId), l.peerId, String(l.epoch)])
      ) + '\n'
    )
  }
  return EXIT_OK
}
