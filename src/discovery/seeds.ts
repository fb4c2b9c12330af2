import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  KEEP_ALIVE,
  type Connection,
  type IncomingStreamData,
  type PeerId,
  type PeerStore,
  type Startable
} from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { silentLogger, type Logger } from '../logger/index.js'
import { DeadlineError, isTimeout, ProtocolError } from '../util/errors.js'
import { DEFAULT_MAX_CONNECTIONS } from './constants.js'
import {
  DEFAULT_DNS_INTERVAL_MS,
  SEED_DIAL_TIMEOUT_MAX_MS,
  SEED_DIAL_TIMEOUT_MS,
  SEED_REDIAL_BELOW,
  SEED_RELEASE_AFTER_MS,
  SEED_RELEASE_MARK_MS,
  SEED_RELEASE_PROTOCOL,
  SEED_RELEASE_TIMEOUT_MS,
  SEED_RETRY_MAX_MS,
  SEED_RETRY_MIN_MS,
  SEED_TICK_MS
} from './constants.js'
import { DnsPeerResolver, type DnsTarget } from './dns.js'
import { within } from '../util/deadline.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface SeedDialerInit {
  /**
   * Bootstrap multiaddrs (/ip4, /ip6, /dns4, /dns6, /dnsaddr), with or without /p2p/<id>.
   *
   * @default []
   */
  bootstrap?: string[]
  /**
   * Names whose every A/AAAA record is dialled (`tasks.agent:4001`).
   *
   * @default []
   */
  dnsPeers?: DnsTarget[]
  /**
   * DNS servers for `dnsPeers` (`ip[:port]`); empty uses the system resolver.
   *
   * @default []
   */
  dnsServers?: string[]
  /**
   * Re-resolve `dnsPeers` this often, so replicas that come and go are found.
   *
   * @default 30000
   */
  dnsIntervalMs?: number
  /**
   * Timeout of the first dial to a seed. Each dial that timed out (as opposed to being refused)
   * doubles the next one's, up to `SEED_DIAL_TIMEOUT_MAX_MS`.
   *
   * @default 5000
   */
  dialTimeoutMs?: number
  /**
   * DNS-discovered addresses are not dialled past this many connected peers (bootstrap
   * addresses always are: they are how a lone agent gets in).
   *
   * @default 32
   */
  maxConnections?: number
  /**
   * Close the connection to a bootstrap seed once the agent has `maxConnections` peers and the
   * connection stood `releaseAfterMs` to twice that; redial it only when fewer than
   * `SEED_REDIAL_BELOW` peers are left. Otherwise every agent stays connected to the bootstrap
   * peer, which then relays gossip to, and is probed by, the whole mesh.
   *
   * @default true
   */
  releaseSeeds?: boolean
  /**
   * A connection to a bootstrap seed is released once it stood between this and twice this long
   * (at random, so that replicas started together do not all leave the seed in one tick): time
   * for the agent to learn the mesh through it.
   *
   * @default 60000
   */
  releaseAfterMs?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface SeedDialerComponents {
  peerId: PeerId
  connectionManager: ConnectionManager
  addressManager: AddressManager
  registrar: Registrar
  peerStore: PeerStore
}

export interface SeedStatus {
  addr: string
  origin: 'bootstrap' | 'dns'
  peerId?: string
  connected: boolean
  /** The agent released this seed: it is not redialled while the agent has other peers. */
  released: boolean
  failures: number
  /** Timeout the next dial will get (it grows while dials time out). */
  nextTimeoutMs: number
  lastError?: string
}

export interface SeedDialer extends Startable {
  /** Every seed address and whether it is connected. */
  status(): SeedStatus[]
  /** Resolve `dnsPeers` now (also runs on an interval). */
  refreshDns(): Promise<void>
  /** Whether this agent released that seed and keeps away from it (other dialers skip it too). */
  holdsOff(peerId: PeerId): boolean
  /**
   * Whether the connection with that peer was closed on purpose lately, by either end: its loss
   * says nothing about the peer's health. Asked once per disconnect: the answer is consumed.
   */
  releasedOnPurpose(peerId: string): boolean
}

