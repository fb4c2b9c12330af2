/** The operator token file cannot be read or made, or a configured token is unusable. */
export class ApiTokenError extends Error {
  static readonly code = 'ERR_API_TOKEN'
  override readonly name = 'ApiTokenError'
  readonly code = ApiTokenError.code
  readonly path: string

  constructor(path: string, reason: string) {
    super(`API token ${path}: ${reason}`)
    this.path = path
  }
}
