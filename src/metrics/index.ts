/**
 * Conclave's own Prometheus metrics, registered next to libp2p's in the agent's registry.
 * Gauges are computed when scraped, from the sources attached after start-up; histograms are
 * observed as things happen. Names follow Prometheus conventions: units in the name, `_total`
 * counters, seconds.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CouncilState, CouncilView } from '../council/index.js'
import type { GossipRecorder, MemberState } from '../membership/index.js'
import type { GossipTrafficTotals } from '../node/index.js'

export { Registry }

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** Members by tenant and state. */
  members(): Array<{ tenant: string; state: MemberState }>
  /** Open connections. */
  connections(): number
  /** Councils this agent knows (singletons included). */
  councils(): Array<{ tenant: string; state: CouncilState }>
  /** Tasks this agent knows, by tenant and state. */
  tasks(): Array<{ tenant: string; state: string }>
  /** Longest stall of the event loop in the last minute, in ms. */
  loopStallMs?(): number
  /** Gossipsub's traffic since the node started. */
  gossipTraffic?(): GossipTrafficTotals
  /** Membership's own traffic since start: pings sent (probes), syncs started. */
  membershipTraffic?(): { pings: number; syncs: number }
}

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left']
const COUNCIL_STATES: CouncilState[] = ['forming', 'active', 'degraded', 'dissolved', 'failed']
const TASK_STATES = ['queued', 'running', 'done', 'failed']
/** Gossip delivery and replication: milliseconds to tens of seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Council formation and failover: a few hundred ms to a minute. */
const COUNCIL_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60]

type Counted = Array<{ tenant: string; state: string }>

/** A gauge of `items()` counted by tenant and state at scrape time, with a zero for every known state. */
function stateGauge(
  registry: Registry,
  name: string,
  help: string,
  items: () => Counted,
  states: string[]
): Gauge<'tenant' | 'state'> {
  return new Gauge({
    name,
    help,
    labelNames: ['tenant', 'state'],
    registers: [registry],
    collect() {
      setCounts(this, items(), states)
    }
  })
}

