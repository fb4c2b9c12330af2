/**
 * Conclave: a peer-to-peer mesh runtime for agents.
 *
 * Start an agent with `Agent.start(config)` (config from `loadConfig`), or many in one process
 * with `Sim.start`.
 */
export { Agent, type AgentOptions } from './agent/index.js'
export { loadConfig, ensureDataDir, ConfigError, OPTIONS, type AgentConfig, type LoadedConfig } from './config/index.js'
export { Membership, MembershipView, type PeerView, type MemberState, type MemberChange } from './membership/index.js'
export { createConclaveNode, loadOrCreateIdentity, IdentityError, ListenError, type ConclaveLibp2p } from './node/index.js'
export { DnsPeerResolver } from './discovery/index.js'
export { HttpListenError } from './api/index.js'
export { Sim, type SimInit } from './sim/index.js'
export { createLogger, type Logger } from './logger/index.js'
export { topicFor, parseTopic, DEFAULT_TENANT } from './tenancy/index.js'
export { VERSION } from './version.js'
