/** Default values of the agent configuration. Each is explained in docs/reference/configuration.md. */
export {
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_HEARTBEAT_BUDGET,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_INDIRECT_PROBES,
  DEFAULT_PING_TIMEOUT_MS,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_SUSPECT_MISSED
} from '../membership/constants.js'
export { DEFAULT_MAX_CONNECTIONS } from '../node/constants.js'
export {
  DEFAULT_DNS_INTERVAL_MS,
  SEED_RELEASE_AFTER_MS as DEFAULT_SEED_RELEASE_AFTER_MS
} from '../discovery/constants.js'
export { DEFAULT_CLOCK_SKEW_MS } from '../tenancy/constants.js'
export {
  DEFAULT_MAX_AGE_MS as DEFAULT_MEMORY_MAX_AGE_MS,
  DEFAULT_MAX_EPISODES as DEFAULT_MEMORY_MAX_EPISODES
} from '../memory/constants.js'
export { DEFAULT_LLM_TIMEOUT_MS } from '../behaviour/constants.js'
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'
export const DEFAULT_HTTP = '127.0.0.1:8080'
export const DEFAULT_DATA_DIR = '.conclave'
export const DEFAULT_MDNS_SERVICE_TAG = '_conclave._udp.local'
export const DEFAULT_LOG_LEVEL = 'info'
export const ENV_PREFIX = 'CONCLAVE_'
/** Limits sized for a 2-core machine that also runs the agent's behaviours. */
export {
  DEFAULT_MAX_TASKS_PER_COUNCIL,
  DEFAULT_MAX_TASKS_PER_SUBMITTER,
  DEFAULT_TASK_INPUT_RETENTION_MS
} from '../task/constants.js'
export { DEFAULT_MAX_COUNCILS, DEFAULT_MAX_COUNCILS_PER_TENANT } from '../council/constants.js'
export { DEFAULT_MAX_EVENT_CLIENTS, DEFAULT_MAX_MEMORY_QUERIES } from '../api/constants.js'
