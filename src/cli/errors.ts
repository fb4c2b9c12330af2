/** A flag or variable given to a command is unusable; the message names it. Exit code 2. */
export class UsageError extends Error {
  static readonly code = 'ERR_USAGE'
  override readonly name = 'UsageError'
  readonly code = UsageError.code
}

/** A running agent refused what a command handed it. */
export class AgentRefusedError extends Error {
  static readonly code = 'ERR_AGENT_REFUSED'
  override readonly name = 'AgentRefusedError'
  readonly code = AgentRefusedError.code
}
