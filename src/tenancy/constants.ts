/** Defaults of `TenancyInit` and limits of the tenancy wire formats. */

/** Messages whose envelope timestamp is further than this from the local clock are rejected. */
export const DEFAULT_CLOCK_SKEW_MS = 30_000
/**
 * Out-of-order tolerance of the per-sender replay guard: a sequence number up to this far behind
 * the highest accepted is still accepted once (gossip takes several paths, so honest messages
 * arrive reordered); anything older, or seen before, is a replay.
 */
export const REPLAY_WINDOW = 1_024
/** Senders tracked by one replay guard before the least recently used are forgotten. */
export const REPLAY_SENDERS_MAX = 16_384
/** Largest envelope accepted on a channel that does not set its own limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** Largest header (tenant, channel, sender, sequence, credential) an envelope may carry. */
export const MAX_HEADER_BYTES = 4 * 1024
/**
 * A sender puts its whole credential in an envelope when it last did so on that topic longer
 * ago than this (or a new peer subscribed since); otherwise a 16-byte reference to it.
 */
export const CREDENTIAL_REPRESENT_MS = 60_000
/** After a key rotation, messages under the previous epoch's key are still accepted this long. */
export const PREVIOUS_EPOCH_GRACE_MS = 60_000
/** Verified credentials remembered by reference, so a credential is checked once, not per message. */
export const CREDENTIAL_CACHE_SIZE = 8_192
/** Gossip channel of tenant state documents (key rotations, revocations). */
export const CONTROL_CHANNEL = 'control'
/** Largest tenant state document (it carries one sealed key per member). */
export const MAX_STATE_BYTES = 1024 * 1024
/** Validity of a credential when `tenant issue` is given no `--ttl`. */
export const DEFAULT_CREDENTIAL_TTL_MS = 30 * 24 * 3_600_000
/** Role wildcard: a credential issued without `--roles` grants every role. */
export const ANY_ROLE = '*'
/** Validity of an API token when `tenant token` is given no `--ttl`. */
export const DEFAULT_TOKEN_TTL_MS = 30 * 24 * 3_600_000
