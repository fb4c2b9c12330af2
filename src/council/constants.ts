/** Defaults of `CouncilsInit` and of council requests. */

/** Gossip channel of council messages: `council`, on the tenant's topic. */
export const COUNCIL_CHANNEL = 'council'
/**
 * How long the opener waits for claims: a council whose core roles have no claimant by then
 * fails. It does not wait that long when it need not: see `CLAIM_GATHER_MS`.
 */
export const DEFAULT_CLAIM_WINDOW_MS = 2_000
/**
 * Once every wanted role has a claimant, the opener proposes this long after the open (so that
 * competing claims sent at once are weighed together), without waiting for the claim window.
 */
export const CLAIM_GATHER_MS = 150
/** Lifetime of a council when the request gives none. */
export const DEFAULT_COUNCIL_TTL_MS = 24 * 3_600_000
/** A proposal not committed within this long is proposed again under a higher epoch. */
export const PROPOSAL_TIMEOUT_MS = 1_500
/** Each proposal that times out doubles the next one's timeout, this many times at most (1.5 s → 12 s). */
export const MAX_PROPOSAL_BACKOFF_DOUBLINGS = 3
/** Proposals above the committed epoch an agent follows per council (to apply one on its acks). */
export const MAX_OBSERVED_PROPOSALS = 4
/** Acks an agent keeps per proposal it has not seen yet. */
export const MAX_EARLY_ACKS = 1_024
/** Councils not heard of yet whose early acks an agent keeps (acks can overtake the proposal that describes a council). */
export const MAX_STRAY_ACK_COUNCILS = 16
/** Councils one agent keeps (open, active or recently ended). */
export const MAX_COUNCILS = 1_000
/** Ended councils are forgotten after this long. */
export const ENDED_RETENTION_MS = 10 * 60_000
/** Ranks an agent keeps computed (a few per member of each council it follows); all dropped when full. */
export const MAX_CACHED_RANKS = 8_192
/** Largest council message accepted. */
export const MAX_COUNCIL_MESSAGE_BYTES = 256 * 1024
/** Roles per council request. */
export const MAX_ROLES = 32
/** Roles one agent holds in one council, unless the request allows more. */
export const DEFAULT_MAX_ROLES_PER_AGENT = 1
/** Until a council commits, claimants announce their claim again this often (late joiners, lost gossip). */
export const CLAIM_REPEAT_MS = 1_000
/** Singleton elections (`CONCLAVE_SINGLETONS`) collect claims this long before the first proposal. */
export const SINGLETON_CLAIM_WINDOW_MS = 500
/**
 * A new contender waits this long before it may coordinate a singleton's first election, so its
 * membership view (and any leader already elected, announced to new subscribers) reaches it first.
 */
export const SINGLETON_SETTLE_MS = 3_000
/** A coordinator announces a council again to newcomers at most this often. */
export const ANNOUNCE_MIN_INTERVAL_MS = 1_000
/**
 * The coordinator re-publishes a council's latest commit, for members that missed it, this long
 * after the commit; later announcements are half the commit's age apart, at most
 * `MAX_REANNOUNCE_MS` (see `announceInterval`). Each one is a flood through the whole tenant:
 * measured at 34 agents, 10 councils each announced every 5 s took the idle mesh from 28% to 64%
 * of one core. Newcomers and agents back from a partition get an announcement at once anyway.
 */
export const REANNOUNCE_MS = 5_000
/** Longest interval between two announcements of a council's commit (reached about 2 minutes after it). */
export const MAX_REANNOUNCE_MS = 60_000
/** A new epoch only to change the member set (no seat moves) waits this long after the last commit. */
export const MEMBERS_EPOCH_MIN_INTERVAL_MS = 3_000
/**
 * A member that has not heard the committed epoch announced for this many announcement intervals
 * (see `announceInterval`) announces it itself: the coordinator has lost the council.
 */
