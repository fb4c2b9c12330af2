/** Defaults and limits of API access. */

/** The operator token's file in the data dir. */
export const OPERATOR_TOKEN_FILE = 'api.token'
/** Shortest operator token accepted (a configured one, or a file edited by hand). */
export const MIN_OPERATOR_TOKEN_CHARS = 32
/** A dashboard login link works once, within this long of being printed. */
export const LOGIN_CODE_TTL_MS = 24 * 3_600_000
/** An event-stream ticket works once, within this long of being issued. */
export const TICKET_TTL_MS = 30_000
/** Unused codes and tickets kept at once; the oldest is forgotten past this. */
export const MAX_PENDING_CODES = 1_024
