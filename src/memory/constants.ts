/** Defaults of `MemoryInit` and limits of episodes. */

/** Gossip channel of new episodes: `memory`, on the tenant's topic. */
export const MEMORY_CHANNEL = 'memory'
/** Stream protocol of anti-entropy pulls (what a peer lacks, fetched from one that has it). */
export const MEMORY_PROTOCOL = '/conclave/memory/1.0.0'
/** File of the episode database inside the data dir. */
export const MEMORY_FILE = 'memory.db'
/** Episodes kept per tenant (oldest dropped first). */
export const DEFAULT_MAX_EPISODES = 1_000_000
/** Episodes older than this are dropped (30 days). */
export const DEFAULT_MAX_AGE_MS = 30 * 86_400_000
/**
 * A random tenant member is asked for what this agent lacks this often, besides the pulls on
 * start, on a peer joining or coming back, and on a gap in an origin's sequence.
 */
export const ANTI_ENTROPY_INTERVAL_MS = 30_000
/** Pulls triggered by joins and gaps wait this long, so that a burst makes one pull per peer. */
export const PULL_DEBOUNCE_MS = 100
/** A pull that has not finished by then is abandoned (it resumes from what arrived). */
export const PULL_TIMEOUT_MS = 30_000
/** Episodes per frame of a pull reply. */
export const PULL_BATCH = 500
/** Largest frame on the pull stream. */
export const MAX_PULL_FRAME_BYTES = 8 * 1024 * 1024
/** Retention is applied this often. */
export const RETENTION_INTERVAL_MS = 60_000
/** Longest summary of an episode (characters). */
export const MAX_SUMMARY_CHARS = 4_096
/** Largest `data` of an episode, as JSON. */
export const MAX_DATA_BYTES = 32 * 1024
/** Largest episode message on the gossip channel. */
export const MAX_EPISODE_MESSAGE_BYTES = 64 * 1024
/** Episodes one query returns when it gives no limit, and at most. */
export const DEFAULT_QUERY_LIMIT = 100
export const MAX_QUERY_LIMIT = 10_000
/** Conflicting episodes logged (each once) before further ones are only counted. */
export const MAX_LOGGED_CONFLICTS = 1_000
