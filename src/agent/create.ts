import { ensureDataDir, loadConfig, type AgentConfig } from '../config/index.js'
import { Agent, type AgentOptions } from './agent.js'
import type { Behaviour } from '../behaviour/index.js'

export interface CreateAgentInit extends Omit<AgentOptions, 'behaviours'> {
  /**
   * `CONCLAVE_*` variables to read the configuration from.
   *
   * @default process.env
   */
  env?: NodeJS.ProcessEnv
  /**
   * Settings on top of those from `env`.
   *
   * @default {}
   */
  config?: Partial<AgentConfig>
  /**
   * What the agent does for its roles.
   *
   * @default from CONCLAVE_BEHAVIOUR (simulated work when unset)
   */
  behaviours?: Behaviour[]
}

/**
 * Start an agent from code: `createAgent({ behaviours: [defineBehaviour({ roles, onTask })] })`.
 * The configuration comes from `CONCLAVE_*` variables like `conclave start`'s; `ConfigError`
 * names any that is wrong.
 */
export async function createAgent(init: CreateAgentInit = {}): Promise<Agent> {
  const { env, config, behaviours, ...options } = init
  const loaded = loadConfig({ env: env ?? process.env })
  loaded.config = { ...loaded.config, ...config }
  await ensureDataDir(loaded)
  return await Agent.start(loaded.config, { ...options, ...(behaviours !== undefined ? { behaviours } : {}) })
}
