/**
 * Whether an error is a timeout or an abort rather than a refusal: the peer may only be slow.
 * Covers AbortSignal.timeout (TimeoutError), aborted operations (AbortError, ABORT_ERR) and this
 * code's own deadlines (`DeadlineError`).
 */
export function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string }
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ABORT_ERR' || e.code === DeadlineError.code
}

/** An operation did not finish within its deadline (a dial, a stream exchange, a slow client). */
export class DeadlineError extends Error {
  static readonly code = 'ERR_DEADLINE'
  override readonly name = 'DeadlineError'
  readonly code = DeadlineError.code
}

/**
 * A peer broke a wire protocol: a malformed frame, a reply where none belongs, a message of the
 * wrong kind, news it may not send. The exchange is dropped; the agent goes on.
 */
export class ProtocolError extends Error {
  static readonly code = 'ERR_PROTOCOL'
  override readonly name = 'ProtocolError'
  readonly code = ProtocolError.code
}

/** A path in the data dir is not what it must be: not a directory, or locked by another process. */
export class PathError extends Error {
  override readonly name = 'PathError'
  constructor(
    message: string,
    readonly code: 'ENOTDIR' | 'ELOCKED'
  ) {
    super(message)
  }
}

/**
 * A request refused because a limit is reached (HTTP 429 with Retry-After). Nothing already
 * accepted is dropped to make room: the caller tries again later.
 */
export class OverloadError extends Error {
  static readonly code = 'ERR_OVERLOAD'
  override readonly name = 'OverloadError'
  readonly code = OverloadError.code
  /** The setting that sets the limit, e.g. CONCLAVE_MAX_TASKS_PER_COUNCIL. */
  readonly limit: string
  readonly retryAfterS: number

  constructor(limit: string, message: string, retryAfterS: number) {
    super(message)
    this.limit = limit
    this.retryAfterS = retryAfterS
  }
}
