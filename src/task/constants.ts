/** Defaults and limits of council tasks. */

/** Gossip channel of task messages: `task`, on the tenant's topic. */
export const TASK_CHANNEL = 'task'
/** A task without `timeoutMs` fails if it has no result after this long (5 minutes). */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000
export const MIN_TASK_TIMEOUT_MS = 100
export const MAX_TASK_TIMEOUT_MS = 24 * 3_600_000
/** Largest task input, as JSON. */
export const MAX_TASK_INPUT_BYTES = 64 * 1024
/** Largest task output, as JSON: a bigger one fails the task (keep big artefacts elsewhere). */
export const MAX_TASK_OUTPUT_BYTES = 128 * 1024
/** Largest task message on the gossip channel (an output plus its envelope). */
export const MAX_TASK_MESSAGE_BYTES = 256 * 1024
/**
 * Members fail a task on their own this long after its deadline when no holder reported (no
 * holder was ever seated, or every holder was lost).
 */
export const TASK_EXPIRY_GRACE_MS = 2_000
/** Finished tasks kept per council (the oldest are forgotten first). */
export const MAX_FINISHED_TASKS_PER_COUNCIL = 1_000
/** Longest error message kept for a failed task. */
export const MAX_TASK_ERROR_CHARS = 2_000
/** A task submitted here that no holder started is sent again this often (until one does). */
export const RESUBMIT_MS = 2_000
/** A task submitted here that a holder started is sent again this often until its result arrives. */
export const RESUBMIT_RUNNING_MS = 10_000
/** How often deadlines are checked. */
export const TASK_TICK_MS = 500
/** Start and result reports that arrive before their task are kept this long, for this many tasks at most. */
export const EARLY_REPORT_TTL_MS = 60_000
export const MAX_EARLY_REPORTS = 1_000
/** Early reports kept per task (a start and a result per holder; more is a replay or a flood). */
export const MAX_EARLY_REPORTS_PER_TASK = 8
/** Tasks in flight a council takes through one agent's API (CONCLAVE_MAX_TASKS_PER_COUNCIL). */
export const DEFAULT_MAX_TASKS_PER_COUNCIL = 256
/** Tasks in flight one agent submits at once (CONCLAVE_MAX_TASKS_PER_SUBMITTER). */
export const DEFAULT_MAX_TASKS_PER_SUBMITTER = 512
/** A finished task drops its input after this long (CONCLAVE_TASK_INPUT_RETENTION_MS). */
export const DEFAULT_TASK_INPUT_RETENTION_MS = 600_000
/** Retry-After of a task refused for a limit. */
export const TASK_RETRY_AFTER_S = 5
/** How often finished tasks past their input retention are looked for. */
export const INPUT_DROP_EVERY_MS = 5_000
/** The task board's file in the data dir. */
export const TASKS_FILE = 'tasks.db'
/** After a task times out here, its holder is asked for its result at these delays from the last ask. */
export const RESULT_ASKS = [5_000, 20_000, 60_000]
/** Asks sent per tick at most (a burst of timeouts must not become a burst of gossip). */
export const MAX_RESULT_ASKS_PER_TICK = 8
/** Task board saves are gathered and written together at most this often. */
export const TASK_STORE_FLUSH_MS = 250
/** Tasks written by one task board save at most (the rest go in the next). */
export const TASK_STORE_FLUSH_BATCH = 64
