export { Agent, type AgentOptions } from './agent.js'
export { createAgent, type CreateAgentInit } from './create.js'
export {
  defineBehaviour,
  BehaviourSet,
  type Behaviour,
  type BehaviourDefinition,
  type BehaviourMemory,
  type TaskContext,
  type TaskInfo,
  type TaskOutcome,
  loadBehaviours,
  type BehaviourConfig,
  simulatedBehaviour,
  SIMULATED_ROLES,
  llmBehaviour,
  completionsUrl,
  type LlmInit,
  BehaviourError,
  LlmError
} from '../behaviour/index.js'
export { DataDirInUseError } from './errors.js'
