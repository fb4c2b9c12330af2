/** Default values of the agent configuration. Each is explained in the README's configuration table. */
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'
export const DEFAULT_HTTP = '0.0.0.0:8080'
export const DEFAULT_DATA_DIR = '.conclave'
export const DEFAULT_MDNS_SERVICE_TAG = '_conclave._udp.local'
export const DEFAULT_MAX_CONNECTIONS = 32
export const DEFAULT_DNS_INTERVAL_MS = 30_000
export const DEFAULT_HEARTBEAT_MS = 1_000
export const DEFAULT_HEARTBEAT_BUDGET = 10
export const DEFAULT_SUSPECT_MISSED = 3
export const DEFAULT_DEAD_AFTER_MS = 5_000
export const DEFAULT_PING_TIMEOUT_MS = 1_000
export const DEFAULT_LOG_LEVEL = 'info'
export const ENV_PREFIX = 'CONCLAVE_'
