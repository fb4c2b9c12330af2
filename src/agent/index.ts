export { Agent, type AgentOptions } from './agent.js'
