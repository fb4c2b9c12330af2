/** Defaults and limits of the HTTP API. */

/** Clients of GET /v1/events at once (CONCLAVE_MAX_EVENT_CLIENTS). */
export const DEFAULT_MAX_EVENT_CLIENTS = 32
/** GET /v1/memory answers streaming at once (CONCLAVE_MAX_MEMORY_QUERIES). */
export const DEFAULT_MAX_MEMORY_QUERIES = 4
/** Retry-After of an event stream refused for a limit. */
export const EVENTS_RETRY_AFTER_S = 10
/** Retry-After of a memory answer refused for a limit. */
export const MEMORY_RETRY_AFTER_S = 1
/** Bytes of JSON (or of events) gathered before a write to a client. */
export const CHUNK_BYTES = 64 * 1024
/** A client that takes no chunk for this long is cut off. */
export const SLOW_CLIENT_MS = 30_000
