/**
 * Conclave's own Prometheus metrics, registered next to libp2p's in the agent's registry.
 * Gauges are computed when scraped, from the sources attached after start-up.
 */
import { Counter, Gauge, Registry } from 'prom-client'
import type { GossipRecorder } from '../membership/index.js'
import type { MemberState } from '../membership/index.js'

export { Registry }

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** Members by tenant and state. */
  members(): Array<{ tenant: string, state: MemberState }>
  /** Open connections. */
  connections(): number
}

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left']

export class AgentMetrics implements GossipRecorder {
  readonly registry: Registry
  private sources?: MetricsSources
  private readonly messages: Counter<'direction' | 'channel'>
  private readonly rejections: Counter<'channel' | 'reason'>

  constructor (registry: Registry = new Registry()) {
    this.registry = registry
    const self = this
    new Gauge({
      name: 'conclave_peers',
      help: 'Members of this agent\'s tenants in its membership view, by state',
      labelNames: ['tenant', 'state'],
      registers: [registry],
      collect () {
        this.reset()
        const counts = new Map<string, number>()
        for (const m of self.sources?.members() ?? []) {
          counts.set(`${m.tenant}\u0000${m.state}`, (counts.get(`${m.tenant}\u0000${m.state}`) ?? 0) + 1)
        }
        const tenants = new Set([...counts.keys()].map(k => k.split('\u0000')[0] as string))
        for (const tenant of tenants) {
          for (const state of STATES) this.set({ tenant, state }, counts.get(`${tenant}\u0000${state}`) ?? 0)
        }
      }
    })
    new Gauge({
      name: 'conclave_connections',
      help: 'Open libp2p connections',
      registers: [registry],
      collect () { this.set(self.sources?.connections() ?? 0) }
    })
    this.messages = new Counter({
      name: 'conclave_gossip_messages_total',
      help: 'Gossip messages published (out) and accepted (in), by channel',
      labelNames: ['direction', 'channel'],
      registers: [registry]
    })
    this.rejections = new Counter({
      name: 'conclave_gossip_rejected_total',
      help: 'Gossip messages rejected by validation, by channel and reason',
      labelNames: ['channel', 'reason'],
      registers: [registry]
    })
  }

  attach (sources: MetricsSources): void {
    this.sources = sources
  }

  messageIn (channel: string): void { this.messages.inc({ direction: 'in', channel }) }
  messageOut (channel: string): void { this.messages.inc({ direction: 'out', channel }) }
  rejected (channel: string, reason: string): void { this.rejections.inc({ channel, reason }) }
}
