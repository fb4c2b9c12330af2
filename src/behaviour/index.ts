export {
  defineBehaviour,
  BehaviourSet,
  problemOf,
  type Behaviour,
  type BehaviourDefinition,
  type BehaviourMemory,
  type TaskContext,
  type TaskInfo,
  type TaskOutcome
} from './behaviour.js'
export { loadBehaviours, type BehaviourConfig } from './load.js'
export { simulatedBehaviour, SIMULATED_ROLES } from './simulated.js'
export { llmBehaviour, completionsUrl, type LlmInit } from './llm.js'
export { BehaviourError, LlmError } from './errors.js'
export { BUILTIN_BEHAVIOURS, DEFAULT_LLM_TIMEOUT_MS } from './constants.js'
