/** The identity file exists but cannot be read as a private key. */
export class IdentityError extends Error {
  static readonly code = 'ERR_IDENTITY'
  override readonly name = 'IdentityError'
  readonly code = IdentityError.code
  readonly path: string

  constructor(path: string, reason: string) {
    super(`identity file ${path} is unusable: ${reason}`)
    this.path = path
  }
}

/** An address the node was asked to listen on is already in use or not available. */
export class ListenError extends Error {
  static readonly code = 'ERR_LISTEN'
  override readonly name = 'ListenError'
  readonly code = ListenError.code
}