interface Seed {
  addr: Multiaddr
  origin: 'bootstrap' | 'dns'
  peerId?: PeerId
  failures: number
  /** Consecutive dials that timed out (not refused): each doubles the next timeout. */
  timeouts: number
  nextAttemptAt: number
  dialing: boolean
  self: boolean
  /** Closed on purpose by this agent (see `releaseSeeds`). */
  released: boolean
  releasing: boolean
  /** A release the seed did not answer is retried no sooner than this. */
  nextReleaseAt: number
  /**
   * How long a connection to this seed stands before it is released (see `releaseAfterMs`:
   * without the spread, the seed of 19 agents started together had no connection at all until
   * its own dialer's next top-up).
   */
  releaseAfterMs: number
  lastError?: string
}

/** `/ip4/1.2.3.4/tcp/4001` for any address, with /p2p stripped: how seeds are keyed. */
const transportKey = (ma: Multiaddr): string => ma.decapsulateCode(421).toString()

/**
 * Keeps the agent connected to its seeds: bootstrap multiaddrs and every address behind its DNS
 * names. Unlike `@libp2p/bootstrap` it accepts addresses without a peer id and keeps retrying
 * with backoff, so agents may start before their bootstrap peer.
 */
class DefaultSeedDialer implements SeedDialer {
  private readonly components: SeedDialerComponents
  private readonly init: SeedDialerInit
  private readonly log: Logger
  private readonly resolver: DnsPeerResolver
  private readonly seeds = new Map<string, Seed>()
  /** Peers whose connection with us was released on purpose (by either end), and when. */
  private readonly releases = new Map<string, number>()
  private ticking?: Ticking
  private dnsTimer?: ReturnType<typeof setInterval>
  private started = false

