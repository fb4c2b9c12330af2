/**
 * Whether an error is a timeout or an abort rather than a refusal: the peer may only be slow.
 * Covers AbortSignal.timeout (TimeoutError), aborted operations (AbortError, ABORT_ERR) and the
 * seed dialer's own deadline ("did not settle").
 */
export function isTimeout (err: unknown): boolean {
  const e = err as { name?: string, code?: string, message?: string }
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ABORT_ERR' || /did not settle/.test(e.message ?? '')
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

  constructor (limit: string, message: string, retryAfterS: number) {
    super(message)
    this.limit = limit
    this.retryAfterS = retryAfterS
  }
}
