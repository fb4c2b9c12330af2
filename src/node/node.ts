import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import type { ConnectionGater, PeerDiscovery, PrivateKey, PubSub } from '@libp2p/interface'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import { DEFAULT_DNS_INTERVAL_MS, seedDialer, type DnsTarget, type SeedDialer } from '../discovery/index.js'
import { silentLogger, type Logger } from '../logger/index.js'
import { libp2pLogger } from '../logger/libp2p.js'
import { VERSION } from '../version.js'
import {
  CONNECTION_MONITOR_INTERVAL_MS,
  YAMUX_KEEPALIVE,
  CONNECTION_MONITOR_MIN_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DHT_SELF_QUERY_OFF_MS,
  DHT_K_BUCKET_SIZE,
  DHT_PROTOCOL,
  HARD_LIMIT_FACTOR,
  HARD_LIMIT_MIN,
  INBOUND_CONNECTION_THRESHOLD,
  MAX_INCOMING_PENDING_CONNECTIONS,
  MDNS_INTERVAL_MS
} from './constants.js'
import { autoDialer, type AutoDialer } from './dialer.js'
import { ListenError } from './errors.js'
import { gossip } from './gossip.js'
import { gossipWatch, type GossipWatch } from './gossip-watch.js'
import { probePings, type ProbePings } from './probe-pings.js'
import type { GossipTraffic } from './gossip-traffic.js'

export interface ConclaveNodeInit {
  /** The agent's identity (see `loadOrCreateIdentity`). */
  privateKey: PrivateKey
  /**
   * TCP listen multiaddrs.
   *
   * @default ['/ip4/0.0.0.0/tcp/4001']
   */
  listen?: string[]
  /**
   * Addresses announced instead of the listen addresses (behind NAT, in containers).
   *
   * @default []
   */
  announce?: string[]
  /**
   * Bootstrap multiaddrs, with or without /p2p/<id>.
   *
   * @default []
   */
  bootstrap?: string[]
  /**
   * Timeout of the first dial to a bootstrap or DNS seed; it doubles after each dial that timed
   * out, up to 30 s (SEED_DIAL_TIMEOUT_MAX_MS).
   *
   * @default 5000
   */
  seedDialTimeoutMs?: number
  /**
   * DNS names whose every A/AAAA record is dialled.
   *
   * @default []
   */
  dnsPeers?: DnsTarget[]
  /**
   * DNS servers used for `dnsPeers`.
   *
   * @default [] (system resolver)
   */
  dnsServers?: string[]
  /**
   * Re-resolution interval of `dnsPeers`.
   *
   * @default 30000
   */
  dnsIntervalMs?: number
  /**
   * Discover peers on the LAN with mDNS.
   *
   * @default true
   */
  mdns?: boolean
  /**
   * mDNS service name; only nodes with the same tag find each other.
   *
   * @default '_conclave._udp.local'
   */
  mdnsServiceTag?: string
  /**
   * The auto-dialer stops at this many connected peers.
   *
   * @default 32
   */
  maxConnections?: number
  /**
   * Close the connection to a bootstrap seed once `maxConnections` other peers are connected
   * (see `SeedDialerInit.releaseSeeds`).
   *
   * @default true
   */
  releaseSeeds?: boolean
  /**
   * How long a connection to a bootstrap seed stands (to twice this) before it is released.
   *
   * @default 60000
   */
  seedReleaseAfterMs?: number
  /**
   * Registry for libp2p's metrics (one per agent, so many agents can share a process).
   *
   * @default no metrics
   */
  metricsRegistry?: Registry
  /**
   * Counts gossipsub's RPCs, bytes and messages (see `GossipTraffic`).
   *
   * @default not counted
   */
  gossipTraffic?: GossipTraffic
  /**
   * Also collect process metrics (CPU, memory, event loop) into the registry.
   *
   * @default false
   */
  collectDefaultMetrics?: boolean
  /**
   * Decides which peers may connect (tests cut the network with it to make partitions).
   *
   * @default libp2p's (every public and private address allowed)
   */
  connectionGater?: ConnectionGater
  /**
   * Structured logger; libp2p's own logs go through it at trace/debug level.
   *
   * @default silent
   */
  logger?: Logger
}

export type NodeServices = {
  identify: Identify
  ping: Ping
  probes: ProbePings
  dht: KadDHT
  pubsub: PubSub
  dialer: AutoDialer
  seeds: SeedDialer
  gossipWatch: GossipWatch
}