export const ORPHANED_AFTER_INTERVALS = 3
/** How long that is while a commit is young (under `2 × REANNOUNCE_MS` old): 15 s. */
export const ORPHANED_AFTER_MS = ORPHANED_AFTER_INTERVALS * REANNOUNCE_MS
/** Councils restored at start-up propose nothing for this long, while the membership view fills. */
export const RESTORE_SETTLE_MS = 3_000
/**
 * Changes other than a promise or a coordinator's own commit are saved within this long, in one
 * write (see `Councils.persist`). A crash loses at most that much of them, all of which the
 * agent's peers announce again.
 */
export const SAVE_DELAY_MS = 1_000
/** File in the data dir where an agent keeps its councils across restarts. */
export const COUNCILS_FILE = 'councils.json'
/**
 * Stream protocol members send their acknowledgements to the coordinator on, over an open
 * connection: one hop, instead of a flood through the whole tenant for each member's ack.
 */
export const ACK_PROTOCOL = '/conclave/council/ack/1.0.0'
/**
 * Stream protocol an ack travels on towards a coordinator its signer has no connection to: back
 * along the path the proposal came by (each agent passes it to the peer it got the proposal
 * from, or straight to the coordinator once connected to it), over connections already open.
 * Traced at 100 agents on 2 cores, the signer's own dial took about 1.3 s, lost to the hedge,
 * and the gossiped ack then took 230-400 ms more to reach the coordinator.
 */
export const ACK_RELAY_PROTOCOL = '/conclave/council/ack-relay/1.0.0'
/**
 * Stream protocol a coordinator hands a commit to its members on, when it has a connection to
 * every one of them (after a formation they all dialled it for their acks), before it gossips
 * the commit to the tenant. The members then apply it one hop from the coordinator, while the
 * mesh is not yet busy with the commit's flood through every agent. Traced at 100 agents over
 * 4 processes on 2 cores: a handover's commit reached its last member 151-393 ms after it left
 * by gossip (the first hop of gossip goes straight to connected members too, but queued behind
 * the flood), and 101-115 ms after it left this way.
 */
export const COMMIT_PROTOCOL = '/conclave/council/commit/1.0.0'
/**
 * How long a coordinator waits for its members to take a commit directly before it gossips the
 * commit anyway (it gossips as soon as every member has applied it, or could not take it).
 */
export const DIRECT_COMMIT_WAIT_MS = 300
/** Relays an ack may pass through; a gossip path at 100 agents is two or three hops. */
export const MAX_ACK_RELAY_HOPS = 4
/** Time allowed for one direct ack (or commit) over an open stream. */
export const DIRECT_ACK_TIMEOUT_MS = 1_000
/**
 * Time allowed for the dial and protocol negotiation of a direct ack. Generous: the ack is gossiped
 * after `DIRECT_ACK_HEDGE_MS` anyway, and the connection serves the council's later rounds. At
 * 100 agents over 4 processes on 2 cores, 19 of 28 dials cut at 1 s had not completed, so the
 * next round had no connection either.
 */
export const DIRECT_ACK_DIAL_TIMEOUT_MS = 10_000
/**
 * A direct ack not through by then is gossiped as well. Over an open connection one takes
 * milliseconds; a dial to a busy coordinator can take a second (34 agents on 2 cores), and a
 * proposal without a majority by its 1.5 s timeout is proposed again.
 */
export const DIRECT_ACK_HEDGE_MS = 500
/** Largest direct ack accepted (an ack is about 250 bytes). */
export const MAX_DIRECT_ACK_BYTES = 2_048
/**
 * How long a graceful stop waits for its handover to commit before the agent leaves the mesh.
 * Leaving (the `left` flood, every connection closing, the peers dialling replacements) competed
 * with the commit's flood: in one process the last member applied 333 ms after the commit left.
 */
export const HANDOVER_COMMIT_WAIT_MS = 1_000
/** Councils open at once in one tenant (CONCLAVE_MAX_COUNCILS_PER_TENANT). */
export const DEFAULT_MAX_COUNCILS_PER_TENANT = 100
/** Councils open at once one agent follows (CONCLAVE_MAX_COUNCILS). */
export const DEFAULT_MAX_COUNCILS = 200
/** Retry-After of a council refused for a limit. */
export const COUNCIL_RETRY_AFTER_S = 30
