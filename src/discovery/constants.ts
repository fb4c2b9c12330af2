/** First retry of a seed address that could not be dialled. */
export const SEED_RETRY_MIN_MS = 500
/** Retries back off exponentially up to this. */
export const SEED_RETRY_MAX_MS = 30_000
/** How often the seed dialer checks its addresses. */
export const SEED_TICK_MS = 500
/** Timeout of one dial to a seed address. */
export const SEED_DIAL_TIMEOUT_MS = 5_000
/** Default port of a CONCLAVE_DNS_PEERS entry written without one. */
export const DEFAULT_DNS_PEER_PORT = 4001
/** Default re-resolution interval of DNS peer names (CONCLAVE_DNS_INTERVAL_MS). */
export const DEFAULT_DNS_INTERVAL_MS = 30_000
