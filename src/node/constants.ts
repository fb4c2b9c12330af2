export { DEFAULT_MAX_CONNECTIONS } from '../discovery/constants.js'
/** File in the data dir holding the agent's Ed25519 key (protobuf-encoded, mode 0600). */
export const IDENTITY_FILE = 'identity.key'
/** Private Kademlia protocol: Conclave agents never join (or pollute) the public IPFS DHT. */
export const DHT_PROTOCOL = '/conclave/kad/1.0.0'
/** How often mDNS queries the LAN. */
export const MDNS_INTERVAL_MS = 10_000
/**
 * Connections the auto-dialer may open over its cap while a gossip mesh is starved (see
 * `meshStarved`): a peer with room in its mesh accepts the graft, one whose mesh is full does not.
 */
export const STARVED_EXTRA_CONNECTIONS = 4
/** Parallel dials the auto-dialer runs at most. */
export const DIAL_CONCURRENCY = 8
/** Per-dial timeout of the auto-dialer. */
export const DIAL_TIMEOUT_MS = 5_000
/** How often the auto-dialer tops the connection count up from known peers. */
export const DIAL_TOPUP_INTERVAL_MS = 2_000
/** A failed peer is not re-dialled by discovery for this long. */
export const DIAL_FAILURE_BACKOFF_MS = 10_000
/**
 * Inbound connections accepted per second from one IP. libp2p's default (5) assumes one peer per
 * IP; replicas behind one host or NAT (34 on a Compose bridge, a sim on loopback) all dial the
 * bootstrap peer at once and would be turned away for seconds.
 */
export const INBOUND_CONNECTION_THRESHOLD = 200
/** Inbound connections mid-handshake at most (libp2p default 10, too few for a replica burst). */
export const MAX_INCOMING_PENDING_CONNECTIONS = 128
/**
 * How often libp2p's connection monitor pings every connection (its default: 10 s). It pings all
 * of an agent's connections at once, a stream each: measured with 100 agents over 4 processes on
 * 2 cores, idle CPU was 118-124% of one core at 10 s, 74-77% with the monitor off and 83% at
 * 60 s. Dead members are found sooner, by membership's probes; this only clears their connections.
 */
export const CONNECTION_MONITOR_INTERVAL_MS = 60_000
/**
 * Yamux's own keep-alive pings every connection from both ends every 30 s, a frame out and one
 * back each time: about two frames a second per agent with 14 connections, for nothing the
 * connection monitor (dead connections) and membership's probes (dead peers) do not already do.
 */
export const YAMUX_KEEPALIVE = false
/** Lower bound of libp2p's connection-monitor ping timeout (see node.ts). */
export const CONNECTION_MONITOR_MIN_TIMEOUT_MS = 10_000
/**
 * Kademlia bucket size. 20 is sized for the public IPFS network; a private agent mesh of tens to
 * hundreds of peers needs far less redundancy, and each DHT query dials up to k peers. Measured
 * with 34 agents in one process: k=20 kept the mesh from converging, k=8 converged in ~17 s.
 */
export const DHT_K_BUCKET_SIZE = 8
/**
 * libp2p refuses inbound connections at its hard limit, so a bootstrap peer at the limit locks
 * out every later replica (seen with a limit of 64 and 100 agents). The hard limit is therefore a
 * high ceiling; the dial cap (CONCLAVE_MAX_CONNECTIONS) bounds what each agent dials itself, and
 * libp2p prunes the least valuable connections above the ceiling.
 */
export const HARD_LIMIT_MIN = 256
export const HARD_LIMIT_FACTOR = 4
/**
 * kad-dht's own self-query is switched off (the longest timer Node allows): the auto-dialer asks
 * the DHT for more peers only when the agent is short of them (see dialer.ts for the measurement).
 */
export const DHT_SELF_QUERY_OFF_MS = 2 ** 31 - 1
/** An agent short of peers, with nobody known left to dial, asks the DHT at most this often. */
export const DHT_LOOKUP_INTERVAL_MS = 30_000
/** Time allowed for one such DHT lookup. */
export const DHT_LOOKUP_TIMEOUT_MS = 30_000
/** How often connections are checked for a dead gossip stream (see `gossipWatch`). */
export const GOSSIP_WATCH_INTERVAL_MS = 5_000
/**
 * Gossipsub's default mesh (D 6, Dhi 12) settles at Dhi: peers accept grafts until then, so
 * every message reached each agent 12 times. Measured at 34 idle agents in one process: 3.1 MB/s
 * of gossip and a saturated event loop, nearly all duplicate presence copies.
 */
export const GOSSIP_MESH_DEGREE = { D: 6, Dlo: 4, Dhi: 8 }
/** Gossipsub's heartbeat and IHAVE fan-out (Dlazy), its defaults, which `gossip()` keeps. */
export const GOSSIP_HEARTBEAT_MS = 1_000
export const GOSSIP_LAZY_DEGREE = 6
/**
 * Stream protocol of membership's pings: one long-lived stream per peer, a 4-byte frame out and
 * its echo back (see `probe-pings.ts`).
 */
export const PROBE_PING_PROTOCOL = '/conclave/membership/ping/1.0.0'