export type ConclaveLibp2p = Libp2p<NodeServices>

/**
 * Create and start the agent's libp2p node. Throws `ListenError` when a listen address cannot
 * be bound (the port is in use, the address is not local).
 */
export async function createConclaveNode(init: ConclaveNodeInit): Promise<ConclaveLibp2p> {
  const logger = init.logger ?? silentLogger()
  const maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  const peerDiscovery: Array<(components: any) => PeerDiscovery> = []
  if (init.mdns ?? true) {
    peerDiscovery.push(mdns({ serviceTag: init.mdnsServiceTag ?? '_conclave._udp.local', interval: MDNS_INTERVAL_MS }))
  }
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    logger: libp2pLogger(logger),
    addresses: {
      listen: init.listen ?? ['/ip4/0.0.0.0/tcp/4001'],
      announce: init.announce ?? []
    },
    ...(init.connectionGater !== undefined ? { connectionGater: init.connectionGater } : {}),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: YAMUX_KEEPALIVE })],
    peerDiscovery,
    // libp2p pings every connection at each interval and aborts it when a ping times out. Its
    // timeout adapts to loopback RTTs (milliseconds), so one event-loop stall would abort every
    // connection at once; a floor keeps "stale" meaning stale. Failure detection of peers is
    // membership's job (probe + suspicion), not this monitor's: it only weeds out dead
    // connections, so it runs at a slow pace (see `CONNECTION_MONITOR_INTERVAL_MS`).
    connectionMonitor: {
      pingInterval: CONNECTION_MONITOR_INTERVAL_MS,
      pingTimeout: { minTimeout: CONNECTION_MONITOR_MIN_TIMEOUT_MS }
    },
    connectionManager: {
      // A high ceiling: a bootstrap peer must accept a burst of replicas (libp2p refuses inbound
      // connections past this limit); libp2p prunes the least valuable connections above it.
      maxConnections: Math.max(HARD_LIMIT_MIN, maxConnections * HARD_LIMIT_FACTOR),
      inboundConnectionThreshold: INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS
    },
    ...(init.metricsRegistry !== undefined
      ? {
          metrics: prometheusMetrics({
            registry: init.metricsRegistry,
            collectDefaultMetrics: init.collectDefaultMetrics ?? false
          })
        }
      : {}),
    services: {
      identify: identify({ agentVersion: `conclave/${VERSION}` }),
      ping: ping(),
      probes: probePings({ logger }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        kBucketSize: DHT_K_BUCKET_SIZE,
        initialQuerySelfInterval: DHT_SELF_QUERY_OFF_MS,
        querySelfInterval: DHT_SELF_QUERY_OFF_MS,
        // kad-dht holds every query until its first self-query has run, which is now never:
        // queries run at once instead (an empty routing table answers with no peers).
        allowQueryWithZeroPeers: true
      }),
      // Before the auto-dialer, which goes over its cap while a mesh is starved.
      pubsub: gossip(init.gossipTraffic !== undefined ? { traffic: init.gossipTraffic } : {}),
      // Before the auto-dialer, which skips the seeds this one released.
      seeds: seedDialer({
        bootstrap: init.bootstrap ?? [],
        dnsPeers: init.dnsPeers ?? [],
        dnsServers: init.dnsServers ?? [],
        dnsIntervalMs: init.dnsIntervalMs ?? DEFAULT_DNS_INTERVAL_MS,
        ...(init.seedDialTimeoutMs !== undefined ? { dialTimeoutMs: init.seedDialTimeoutMs } : {}),
        maxConnections,
        releaseSeeds: init.releaseSeeds ?? true,
        ...(init.seedReleaseAfterMs !== undefined ? { releaseAfterMs: init.seedReleaseAfterMs } : {}),
        logger
      }),
      dialer: autoDialer({ maxConnections, logger }),
      gossipWatch: gossipWatch({ logger })
    }
  })
  try {
    await node.start()
  } catch (err) {
    await Promise.resolve(node.stop()).catch(() => {})
    // libp2p wraps the socket error in a long multi-line message; keep what the user can act on.
    const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`
    const reason = text.includes('EADDRINUSE')
      ? 'address already in use'
      : text.includes('EADDRNOTAVAIL')
        ? 'address not available on this host'
        : (err as Error).message.split('\n')[0]
    throw new ListenError(`cannot listen on ${(init.listen ?? []).join(', ')}: ${reason}`, { cause: err })
  }
  return node as ConclaveLibp2p
}
