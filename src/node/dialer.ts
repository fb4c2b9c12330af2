import type { Libp2pEvents, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { silentLogger, type Logger } from '../logger/index.js'
import { DEFAULT_MAX_CONNECTIONS, DIAL_CONCURRENCY, DIAL_FAILURE_BACKOFF_MS, DIAL_TIMEOUT_MS, DIAL_TOPUP_INTERVAL_MS } from './constants.js'

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
}

export interface AutoDialer extends Startable {
  /** Dial this peer if we are under the cap and not connected or dialling already. */
  consider(peerId: PeerId): void
}

/**
 * libp2p 2 has no auto-dialer: discovery only fills the peer store. This one connects to
 * discovered peers (mDNS, DHT, membership) until `maxConnections` peers are connected.
 */
class DefaultAutoDialer implements AutoDialer {
  private readonly components: AutoDialerComponents
  private readonly log: Logger
  private readonly maxConnections: number
  private readonly concurrency: number
  private readonly dialTimeoutMs: number
  private readonly topUpIntervalMs: number
  private readonly queue: PeerId[] = []
  private readonly pending = new Set<string>()
  private readonly failedAt = new Map<string, number>()
  private running = 0
  private timer?: ReturnType<typeof setInterval>
  private started = false

  constructor (components: AutoDialerComponents, init: AutoDialerInit) {
    this.components = components
    this.log = (init.logger ?? silentLogger()).child({ component: 'dialer' })
    this.maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
    this.concurrency = init.concurrency ?? DIAL_CONCURRENCY
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.topUpIntervalMs = init.topUpIntervalMs ?? DIAL_TOPUP_INTERVAL_MS
  }

  readonly [Symbol.toStringTag] = 'conclave:auto-dialer'

  private readonly onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    this.consider(evt.detail.id)
  }

  start (): void {
    this.started = true
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.timer = setInterval(() => { void this.topUp() }, this.topUpIntervalMs)
    this.timer.unref()
  }

  stop (): void {
    this.started = false
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    clearInterval(this.timer)
    this.queue.length = 0
  }

  private connectedPeers (): number {
    return this.components.connectionManager.getConnectionsMap().size
  }

  consider (peerId: PeerId): void {
    if (!this.started || peerId.equals(this.components.peerId)) return
    const key = peerId.toString()
    if (this.pending.has(key)) return
    if (this.components.connectionManager.getConnections(peerId).length > 0) return
    if (this.connectedPeers() + this.pending.size >= this.maxConnections) return
    const failed = this.failedAt.get(key)
    if (failed !== undefined && Date.now() - failed < DIAL_FAILURE_BACKOFF_MS) return
    this.pending.add(key)
    this.queue.push(peerId)
    this.drain()
  }

  private drain (): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const peerId = this.queue.shift() as PeerId
      this.running++
      void this.dial(peerId).finally(() => {
        this.running--
        this.pending.delete(peerId.toString())
        this.drain()
      })
    }
  }

  private async dial (peerId: PeerId): Promise<void> {
    if (!this.started || this.connectedPeers() >= this.maxConnections) return
    try {
      await this.components.connectionManager.openConnection(peerId, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
      this.failedAt.delete(peerId.toString())
    } catch (err) {
      this.failedAt.set(peerId.toString(), Date.now())
      this.log.debug({ peer: peerId.toString(), err: (err as Error).message }, 'dial failed')
    }
  }

  private async topUp (): Promise<void> {
    if (!this.started || this.connectedPeers() >= this.maxConnections) return
    try {
      const peers = await this.components.peerStore.all({
        filters: [p => p.addresses.length > 0],
        limit: this.maxConnections * 4
      })
      for (const peer of peers) this.consider(peer.id)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'connection top-up failed')
    }
  }
}

export function autoDialer (init: AutoDialerInit = {}): (components: AutoDialerComponents) => AutoDialer {
  return (components) => new DefaultAutoDialer(components, init)
}
