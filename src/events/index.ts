export { EventLog, type AgentEvent, type EventType, type EventLogInit } from './log.js'
export * as eventDefaults from './constants.js'
