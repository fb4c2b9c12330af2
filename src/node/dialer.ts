import type {
  Libp2pEvents,
  PeerId,
  PeerRouting,
  PeerStore,
  PubSub,
  Startable,
  TypedEventTarget
} from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { silentLogger, type Logger } from '../logger/index.js'
import {
  DEFAULT_MAX_CONNECTIONS,
  DHT_LOOKUP_INTERVAL_MS,
  DHT_LOOKUP_TIMEOUT_MS,
  DIAL_CONCURRENCY,
  DIAL_FAILURE_BACKOFF_MS,
  DIAL_TIMEOUT_MS,
  DIAL_TOPUP_INTERVAL_MS,
  STARVED_EXTRA_CONNECTIONS
} from './constants.js'
import { meshStarved } from './gossip.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface AutoDialerInit {
  /**
   * Stop dialling discovered peers once this many peers are connected (inbound counts too).
   *
   * @default 32
   */
  maxConnections?: number
  /**
   * Dials in flight at most.
   *
   * @default 8
   */
  concurrency?: number
  /**
   * Timeout of one dial.
   *
   * @default 5000
   */
  dialTimeoutMs?: number
  /**
   * How often the connection count is topped up from peers already in the peer store.
   *
   * @default 2000
   */
  topUpIntervalMs?: number
  /**
   * An agent under the cap that has no known peer left to dial asks the DHT for the peers
   * closest to itself, at most this often (and only after being short of peers this long).
   *
   * @default 30000
   */
  lookupIntervalMs?: number
  /**
   * Connections this agent may open over `maxConnections` while a gossip mesh of its is starved
   * (empty, every connected subscriber having pruned it: see `meshStarved`).
   *
   * @default 4
   */
  starvedExtraConnections?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface AutoDialerComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  /** The DHT, through libp2p's peer routing: asked for more peers when the peer store runs dry. */
  peerRouting?: PeerRouting
  /** The seed dialer (configured before this service): seeds it released are not dialled here. */
  seeds?: { holdsOff(peerId: PeerId): boolean }
  /** Gossip (configured before this service): a starved mesh lets the dialer go over its cap. */
  pubsub?: PubSub
}

export interface AutoDialer extends Startable {
  /** Dial this peer if we are under the cap and not connected or dialling already. */
  consider(peerId: PeerId): void
}

/**
 * libp2p 2 has no auto-dialer: discovery only fills the peer store. This one connects to
 * discovered peers (mDNS, DHT, membership) until `maxConnections` peers are connected.
 *
 * It also owns the DHT walk. kad-dht's own periodic self-query dials its k closest peers
 * whether or not the agent needs more peers, and those connections stay open. With 34 agents in
 * one process it more than doubled the connections (868 vs 374 connection ends) and the idle
 * CPU; in the fan-out benchmark (34 agents in 4 processes) it put p50 at 800 ms instead of
 * 130 ms. Here the DHT is asked only by an agent that is short of peers and knows no one else
 * to dial.
 */
class DefaultAutoDialer implements AutoDialer {
  private readonly components: AutoDialerComponents
  private readonly log: Logger
  private readonly maxConnections: number
  private readonly concurrency: number
  private readonly dialTimeoutMs: number
  private readonly topUpIntervalMs: number
  /** Peers offered for a dial, not yet picked. */
  private readonly candidates = new Map<string, PeerId>()
  /** Peers being dialled now. */
  private readonly dialling = new Set<string>()
  private drainTimer?: ReturnType<typeof setTimeout>
  private readonly failedAt = new Map<string, number>()
  private running = 0
  private readonly lookupIntervalMs: number
  private ticking?: Ticking
  private started = false
  /** Since when the agent has been under the cap with nobody left to dial (undefined: it is not). */
  private shortSince?: number
  private lastLookup = 0
  private lookup?: AbortController
  private readonly seeds?: AutoDialerComponents['seeds']
  private readonly pubsub?: PubSub
  private readonly starvedExtra: number
  /** Connections allowed over the cap now: `starvedExtra` while a gossip mesh is starved, else 0. */
  private extra = 0

  constructor(components: AutoDialerComponents, init: AutoDialerInit) {
    this.components = components
    this.seeds = optionalComponent(() => components.seeds)
    this.pubsub = optionalComponent(() => components.pubsub)
    this.starvedExtra = init.starvedExtraConnections ?? STARVED_EXTRA_CONNECTIONS
    this.log = (init.logger ?? silentLogger()).child({ component: 'dialer' })
    this.maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
    this.concurrency = init.concurrency ?? DIAL_CONCURRENCY
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.topUpIntervalMs = init.topUpIntervalMs ?? DIAL_TOPUP_INTERVAL_MS
    this.lookupIntervalMs = init.lookupIntervalMs ?? DHT_LOOKUP_INTERVAL_MS
  }

  readonly [Symbol.toStringTag] = 'conclave:auto-dialer'

