/** A `conclave sim` run was asked for something it does not have (an agent, a tenant), or a scenario failed. */
export class SimError extends Error {
  static readonly code = 'ERR_SIM'
  override readonly name = 'SimError'
  readonly code = SimError.code
}
