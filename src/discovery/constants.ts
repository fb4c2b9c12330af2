/** Cap on connections the dialer opens to discovered peers (`CONCLAVE_MAX_CONNECTIONS`). */
export const DEFAULT_MAX_CONNECTIONS = 32
/** First retry of a seed address that could not be dialled. */
export const SEED_RETRY_MIN_MS = 500
/** Retries back off exponentially up to this. */
export const SEED_RETRY_MAX_MS = 30_000
/** How often the seed dialer checks its addresses. */
export const SEED_TICK_MS = 500
/** Timeout of the first dial to a seed address. */
export const SEED_DIAL_TIMEOUT_MS = 5_000
/**
 * Each dial that timed out doubles the next one's timeout, up to this. A refused dial fails at
 * once whatever the timeout; only a slow path or peer waits it out. Seen at 100 agents in one
 * process: handshakes with the busy bootstrap peer took 5-10 s, every 5 s dial of a third of the
 * agents timed out, and those agents stayed alone for minutes.
 */
export const SEED_DIAL_TIMEOUT_MAX_MS = 30_000
/** Default port of a CONCLAVE_DNS_PEERS entry written without one. */
export const DEFAULT_DNS_PEER_PORT = 4001
/** Default re-resolution interval of DNS peer names (CONCLAVE_DNS_INTERVAL_MS). */
export const DEFAULT_DNS_INTERVAL_MS = 30_000
/**
 * Protocol an agent opens to a bootstrap seed just before closing its connection to it on
 * purpose, so that neither end takes the loss for a failure (and probes, which would redial).
 */
export const SEED_RELEASE_PROTOCOL = '/conclave/seed/release/1.0.0'
/**
 * A connection to a bootstrap seed is released only after it stood this long (to twice this). It
 * is how a new agent learns the mesh, and how the mesh learns it: while agents join, the seed is
 * the one peer every agent syncs with. Measured with 100 agents over 4 processes: released after
 * 10-20 s, the mesh took 41-117 s to converge (every agent seeing every other), against 41-53 s
 * without releases; membership's join syncs end after 16 s, and its anti-entropy runs every 30 s.
 */
export const SEED_RELEASE_AFTER_MS = 60_000
/** Time allowed for the release exchange; a seed that does not answer in time is kept. */
export const SEED_RELEASE_TIMEOUT_MS = 5_000
/** How long a connection released on purpose is remembered as such, at both ends. */
export const SEED_RELEASE_MARK_MS = 10_000
/** An agent redials a seed it released once it has fewer connected peers than this. */
export const SEED_REDIAL_BELOW = 2
