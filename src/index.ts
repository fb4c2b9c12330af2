/**
 * Conclave: a peer-to-peer mesh runtime for agents.
 *
 * Start an agent with `createAgent({ behaviours: [defineBehaviour({ roles, onTask })] })`
 * (or `Agent.start(config)` with a config from `loadConfig`), or many in one process with
 * `Sim.start`.
 */
export {
  Agent,
  createAgent,
  defineBehaviour,
  llmBehaviour,
  simulatedBehaviour,
  BehaviourError,
  LlmError,
  type AgentOptions,
  type CreateAgentInit,
  type Behaviour,
  type BehaviourDefinition,
  type TaskContext,
  type TaskInfo,
  type TaskOutcome
} from './agent/index.js'
export {
  Memory,
  EpisodeStore,
  EpisodeError,
  MemoryStoreError,
  type Episode,
  type EpisodeInput,
  type MemoryStats
} from './memory/index.js'
export { Tasks, TaskRequestError, UnknownRoleError, type TaskView, type TaskState } from './task/index.js'
export { runFederation, type FederationReport } from './sim/index.js'
export { loadConfig, ensureDataDir, ConfigError, OPTIONS, type AgentConfig, type LoadedConfig } from './config/index.js'
export { Membership, MembershipView, type PeerView, type MemberState, type MemberChange } from './membership/index.js'
export {
  createConclaveNode,
  loadOrCreateIdentity,
  IdentityError,
  ListenError,
  type ConclaveLibp2p
} from './node/index.js'
export { DnsPeerResolver } from './discovery/index.js'
export { HttpListenError } from './api/index.js'
export { Sim, type SimInit } from './sim/index.js'
export { createLogger, type Logger } from './logger/index.js'
export { topicFor, parseTopic, DEFAULT_TENANT } from './tenancy/index.js'
export { VERSION } from './version.js'
