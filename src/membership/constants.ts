/** Defaults of `MembershipInit`, justified in docs/concepts/membership.md. */
export const DEFAULT_HEARTBEAT_MS = 1_000
/**
 * Heartbeats the whole tenant publishes per second: about one a minute, so that each agent
 * receives about one a minute whatever the mesh size. They are a backstop (a record that reached
 * nobody, a view that drifted); probes detect failures and announcements carry changes.
 */
export const DEFAULT_HEARTBEAT_BUDGET = 0.02
export const DEFAULT_SUSPECT_MISSED = 3
export const DEFAULT_DEAD_AFTER_MS = 5_000
export const DEFAULT_PING_TIMEOUT_MS = 1_000
export const DEFAULT_PROBE_INTERVAL_MS = 1_000
export const DEFAULT_INDIRECT_PROBES = 3
/** Stream protocol of indirect probes: a member asks another to ping a third for it (SWIM ping-req). */
export const PROBE_PROTOCOL = '/conclave/membership/probe/1.0.0'
/**
 * A peer that delivered gossip to this agent this recently is not suspected for an unanswered
 * probe, and helpers vouch for it: a process that relays runs, it is only slow. Measured at 100
 * agents over 4 processes on 2 cores: pings of saturated agents timed out even at 2 s, every
 * suspicion and refutation flooded the mesh and loaded it further, and the view never settled.
 * A hung process relays nothing, so it is still found, this much later.
 */
export const RELAY_EVIDENCE_MS = 5_000
/**
 * Probes of a peer that does not answer in time, one period apart, each with twice the timeout
 * of the one before, before it is suspected: a saturated process answers one of them, a hung one
 * none (1 + 2 + 4 timeouts: about 9 s with the defaults, 5 s with the tests' 500 ms).
 */
export const PROBE_ATTEMPTS = 3
/** Least pause before the next attempt (with probe rounds off, the period is 0). */
export const MIN_PROBE_RETRY_MS = 100
/**
 * A probe that timed out counts against the peer only if this process's event loop did not stall
 * for this share of the ping timeout meanwhile (Lifeguard's local health, for one event loop).
 */
export const STALL_SHARE_OF_TIMEOUT = 0.25
/** Ceiling of Lifeguard's local health multiplier (memberlist's default: 8). */
export const MAX_LOCAL_HEALTH = 8
/** Longest ping of a probe, however stretched, and longest a helper runs, whatever a request asks. */
export const MAX_PROBE_TIMEOUT_MS = 60_000
/** Largest indirect probe request or reply accepted. */
export const MAX_PROBE_BYTES = 1024
/** Gossip channel of presence messages: `presence`, on the tenant's topic. */
export const PRESENCE_CHANNEL = 'presence'
/** Stream protocol of the push-pull view exchange run on every new outbound connection. */
export const SYNC_PROTOCOL = '/conclave/membership/sync/1.0.0'
/** Largest presence message accepted; bigger ones are rejected. */
export const MAX_PRESENCE_BYTES = 16 * 1024
/**
 * Members a sync's peer holds down (suspect, dead or left) while this agent holds them alive, which
 * this agent then probes itself, at most this many per sync. An agent with no connection to a
 * crashed member that missed the suspicion's gossip would otherwise see it alive until its
 * heartbeats are overdue: three stretched intervals, minutes at 100 agents.
 */
export const MAX_SYNC_PROBES = 8
/**
 * News of a failure at an older incarnation than this agent holds (a suspicion, or a sync's down
 * list), of a member it has no connection to, makes it ping that member itself, at most this
 * often per member. Normally such news is only late (the member refuted it), and the ping finds
 * it alive. But a refutation can cross a partition as it forms: agents that got it hold the cut
 * member alive at the new incarnation, everything they then hear of its failure is older, and
 * without a connection nothing else tells them until its heartbeats are overdue (27 s at 9
 * agents, minutes at 100). Seen once in 50 randomized partition trials of a CI run: the council's
 * coordinator held a cut holder alive for more than 20 s, so no failover was proposed.
 *
 * Only a refused connection counts against the member, never a timeout: measured at 100 agents
 * over 4 processes on 2 cores, full probes (helpers, retries) of every member that stale news
 * named (1,803 in one run) timed out under load and raised suspicions of live agents, whose
 * refutations made more stale news. Single pings that count only when refused (with
 * `STALE_RECHECKERS`: 20-280 a run) raised none in the runs that counted them.
 */
export const STALE_SUSPICION_RECHECK_MS = 10_000
/**
 * Agents expected to ping a member over one stale suspicion, which reaches every agent: each takes
 * it up with a chance of this over the members it sees alive (all of them up to 9 agents).
 */
export const STALE_RECHECKERS = 8
/** Largest sync snapshot accepted. */
export const MAX_SYNC_BYTES = 4 * 1024 * 1024
/** Time allowed for one sync exchange. */
export const SYNC_TIMEOUT_MS = 5_000
/**
 * Each agent also syncs with one random connected peer this often (memberlist's push/pull),
 * stretched by one step per doubling of the tenant past 32 members, as memberlist does: what a
 * sync carries grows with the view, so the interval grows too.
 */
export const SYNC_INTERVAL_MS = 30_000
/** Dead and left members stay visible in the view this long before they are forgotten. */
export const RETENTION_MS = 10 * 60_000
/**
 * Upper bound of the stretched heartbeat interval, only to stay within the range of a timer: the
 * budget sets the pace (50 s per member at the default budget).
 */
export const MAX_HEARTBEAT_MS = 24 * 3_600_000
/** Relative jitter of the heartbeat timer, so agents started together do not publish together. */
export const HEARTBEAT_JITTER = 0.1
/** Largest number of roles and addresses one record may carry. */
export const MAX_RECORD_ROLES = 64
export const MAX_RECORD_ADDRS = 32
/** Verified records remembered (by their bytes) so a repeated heartbeat is not verified again. */
export const VERIFIED_CACHE_SIZE = 4096
/**
 * A sync that taught this agent a member it did not hold alive brings the next one forward to
 * this long after: a view with gaps (agents started together, a healed partition) fills in as
 * many rounds as it takes, not one stretched interval per round, while heartbeats no longer carry
 * every record to every agent. A sync that teaches nothing costs a view that is whole nothing extra.
 */
export const FRUITFUL_SYNC_DELAY_MS = 1_000
/** Extra syncs with random peers after start, before settling on `SYNC_INTERVAL_MS`. */
export const JOIN_SYNC_DELAYS_MS = [1_000, 1_000, 2_000, 4_000, 8_000]
/**
 * Heartbeats carry the signed record (about 1.6 KB with its credential) only when it changed
 * (the first `FULL_RECORD_AFTER_CHANGE` heartbeats after a change, so one lost message does not
 * leave peers without it) and every `FULL_RECORD_EVERY`-th time; otherwise a `beat` refers to it.
 * Every heartbeat reaches every agent about D times, so the record's bytes dominated the gossip.
 */
export const FULL_RECORD_EVERY = 10
export const FULL_RECORD_AFTER_CHANGE = 3
/** Base64 characters of the record signature a beat refers to it by (96 bits). */
export const RECORD_REF_CHARS = 16
/** A beat whose record this agent lacks triggers a sync, at most this often. */
export const MISSING_RECORD_SYNC_MS = 5_000
