/**
 * DNS discovery against a DNS server on loopback that serves one name with several addresses, as
 * Swarm's `tasks.<service>` does; every agent finds every other through it. (The namespace
 * cluster test runs dnsmasq the same way.)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../src/agent/index.js'
import { loadConfig } from '../src/config/index.js'
import { DnsPeerResolver } from '../src/discovery/index.js'
import { startDnsServer, type DnsServer } from './helpers/dns-server.js'
import { waitFor } from './helpers/wait.js'

const N = 6
// Each replica has its own loopback address and they all use one port, like tasks on an overlay.
const IPS = Array.from({ length: N }, (_, i) => `127.0.0.${21 + i}`)
const PORT = 20_000 + Math.floor(Math.random() * 20_000)

let dir: string
let dns: DnsServer
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-dns-'))
  dns = await startDnsServer(IPS.map(ip => ({ name: 'tasks.agent', ip })))
})
afterAll(async () => {
  await dns?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('DNS discovery', () => {
  it('resolves every A record of a name, and reports names that do not resolve', async () => {
    const resolver = new DnsPeerResolver([dns.server])
    expect(await resolver.resolve('tasks.agent')).toEqual([...IPS].sort())
    const { addrs, failures } = await resolver.resolveAll([
      { host: 'tasks.agent', port: PORT },
      { host: 'missing.agent', port: PORT }
    ])
    expect(addrs).toEqual(IPS.map(ip => `/ip4/${ip}/tcp/${PORT}`).sort())
    expect(failures.map(f => f.host)).toEqual(['missing.agent'])
  })

  it(`${N} agents with mDNS off and no bootstrap find all others through CONCLAVE_DNS_PEERS`, async () => {
    const agents: Agent[] = []
    try {
      for (const [i, ip] of IPS.entries()) {
        const { config } = loadConfig({
          env: {
            CONCLAVE_NAME: `replica-${i}`,
            CONCLAVE_LISTEN: `/ip4/${ip}/tcp/${PORT}`,
            CONCLAVE_HTTP: '127.0.0.1:0',
            CONCLAVE_DATA_DIR: join(dir, `replica-${i}`),
            CONCLAVE_MDNS: 'false',
            CONCLAVE_DNS_PEERS: `tasks.agent:${PORT}`,
            CONCLAVE_DNS_SERVERS: dns.server,
            CONCLAVE_DNS_INTERVAL_MS: '1000'
          }
        })
        agents.push(await Agent.start(config, { collectDefaultMetrics: false }))
      }
      await waitFor(() => agents.every(a => a.membership.peers().filter(p => p.state === 'alive').length === N - 1), {
        timeoutMs: 30_000,
        message: () =>
          `views: ${agents.map(a => a.membership.peers().filter(p => p.state === 'alive').length).join(',')}`
      })
      // Every replica dials every address behind the name (retrying those that were not up yet),
      // not only the peers it learned through gossip.
      await waitFor(
        () =>
          agents.every(a => {
            const dnsSeeds = a.node.services.seeds.status().filter(s => s.origin === 'dns')
            return dnsSeeds.length === N - 1 && dnsSeeds.every(s => s.peerId !== undefined)
          }),
        { timeoutMs: 15_000, message: () => JSON.stringify(agents.map(a => a.node.services.seeds.status())) }
      )
      const ids = new Set(agents.map(a => a.peerId))
      for (const a of agents) {
        for (const seed of a.node.services.seeds.status()) expect(ids.has(seed.peerId ?? '')).toBe(true)
      }
    } finally {
      await Promise.allSettled(
        agents.map(async a => {
          await a.stop()
        })
      )
    }
  })
})