  constructor(components: SeedDialerComponents, init: SeedDialerInit) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? silentLogger()).child({ component: 'seeds' })
    this.resolver = new DnsPeerResolver(init.dnsServers)
    for (const text of init.bootstrap ?? []) this.add(multiaddr(text), 'bootstrap')
  }

  readonly [Symbol.toStringTag] = 'conclave:seed-dialer'

  async start(): Promise<void> {
    this.started = true
    await this.components.registrar.handle(SEED_RELEASE_PROTOCOL, this.onRelease, { runOnLimitedConnection: false })
    this.ticking = everyTick(SEED_TICK_MS, () => {
      this.dialDue()
      this.forgetReleases()
      this.releaseDue()
    })
    if ((this.init.dnsPeers ?? []).length > 0) {
      void this.refreshDns().catch(err => {
        this.log.warn({ err: (err as Error).message }, 'DNS peer resolution failed')
      })
      this.dnsTimer = setInterval(() => {
        void this.refreshDns()
      }, this.init.dnsIntervalMs ?? DEFAULT_DNS_INTERVAL_MS)
      this.dnsTimer.unref()
    }
  }

  /** The first dials wait for the node to be fully started (libp2p refuses dials before). */
  afterStart(): void {
    this.dialDue()
  }

  async stop(): Promise<void> {
    this.started = false
    this.ticking?.stop()
    clearInterval(this.dnsTimer)
    this.releases.clear()
    await this.components.registrar.unhandle(SEED_RELEASE_PROTOCOL)
  }

  holdsOff(peerId: PeerId): boolean {
    for (const seed of this.seeds.values()) if (seed.released && seed.peerId?.equals(peerId) === true) return true
    return false
  }

  releasedOnPurpose(peerId: string): boolean {
    const at = this.releases.get(peerId)
    // One release explains one disconnect: a later one (the seed crashed after dialling this
    // agent back) must be probed as usual.
    this.releases.delete(peerId)
    return at !== undefined && Date.now() - at < SEED_RELEASE_MARK_MS
  }

  status(): SeedStatus[] {
    return [...this.seeds.values()]
      .filter(s => !s.self)
      .map(s => ({
        addr: s.addr.toString(),
        origin: s.origin,
        ...(s.peerId !== undefined ? { peerId: s.peerId.toString() } : {}),
        connected: this.isConnected(s),
        released: s.released,
        failures: s.failures,
        nextTimeoutMs: this.timeoutFor(s),
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {})
      }))
  }

  async refreshDns(): Promise<void> {
    const { addrs, failures } = await this.resolver.resolveAll(this.init.dnsPeers ?? [])
    for (const f of failures) this.log.warn({ host: f.host, err: f.error }, 'DNS peer name did not resolve')
    if (!this.started) return
    const current = new Set(addrs)
    for (const [key, seed] of this.seeds) {
      if (seed.origin === 'dns' && !current.has(key)) this.seeds.delete(key)
    }
    let added = 0
    for (const text of addrs) if (this.add(multiaddr(text), 'dns')) added++
    if (added > 0) this.log.info({ added, total: addrs.length }, 'DNS peers resolved')
    this.dialDue()
  }

  private add(addr: Multiaddr, origin: Seed['origin']): boolean {
    const key = transportKey(addr)
    if (this.seeds.has(key)) return false
    const id = addr.getPeerId()
    this.seeds.set(key, {
      addr,
      origin,
      failures: 0,
      timeouts: 0,
      nextAttemptAt: 0,
      dialing: false,
      self: false,
      released: false,
      releasing: false,
      nextReleaseAt: 0,
      releaseAfterMs: (this.init.releaseAfterMs ?? SEED_RELEASE_AFTER_MS) * (1 + Math.random()),
      ...(id != null ? { peerId: peerIdFromAddr(addr) } : {})
    })
    return true
  }

  private isConnected(seed: Seed): boolean {
    return seed.peerId !== undefined && this.components.connectionManager.getConnections(seed.peerId).length > 0
  }

  private isOwnAddress(seed: Seed): boolean {
    if (seed.peerId?.equals(this.components.peerId) === true) return true
    const key = transportKey(seed.addr)
    return this.components.addressManager.getAddresses().some(a => transportKey(a) === key)
  }

  private dialDue(): void {
    if (!this.started) return
    const now = Date.now()
    const connected = this.components.connectionManager.getConnectionsMap().size
    for (const seed of this.seeds.values()) {
      if (seed.self || seed.dialing || seed.nextAttemptAt > now || this.isConnected(seed)) continue
      // The cheap reasons to wait first: the own-address check asks the transport for its
      // addresses, and a released seed is passed over at every tick for as long as it stays released.
      if (seed.origin === 'dns' && connected >= (this.init.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) continue
      if (seed.released && connected >= SEED_REDIAL_BELOW) continue
      if (this.isOwnAddress(seed)) {
        seed.self = true
        continue
      }
      if (seed.released) {
        seed.released = false
        this.log.info({ addr: seed.addr.toString(), connected }, 'redialling a released seed: few peers left')
      }
      void this.dial(seed)
    }
  }

  /**
   * Release bootstrap seeds this agent no longer needs: it has its full complement of peers, and
   * the seed's connection stood long enough for the agent to have learnt the mesh through it.
   * Only connections this agent opened are released: the seed's own dialer keeps the peers it
   * chose, so the seed keeps neighbours (who notice if it fails) and its connections fall to
   * about the dial cap instead of the size of the mesh.
   */
  private releaseDue(): void {
    if (!this.started || this.init.releaseSeeds === false) return
    const now = Date.now()
    const { connectionManager } = this.components
    let connected = connectionManager.getConnectionsMap().size
    if (connected < (this.init.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) return
    for (const seed of this.seeds.values()) {
      if (
        seed.origin !== 'bootstrap' ||
        seed.peerId === undefined ||
        seed.self ||
        seed.released ||
        seed.releasing ||
        seed.nextReleaseAt > now
      ) {
        continue
      }
      const conns = connectionManager.getConnections(seed.peerId)
      if (
        conns.length === 0 ||
        conns.some(c => c.direction === 'inbound' || now - c.timeline.open < seed.releaseAfterMs)
      ) {
        continue
      }
      // Never below the redial floor: with a cap that low, the seed would be redialled at once.
      if (connected - 1 < SEED_REDIAL_BELOW) return
      connected--
      void this.release(seed, seed.peerId, conns)
    }
  }

  /**
   * Tell the seed first (it then knows the disconnect is no failure), wait for its answer, and
   * close. A seed that does not speak the protocol, or does not answer in time, is kept.
   */
  private async release(seed: Seed, peerId: PeerId, conns: Connection[]): Promise<void> {
    seed.releasing = true
    const signal = AbortSignal.timeout(SEED_RELEASE_TIMEOUT_MS)
    try {
      const stream = await (conns[0] as Connection).newStream(SEED_RELEASE_PROTOCOL, { signal })
      await stream.closeWrite({ signal })
      // The seed closes its end once it noted the release.
      for await (const chunk of stream.source) {
        if (chunk.byteLength > 0) throw new ProtocolError('unexpected reply to a release')
      }
      if (!this.started) return
      await this.dropKeepAlive(peerId)
      this.releases.set(peerId.toString(), Date.now())
      seed.released = true
      await Promise.all(
        conns.map(async c => {
          await c.close({ signal })
        })
      )
      this.log.debug({ addr: seed.addr.toString(), peer: peerId.toString() }, 'released bootstrap seed')
    } catch (err) {
      seed.nextReleaseAt = Date.now() + SEED_RELEASE_AFTER_MS
      this.log.debug({ addr: seed.addr.toString(), err: (err as Error).message }, 'seed release failed')
    } finally {
      seed.releasing = false
    }
  }

  /**
   * Marks no disconnect asked about (nobody consults them without membership) go after
   * `SEED_RELEASE_MARK_MS`. Also with `releaseSeeds` off: such an agent is still others' seed.
   */
  private forgetReleases(): void {
    const now = Date.now()
    for (const [peer, at] of this.releases) if (now - at >= SEED_RELEASE_MARK_MS) this.releases.delete(peer)
  }

  /** A peer releases its connection to this agent (we are its seed). */
  private readonly onRelease = ({ stream, connection }: IncomingStreamData): void => {
    const peerId = connection.remotePeer
    this.releases.set(peerId.toString(), Date.now())
    void (async () => {
      await this.dropKeepAlive(peerId)
      // Closing our end tells the releasing agent we are ready for the disconnect.
      await stream.close({ signal: AbortSignal.timeout(SEED_RELEASE_TIMEOUT_MS) })
    })().catch(err => {
      stream.abort(err as Error)
    })
  }

  /**
   * kad-dht tags its 20 closest peers keep-alive, and libp2p redials a keep-alive peer as soon as
   * it disconnects: both ends would reconnect at once (seen: every agent and the seed redialled
   * within 300 ms of the release). The tags go before the connection does.
   */
  private async dropKeepAlive(peerId: PeerId): Promise<void> {
    const { peerStore } = this.components
    if (!(await peerStore.has(peerId))) return
    const peer = await peerStore.get(peerId)
    const tags = Object.fromEntries(
      [...peer.tags.keys()].filter(k => k.startsWith(KEEP_ALIVE)).map(k => [k, undefined])
    )
    if (Object.keys(tags).length > 0) await peerStore.merge(peerId, { tags })
  }

  private timeoutFor(seed: Seed): number {
    const first = this.init.dialTimeoutMs ?? SEED_DIAL_TIMEOUT_MS
    return Math.min(Math.max(first, SEED_DIAL_TIMEOUT_MAX_MS), first * 2 ** Math.min(seed.timeouts, 16))
  }

  private async dial(seed: Seed): Promise<void> {
    seed.dialing = true
    const timeoutMs = this.timeoutFor(seed)
    try {
      const conn = await withDeadline(
        this.components.connectionManager.openConnection(seed.addr, { signal: AbortSignal.timeout(timeoutMs) }),
        timeoutMs + 1_000
      )
      seed.peerId = conn.remotePeer
      seed.failures = 0
      seed.timeouts = 0
      delete seed.lastError
      if (conn.remotePeer.equals(this.components.peerId)) seed.self = true
      this.log.debug({ addr: seed.addr.toString(), peer: conn.remotePeer.toString() }, 'connected to seed')
    } catch (err) {
      seed.failures++
      seed.lastError = (err as Error).message
      seed.timeouts = isTimeout(err) ? seed.timeouts + 1 : 0
      if (/dial self|can not dial self/i.test(seed.lastError)) seed.self = true
      const level = seed.failures === 1 || seed.failures % 10 === 0 ? 'info' : 'debug'
      this.log[level](
        { addr: seed.addr.toString(), failures: seed.failures, err: seed.lastError },
        'seed not reachable yet'
      )
    } finally {
      seed.dialing = false
      seed.nextAttemptAt =
        Date.now() + Math.min(SEED_RETRY_MAX_MS, SEED_RETRY_MIN_MS * 2 ** Math.min(seed.failures, 16))
    }
  }
}

/**
 * Settle after `ms` whatever the promise does. Seen at 100 agents in one process: a dial that
 * joined libp2p's queue behind a stalled one never settled despite its abort signal, and the
 * seed was never retried.
 */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return await within(promise, ms, () => {
    throw new DeadlineError(`dial did not settle within ${ms} ms`)
  })
}

function peerIdFromAddr(addr: Multiaddr): PeerId | undefined {
  const text = addr.getPeerId()
  return text == null ? undefined : peerIdFromString(text)
}

export function seedDialer(init: SeedDialerInit = {}): (components: SeedDialerComponents) => SeedDialer {
  return components => new DefaultSeedDialer(components, init)
}
