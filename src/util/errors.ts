/**
 * Whether an error is a timeout or an abort rather than a refusal: the peer may only be slow.
 * Covers AbortSignal.timeout (TimeoutError), aborted operations (AbortError, ABORT_ERR) and the
 * seed dialer's own deadline ("did not settle").
 */
export function isTimeout (err: unknown): boolean {
  const e = err as { name?: string, code?: string, message?: string }
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ABORT_ERR' || /did not settle/.test(e.message ?? '')
}
