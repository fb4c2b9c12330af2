/** A council request (HTTP body, CLI flags) is invalid; `field` names what to fix. */
export class CouncilRequestError extends Error {
  static readonly code = 'ERR_COUNCIL_REQUEST'
  override readonly name = 'CouncilRequestError'
  readonly code = CouncilRequestError.code
  readonly field: string

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.field = field
  }
}

/** No council with that id is known to this agent. */
export class UnknownCouncilError extends Error {
  static readonly code = 'ERR_UNKNOWN_COUNCIL'
  override readonly name = 'UnknownCouncilError'
  readonly code = UnknownCouncilError.code

  constructor(id: string) {
    super(`no council ${id}`)
  }
}
