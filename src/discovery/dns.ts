import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import { DnsResolveError } from './errors.js'

export interface DnsTarget {
  host: string
  port: number
}

/** Multiaddr for a resolved address. */
export function tcpMultiaddr(ip: string, port: number): string {
  return isIP(ip) === 6 ? `/ip6/${ip}/tcp/${port}` : `/ip4/${ip}/tcp/${port}`
}

/**
 * Resolves **every** A and AAAA record of a name. This is the fix for Swarm's service VIP:
 * `tasks.<service>` returns one record per task, and each one is dialled.
 */
export class DnsPeerResolver {
  private readonly resolver: Resolver

  constructor(servers: string[] = []) {
    this.resolver = new Resolver({ timeout: 2_000, tries: 2 })
    if (servers.length > 0) this.resolver.setServers(servers)
  }

  /** Every address of `host` (an IP literal resolves to itself). Errors only when no family answered. */
  async resolve(host: string): Promise<string[]> {
    if (isIP(host) !== 0) return [host]
    const results = await Promise.allSettled([this.resolver.resolve4(host), this.resolver.resolve6(host)])
    const addrs: string[] = []
    const errors: string[] = []
    for (const r of results) {
      if (r.status === 'fulfilled') addrs.push(...r.value)
      else errors.push((r.reason as NodeJS.ErrnoException).code ?? String(r.reason))
    }
    if (addrs.length === 0) throw new DnsResolveError(`${host} did not resolve (${[...new Set(errors)].join(', ')})`)
    return [...new Set(addrs)].sort()
  }

  /** Multiaddrs for every address of every target; names that fail are reported, not thrown. */
  async resolveAll(
    targets: DnsTarget[]
  ): Promise<{ addrs: string[]; failures: Array<{ host: string; error: string }> }> {
    const addrs: string[] = []
    const failures: Array<{ host: string; error: string }> = []
    await Promise.all(
      targets.map(async t => {
        try {
          for (const ip of await this.resolve(t.host)) addrs.push(tcpMultiaddr(ip, t.port))
        } catch (err) {
          failures.push({ host: t.host, error: (err as Error).message })
        }
      })
    )
    return { addrs: [...new Set(addrs)].sort(), failures }
  }
}
