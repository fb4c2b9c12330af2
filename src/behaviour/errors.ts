/** A behaviour definition or module (`CONCLAVE_BEHAVIOUR`) is missing or broken. */
export class BehaviourError extends Error {
  static readonly code = 'ERR_BEHAVIOUR'
  override readonly name = 'BehaviourError'
  readonly code = BehaviourError.code
}

/** The LLM endpoint failed: an HTTP error, a timeout, or a reply that is not a chat completion. */
export class LlmError extends Error {
  static readonly code = 'ERR_LLM'
  override readonly name = 'LlmError'
  readonly code = LlmError.code
}
