/** A tenant authority file cannot be read, parsed or written. */
export class TenantFileError extends Error {
  static readonly code = 'ERR_TENANT_FILE'
  override readonly name = 'TenantFileError'
  readonly code = TenantFileError.code
  readonly path: string

  constructor(path: string, reason: string) {
    super(`tenant file ${path}: ${reason}`)
    this.path = path
  }
}

/** A credential file is unusable: unreadable, malformed, badly signed, expired or bound to another peer. */
export class CredentialError extends Error {
  static readonly code = 'ERR_CREDENTIAL'
  override readonly name = 'CredentialError'
  readonly code = CredentialError.code
  readonly path: string

  constructor(path: string, reason: string) {
    super(`credential ${path}: ${reason}`)
    this.path = path
  }
}

/** Publishing on a tenant channel this agent does not belong to, or cannot encrypt for. */
export class NotATenantMemberError extends Error {
  static readonly code = 'ERR_NOT_A_TENANT_MEMBER'
  override readonly name = 'NotATenantMemberError'
  readonly code = NotATenantMemberError.code

  constructor(tenant: string, reason = 'this agent holds no credential for it') {
    super(`tenant ${tenant}: ${reason}`)
  }
}
