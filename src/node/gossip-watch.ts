/**
 * Gossipsub keeps one long-lived outbound stream per peer. When that stream dies (the peer reset
 * it after stalling, a muxer error) while the connection stays up, gossipsub keeps pushing into
 * the dead stream and never opens another: gossip to that peer goes silent for as long as the
 * connection lives, while pings, and so membership probes, still get through. This service
 * finds peers gossipsub counts as connected whose connections carry no open outbound gossip
 * stream, twice in a row, and closes those connections and dials again: gossipsub opens fresh
 * streams on the new connection.
 */
import type { Connection, PeerId, PubSub, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { silentLogger, type Logger } from '../logger/index.js'
import { GOSSIP_WATCH_INTERVAL_MS } from './constants.js'
import { GOSSIP_PROTOCOLS } from './gossip.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface GossipWatchInit {
  /**
   * How often connections are checked; a peer found without a gossip stream on two checks in a
   * row is reconnected.
   *
   * @default 5000
   */
  intervalMs?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface GossipWatchComponents {
  connectionManager: ConnectionManager
  pubsub?: PubSub
}

export interface GossipWatch {
  /** Reconnections made because a gossip stream had died. */
  readonly repairs: number
  /** Run one check now (the timer runs them every `intervalMs`). */
  check(): Promise<void>
}

/** Whether `conn` carries an open stream of ours speaking gossipsub. */
function hasGossipStream(conn: Connection): boolean {
  return conn.streams.some(
    s => s.direction === 'outbound' && GOSSIP_PROTOCOLS.includes(s.protocol ?? '') && s.status === 'open'
  )
}

class DefaultGossipWatch implements GossipWatch, Startable {
  private readonly components: GossipWatchComponents
  private readonly intervalMs: number
  private readonly log: Logger
  private ticking?: Ticking
  /** Peers found without a stream on the last check. */
  private suspects = new Set<string>()
  repairs = 0

  constructor(components: GossipWatchComponents, init: GossipWatchInit) {
    this.components = components
    this.intervalMs = init.intervalMs ?? GOSSIP_WATCH_INTERVAL_MS
    this.log = (init.logger ?? silentLogger()).child({ component: 'gossip-watch' })
  }

  readonly [Symbol.toStringTag] = 'conclave:gossip-watch'

  start(): void {
    this.ticking = everyTick(this.intervalMs, () => {
      void this.check()
    })
  }

  stop(): void {
    this.ticking?.stop()
    this.suspects.clear()
  }

  async check(): Promise<void> {
    const pubsub = this.components.pubsub
    if (pubsub === undefined) return
    const gossiping = new Set(pubsub.getPeers().map(String))
    const now = new Set<string>()
    const toRepair: PeerId[] = []
    const settled = Date.now() - 2 * this.intervalMs
    for (const conn of this.components.connectionManager.getConnections()) {
      const peer = conn.remotePeer.toString()
      // A connection younger than two checks may still be getting its stream.
      if (!gossiping.has(peer) || conn.status !== 'open' || conn.timeline.open > settled || now.has(peer)) continue
      const conns = this.components.connectionManager.getConnections(conn.remotePeer)
      if (conns.some(hasGossipStream)) continue
      now.add(peer)
      if (this.suspects.has(peer)) toRepair.push(conn.remotePeer)
    }
    this.suspects = now
    for (const peer of toRepair) {
      this.suspects.delete(peer.toString())
      this.repairs++
      this.log.warn(
        { peer: peer.toString() },
        'gossip stream to peer is gone while the connection stays up: reconnecting'
      )
      await Promise.allSettled(
        this.components.connectionManager.getConnections(peer).map(async c => {
          await c.close()
        })
      )
      await this.components.connectionManager.openConnection(peer).catch((err: Error) => {
        this.log.debug({ peer: peer.toString(), err: err.message }, 'redial after a gossip repair failed')
      })
    }
  }
}

export function gossipWatch(init: GossipWatchInit = {}): (components: GossipWatchComponents) => GossipWatch {
  return components => new DefaultGossipWatch(components, init)
}
