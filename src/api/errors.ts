/** The HTTP API could not bind its address (port in use, address not local). */
export class HttpListenError extends Error {
  static readonly code = 'ERR_HTTP_LISTEN'
  override readonly name = 'HttpListenError'
  readonly code = HttpListenError.code
}