function setCounts(gauge: Gauge<'tenant' | 'state'>, items: Counted, states: string[]): void {
  gauge.reset()
  const counts = new Map<string, number>()
  for (const item of items) {
    const key = `${item.tenant}\u0000${item.state}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  for (const tenant of new Set(items.map(i => i.tenant))) {
    for (const state of states) gauge.set({ tenant, state }, counts.get(`${tenant}\u0000${state}`) ?? 0)
  }
}

export class AgentMetrics implements GossipRecorder {
  readonly registry: Registry
  private sources?: MetricsSources
  private readonly messages: Counter<'direction' | 'channel'>
  private readonly rejections: Counter<'channel' | 'reason'>
  private readonly delivery: Histogram<'channel'>
  private readonly formation: Histogram<'tenant'>
  private readonly failover: Histogram<'tenant'>
  private readonly replication: Histogram<'tenant' | 'source'>
  private readonly refusedEpisodes: Counter<'tenant' | 'reason'>
  /** When each council this agent follows was last seen leaving `active`. */
  private readonly degradedSince = new Map<string, number>()
  private readonly formed = new Set<string>()

  constructor(registry: Registry = new Registry()) {
    this.registry = registry
    const self = this
    stateGauge(
      registry,
      'conclave_peers',
      "Members of this agent's tenants in its membership view, by state",
      () => self.sources?.members() ?? [],
      STATES
    )
    // eslint-disable-next-line no-new -- registered with the registry, which keeps it
    new Gauge({
      name: 'conclave_connections',
      help: 'Open libp2p connections',
      registers: [registry],
      collect() {
        this.set(self.sources?.connections() ?? 0)
      }
    })
    // eslint-disable-next-line no-new -- registered with the registry, which keeps it
    new Gauge({
      name: 'conclave_event_loop_stall_seconds',
      help: 'Longest stall of the event loop in the last minute: peers may take a stall longer than the ping timeout for a failure',
      registers: [registry],
      collect() {
        this.set((self.sources?.loopStallMs?.() ?? 0) / 1000)
      }
    })
    const gossipTotals = [
      {
        name: 'conclave_gossipsub_rpcs_total',
        help: 'Gossipsub RPCs (each carries messages and control) sent and received since start',
        out: 'rpcsSent',
        in: 'rpcsReceived'
      },
      {
        name: 'conclave_gossipsub_bytes_total',
        help: 'Bytes of gossipsub RPCs sent and received since start',
        out: 'bytesSent',
        in: 'bytesReceived'
      }
    ] as const
    const membershipTotals = [
      {
        name: 'conclave_membership_pings_total',
        help: 'Pings membership sent since start: its probes, and probes for members that asked',
        key: 'pings'
      },
      {
        name: 'conclave_membership_syncs_total',
        help: 'Push-pull view exchanges this agent started since start',
        key: 'syncs'
      }
    ] as const
    for (const total of membershipTotals) {
      // eslint-disable-next-line no-new -- registered with the registry, which keeps it
      new Counter({
        name: total.name,
        help: total.help,
        registers: [registry],
        collect() {
          this.reset()
          this.inc(self.sources?.membershipTraffic?.()[total.key] ?? 0)
        }
      })
    }
    for (const total of gossipTotals) {
      // eslint-disable-next-line no-new -- registered with the registry, which keeps it
      new Counter({
        name: total.name,
        help: total.help,
        labelNames: ['direction'],
        registers: [registry],
        collect() {
          const t = self.sources?.gossipTraffic?.()
          if (t === undefined) return
          // Totals kept by the gossip layer: the counter shows them as they stand.
          this.reset()
          this.inc({ direction: 'out' }, t[total.out])
          this.inc({ direction: 'in' }, t[total.in])
        }
      })
    }
    stateGauge(
      registry,
      'conclave_councils',
      'Councils this agent follows, by tenant and state (singletons included)',
      () => self.sources?.councils() ?? [],
      COUNCIL_STATES
    )
    stateGauge(
      registry,
      'conclave_tasks',
      'Tasks this agent knows, by tenant and state',
      () => self.sources?.tasks() ?? [],
      TASK_STATES
    )
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
    this.delivery = new Histogram({
      name: 'conclave_gossip_delivery_seconds',
      help: 'Gossip delivery latency: from the sender sealing the envelope (its clock) to acceptance here, by channel',
      labelNames: ['channel'],
      buckets: LATENCY_BUCKETS,
      registers: [registry]
    })
    this.formation = new Histogram({
      name: 'conclave_council_formation_seconds',
      help: 'Council formation as this agent saw it: from the open to the first active roster',
      labelNames: ['tenant'],
      buckets: COUNCIL_BUCKETS,
      registers: [registry]
    })
    this.failover = new Histogram({
      name: 'conclave_council_failover_seconds',
      help: 'Council failover as this agent saw it: from leaving active (a core holder lost) to active again',
      labelNames: ['tenant'],
      buckets: COUNCIL_BUCKETS,
      registers: [registry]
    })
    this.replication = new Histogram({
      name: 'conclave_memory_replication_lag_seconds',
      help: "Episode replication lag: from the episode being recorded (its origin's clock) to it being stored here, by how it arrived",
      labelNames: ['tenant', 'source'],
      buckets: LATENCY_BUCKETS,
      registers: [registry]
    })
    this.refusedEpisodes = new Counter({
      name: 'conclave_memory_refused_total',
      help: 'Episodes the store did not take: duplicate (already held), conflict (another episode holds its id), expired (past retention)',
      labelNames: ['tenant', 'reason'],
      registers: [registry]
    })
  }

  /** The episode store did not take an episode. */
  episodeRefused(tenant: string, reason: string): void {
    this.refusedEpisodes.inc({ tenant, reason })
  }

  attach(sources: MetricsSources): void {
    this.sources = sources
  }

  messageIn(channel: string, sentAt?: number): void {
    this.messages.inc({ direction: 'in', channel })
    // Clocks of other hosts may be behind: a negative latency is not a measurement.
    if (sentAt !== undefined) this.delivery.observe({ channel }, Math.max(0, Date.now() - sentAt) / 1000)
  }

  messageOut(channel: string): void {
    this.messages.inc({ direction: 'out', channel })
  }
  rejected(channel: string, reason: string): void {
    this.rejections.inc({ channel, reason })
  }

  /** A council changed (Councils.onChange): formation and failover durations. */
  council(view: CouncilView): void {
    const now = Date.now()
    if (view.state === 'active') {
      if (!this.formed.has(view.id)) {
        this.formed.add(view.id)
        this.formation.observe({ tenant: view.tenant }, Math.max(0, (view.activatedAt ?? now) - view.createdAt) / 1000)
      }
      const since = this.degradedSince.get(view.id)
      if (since !== undefined) {
        this.degradedSince.delete(view.id)
        this.failover.observe({ tenant: view.tenant }, (now - since) / 1000)
      }
    } else if (view.state === 'degraded') {
      if (!this.degradedSince.has(view.id)) this.degradedSince.set(view.id, now)
    } else if (view.state === 'dissolved' || view.state === 'failed') {
      this.degradedSince.delete(view.id)
      this.formed.delete(view.id)
    }
  }

  /** An episode arrived from a peer (gossip or pull). */
  episode(tenant: string, ts: number, source: string): void {
    this.replication.observe({ tenant, source }, Math.max(0, Date.now() - ts) / 1000)
  }
}