  private readonly onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    this.consider(evt.detail.id)
  }

  start(): void {
    this.started = true
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.ticking = everyTick(this.topUpIntervalMs, () => {
      void this.topUp()
    })
  }

  stop(): void {
    this.started = false
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.ticking?.stop()
    this.lookup?.abort()
    clearTimeout(this.drainTimer)
    this.drainTimer = undefined
    this.candidates.clear()
  }

  /** The connections to stop dialling at: the cap, plus the extra a starved mesh allows. */
  private cap(): number {
    return this.maxConnections + this.extra
  }

  private connectedPeers(): number {
    return this.components.connectionManager.getConnectionsMap().size
  }

  consider(peerId: PeerId): void {
    if (!this.started || peerId.equals(this.components.peerId)) return
    const key = peerId.toString()
    if (this.dialling.has(key) || this.candidates.has(key)) return
    if (this.components.connectionManager.getConnections(peerId).length > 0) return
    if (this.connectedPeers() + this.dialling.size >= this.cap()) return
    if (this.seeds?.holdsOff(peerId) === true) return
    const failed = this.failedAt.get(key)
    if (failed !== undefined && Date.now() - failed < DIAL_FAILURE_BACKOFF_MS) return
    this.candidates.set(key, peerId)
    this.scheduleDrain()
  }

  /**
   * Candidates arrive in bursts (a membership sync names the whole mesh, oldest agents first);
   * draining on the next turn lets the dialer pick among all of them at random.
   */
  private scheduleDrain(): void {
    if (this.drainTimer !== undefined) return
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined
      this.drain()
    }, 0)
  }

  /**
   * Dial random candidates into the free slots. Dialling in arrival order made every agent
   * connect to the same first agents: at 34 agents with a cap of 6 those were at gossipsub's
   * mesh ceiling and refused grafts, and a topic's mesh reached only 15 of the 34 agents.
   */
  private drain(): void {
    if (!this.started) return
    while (this.running < this.concurrency && this.candidates.size > 0) {
      if (this.connectedPeers() + this.dialling.size >= this.cap()) {
        // Full: the rest are offered again by discovery or the next top-up.
        this.candidates.clear()
        return
      }
      const keys = [...this.candidates.keys()]
      const key = keys[Math.floor(Math.random() * keys.length)] as string
      const peerId = this.candidates.get(key) as PeerId
      this.candidates.delete(key)
      if (this.components.connectionManager.getConnections(peerId).length > 0) continue
      this.dialling.add(key)
      this.running++
      void this.dial(peerId).finally(() => {
        this.running--
        this.dialling.delete(key)
        this.drain()
      })
    }
  }

  private async dial(peerId: PeerId): Promise<void> {
    if (!this.started || this.connectedPeers() >= this.cap()) return
    try {
      await this.components.connectionManager.openConnection(peerId, {
        signal: AbortSignal.timeout(this.dialTimeoutMs)
      })
      this.failedAt.delete(peerId.toString())
    } catch (err) {
      this.failedAt.set(peerId.toString(), Date.now())
      this.log.debug({ peer: peerId.toString(), err: (err as Error).message }, 'dial failed')
    }
  }

  private async topUp(): Promise<void> {
    this.checkStarved()
    if (!this.started || this.connectedPeers() >= this.cap()) {
      this.shortSince = undefined
      return
    }
    try {
      const peers = await this.components.peerStore.all({ filters: [p => p.addresses.length > 0] })
      for (const peer of peers) this.consider(peer.id)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'connection top-up failed')
    }
    if (this.candidates.size > 0 || this.dialling.size > 0) {
      this.shortSince = undefined
      return
    }
    const now = Date.now()
    this.shortSince ??= now
    if (now - this.shortSince >= this.lookupIntervalMs && now - this.lastLookup >= this.lookupIntervalMs) {
      void this.walk()
    }
  }

  /**
   * A peer whose gossip mesh is full refuses grafts over connections it did not dial, and holds
   * the grafter off for a minute: a late joiner whose every connection went to such peers is out
   * of the mesh (most likely what kept one of 34 agents out of it for over 30 s in a CI run).
   * New connections give it new peers to graft, so while a mesh is starved the dialer may go a
   * few connections over its cap.
   */
  private checkStarved(): void {
    const starved = this.pubsub !== undefined && meshStarved(this.pubsub)
    if (starved && this.extra === 0) {
      this.log.info(
        { connections: this.connectedPeers(), extra: this.starvedExtra },
        'gossip mesh starved: every connected peer pruned this agent; dialling over the cap'
      )
    }
    this.extra = starved ? this.starvedExtra : 0
  }

  /** Ask the DHT for the peers closest to this agent and consider each one it names. */
  private async walk(): Promise<void> {
    const routing = this.components.peerRouting
    if (routing === undefined || this.lookup !== undefined) return
    this.lastLookup = Date.now()
    this.lookup = new AbortController()
    const signal = AbortSignal.any([this.lookup.signal, AbortSignal.timeout(DHT_LOOKUP_TIMEOUT_MS)])
    let found = 0
    try {
      for await (const peer of routing.getClosestPeers(this.components.peerId.toMultihash().bytes, { signal })) {
        found++
        this.consider(peer.id)
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'DHT lookup ended early')
    } finally {
      this.lookup = undefined
      this.log.debug({ found }, 'DHT lookup for more peers')
    }
  }
}

/** libp2p's components throw on a service that is not configured: read an optional one as undefined. */
function optionalComponent<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

export function autoDialer(init: AutoDialerInit = {}): (components: AutoDialerComponents) => AutoDialer {
  return components => new DefaultAutoDialer(components, init)
}
