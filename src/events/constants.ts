/** Defaults of the event log and its stream. */

/** Events kept for clients that reconnect (`Last-Event-ID`) or connect late. */
export const DEFAULT_EVENT_CAPACITY = 10_000
/** A comment line on idle streams this often, so proxies and browsers keep them open. */
export const SSE_KEEPALIVE_MS = 15_000
/** Events one slow client may have queued before its stream is closed (it resumes by id). */
export const MAX_QUEUED_PER_CLIENT = 5_000
