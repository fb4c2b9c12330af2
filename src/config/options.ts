/**
 * The single table of agent settings: each has an env var, a flag, a default and a parser.
 * The loader, the CLI flags and the configuration reference (docs/reference/configuration.md) all follow this table.
 */
import type { z } from 'zod'
import * as C from './constants.js'
import { values } from './values.js'
import type { AgentConfig } from './types.js'

export interface OptionSpec {
  key: keyof AgentConfig
  env: string
  /** Long flag without the leading dashes. */
  flag: string
  description: string
  /** What the reference says besides `description` (the whole story; `--help` shows only `description`). */
  details?: string
  /** Raw default, parsed like user input; undefined means "no value". */
  default?: string
  schema: z.ZodType<unknown, string>
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'name', env: 'CONCLAVE_NAME', flag: 'name', description: 'Agent name shown to peers', schema: values.name },
  {
    key: 'listen',
    env: 'CONCLAVE_LISTEN',
    flag: 'listen',
    description: 'libp2p listen multiaddrs, comma-separated',
    default: C.DEFAULT_LISTEN,
    schema: values.listen
  },
  {
    key: 'announce',
    env: 'CONCLAVE_ANNOUNCE',
    flag: 'announce',
    description: 'Multiaddrs announced to peers instead of the listen addresses',
    default: '',
    schema: values.announce
  },
  {
    key: 'http',
    env: 'CONCLAVE_HTTP',
    flag: 'http',
    description: 'HTTP API host:port (port 0 picks a free port)',
    details:
      'HTTP API host:port (port 0 picks a free port); any other address than loopback is an explicit choice, and every `/v1` route still needs a token there',
    default: C.DEFAULT_HTTP,
    schema: values.hostPort
  },
  {
    key: 'apiToken',
    env: 'CONCLAVE_API_TOKEN',
    flag: 'api-token',
    description:
      'Operator token (admin on every tenant of the agent) to use instead of <data dir>/api.token, made on first start; at least 32 characters (e.g. from a secret shared by replicas)',
    details:
      'Operator token (admin on every tenant of the agent) to use instead of `<data dir>/api.token`, which is made (0600) on first start; at least 32 characters, e.g. a secret shared by replicas; shown as `***` by `conclave config`. The CLI sends it too',
    schema: values.apiToken
  },
  {
    key: 'httpHosts',
    env: 'CONCLAVE_HTTP_HOSTS',
    flag: 'http-hosts',
    description:
      "Host names the HTTP API answers to besides IP addresses, localhost and the machine's host name (a DNS-rebinding guard), comma-separated; *.example.com matches subdomains, * any name",
    details:
      "Host names the API answers to besides IP addresses, `localhost` and the machine's host name (a DNS-rebinding guard), comma-separated; `*.example.com` matches subdomains, `*` any name",
    default: '',
    schema: values.hostNames
  },
  {
    key: 'metricsPublic',
    env: 'CONCLAVE_METRICS_PUBLIC',
    flag: 'metrics-public',
    description: 'Serve /metrics without a token (otherwise any valid token can scrape it)',
    details: 'Serve `/metrics` without a token (otherwise any valid token can scrape it)',
    default: 'false',
    schema: values.boolean
  },
  {
    key: 'dataDir',
    env: 'CONCLAVE_DATA_DIR',
    flag: 'data-dir',
    description: 'Directory for the identity key and state',
    details:
      'Directory for the identity key (`identity.key`), the operator token (`api.token`), councils (`councils.json`), tasks (`tasks.db`) and episodes (`memory.db`), all mode 0600 (a looser key or store is narrowed with a warning). One agent per data dir: a second one on it exits 2 naming this variable',
    default: C.DEFAULT_DATA_DIR,
    schema: values.path
  },
  {
    key: 'identity',
    env: 'CONCLAVE_IDENTITY',
    flag: 'identity',
    description: 'Identity key file to use instead of <data dir>/identity.key (e.g. a mounted secret); it must exist',
    details:
      'Identity key file to use instead of `<data dir>/identity.key`, e.g. a mounted secret (`conclave keygen --out F`); it must exist, it is never created',
    schema: values.path
  },
  {
    key: 'bootstrap',
    env: 'CONCLAVE_BOOTSTRAP',
    flag: 'bootstrap',
    description: 'Bootstrap multiaddrs (/ip4, /ip6, /dns4, /dns6, /dnsaddr; /p2p/<id> optional)',
    details: 'Bootstrap multiaddrs (`/ip4`, `/ip6`, `/dns4`, `/dns6`, `/dnsaddr`; `/p2p/<id>` optional)',
    default: '',
    schema: values.bootstrap
  },
  {
    key: 'dnsPeers',
    env: 'CONCLAVE_DNS_PEERS',
    flag: 'dns-peers',
    description: 'name:port list; every A/AAAA record of each name is dialled, re-resolved periodically',
    details: '`name:port` list; every A/AAAA record of each name is dialled, re-resolved periodically',
    default: '',
    schema: values.dnsPeers
  },
  {
    key: 'dnsServers',
    env: 'CONCLAVE_DNS_SERVERS',
    flag: 'dns-servers',
    description: 'DNS servers (ip[:port]) for CONCLAVE_DNS_PEERS; empty means the system resolver',
    details: 'DNS servers (`ip[:port]`) for `CONCLAVE_DNS_PEERS`; empty means the system resolver',
    default: '',
    schema: values.dnsServers
  },
  {
    key: 'dnsIntervalMs',
    env: 'CONCLAVE_DNS_INTERVAL_MS',
    flag: 'dns-interval-ms',
    description: 'How often CONCLAVE_DNS_PEERS is re-resolved',
    details: 'How often `CONCLAVE_DNS_PEERS` is re-resolved',
    default: String(C.DEFAULT_DNS_INTERVAL_MS),
    schema: values.integer(100, 86_400_000)
  },
  {
    key: 'mdns',
    env: 'CONCLAVE_MDNS',
    flag: 'mdns',
    description: 'Discover peers on the LAN with mDNS',
    default: 'true',
    schema: values.boolean
  },
  {
    key: 'mdnsServiceTag',
    env: 'CONCLAVE_MDNS_SERVICE_TAG',
    flag: 'mdns-service-tag',
    description: 'mDNS service name; only agents with the same tag find each other',
    default: C.DEFAULT_MDNS_SERVICE_TAG,
    schema: values.serviceTag
  },
  {
    key: 'roles',
    env: 'CONCLAVE_ROLES',
    flag: 'roles',
    description: 'Roles this agent can hold, comma-separated',
    default: '',
    schema: values.roles
  },
  {
    key: 'singletons',
    env: 'CONCLAVE_SINGLETONS',
    flag: 'singletons',
    description:
      'Singleton services this agent contends to lead in its tenant (exactly one leader each, see GET /v1/leaders), comma-separated',
    details:
      'Singleton services this agent contends to lead in its (first) tenant, comma-separated: exactly one leader each (`GET /v1/leaders`); contending means holding the role, so a credential must grant it',
    default: '',
    schema: values.roles
  },
  {
    key: 'releaseSeeds',
    env: 'CONCLAVE_RELEASE_SEEDS',
    flag: 'release-seeds',
    description:
      'Close the connection to a bootstrap peer once CONCLAVE_MAX_CONNECTIONS others are connected (redialled when under 2 are left), so the bootstrap peer does not stay connected to the whole mesh',
    details:
      'Close the connection to a bootstrap peer once `CONCLAVE_MAX_CONNECTIONS` others are connected (redialled when under 2 are left), so the bootstrap peer does not stay connected to the whole mesh',
    default: 'true',
    schema: values.boolean
  },
  {
    key: 'seedReleaseAfterMs',
    env: 'CONCLAVE_SEED_RELEASE_AFTER_MS',
    flag: 'seed-release-after-ms',
    description: 'A connection to a bootstrap peer stands this long (to twice this, at random) before it is released',
    default: String(C.DEFAULT_SEED_RELEASE_AFTER_MS),
    schema: values.integer(100, 86_400_000)
  },
  {
    key: 'maxConnections',
    env: 'CONCLAVE_MAX_CONNECTIONS',
    flag: 'max-connections',
    description: 'Cap on connections the dialer opens to discovered peers',
    default: String(C.DEFAULT_MAX_CONNECTIONS),
    schema: values.integer(1, 10_000)
  },
  {
    key: 'heartbeatMs',
    env: 'CONCLAVE_HEARTBEAT_MS',
    flag: 'heartbeat-ms',
    description:
      'Least interval between two presence heartbeats of this agent (the budget stretches it as the tenant grows; heartbeats are a backstop, probes detect failures)',
    default: String(C.DEFAULT_HEARTBEAT_MS),
    schema: values.integer(50, 600_000)
  },
  {
    key: 'heartbeatBudget',
    env: 'CONCLAVE_HEARTBEAT_BUDGET',
    flag: 'heartbeat-budget',
    description:
      'Presence heartbeats per second the whole tenant publishes (0.02: about one a minute, whatever its size); each agent then receives about that many',
    default: String(C.DEFAULT_HEARTBEAT_BUDGET),
    schema: values.decimal(0.001, 100_000)
  },
  {
    key: 'suspectMissed',
    env: 'CONCLAVE_SUSPECT_MISSED',
    flag: 'suspect-missed',
    description: 'Missed heartbeat intervals before a silent peer is probed',
    default: String(C.DEFAULT_SUSPECT_MISSED),
    schema: values.integer(1, 100)
  },
  {
    key: 'deadAfterMs',
    env: 'CONCLAVE_DEAD_AFTER_MS',
    flag: 'dead-after-ms',
    description: 'Time a suspect has to refute before it is dead',
    default: String(C.DEFAULT_DEAD_AFTER_MS),
    schema: values.integer(50, 3_600_000)
  },
  {
    key: 'pingTimeoutMs',
    env: 'CONCLAVE_PING_TIMEOUT_MS',
    flag: 'ping-timeout-ms',
    description: "Timeout of a probe's ping, direct or through another member",
    default: String(C.DEFAULT_PING_TIMEOUT_MS),
    schema: values.integer(10, 60_000)
  },
  {
    key: 'probeIntervalMs',
    env: 'CONCLAVE_PROBE_INTERVAL_MS',
    flag: 'probe-interval-ms',
    description: 'One connected member is pinged this often, in turn (SWIM protocol period); 0 turns the rounds off',
    details:
      'One connected member is pinged this often, in turn (SWIM protocol period); `0` turns the rounds off (members are then probed only when a connection drops or heartbeats are overdue)',
    default: String(C.DEFAULT_PROBE_INTERVAL_MS),
    schema: values.probeInterval
  },
  {
    key: 'indirectProbes',
    env: 'CONCLAVE_INDIRECT_PROBES',
    flag: 'indirect-probes',
    description: 'Members asked to ping a peer that missed a direct ping, before it is suspect',
    details: 'Members asked to ping a peer that missed a direct ping, before it is suspect (0: suspect at once)',
    default: String(C.DEFAULT_INDIRECT_PROBES),
    schema: values.integer(0, 16)
  },
  {
    key: 'credentials',
    env: 'CONCLAVE_CREDENTIALS',
    flag: 'credentials',
    description:
      'Tenant credential files (`conclave tenant issue`), comma-separated; none means the open default tenant',
    details:
      'Tenant credential files (`conclave tenant issue`), comma-separated; one per tenant the agent belongs to. None: the open `default` tenant (a warning is logged)',
    default: '',
    schema: values.paths
  },
  {
    key: 'requireTenant',
    env: 'CONCLAVE_REQUIRE_TENANT',
    flag: 'require-tenant',
    description: 'Refuse to start without a valid credential',
    details: 'Refuse to start without a valid credential (instead of joining the open `default` tenant)',
    default: 'false',
    schema: values.boolean
  },
  {
    key: 'clockSkewMs',
    env: 'CONCLAVE_CLOCK_SKEW_MS',
    flag: 'clock-skew-ms',
    description: 'Tenant messages stamped further than this from the local clock are rejected (replay window)',
    details:
      'Tenant messages stamped further than this from the local clock are rejected (bounds how long a captured message could be replayed)',
    default: String(C.DEFAULT_CLOCK_SKEW_MS),
    schema: values.integer(1_000, 3_600_000)
  },
  {
    key: 'behaviour',
    env: 'CONCLAVE_BEHAVIOUR',
    flag: 'behaviour',
    description:
      'What the agent does with its tasks: built-ins (simulated, researcher, coder, tester, reviewer, llm) and/or module paths, comma-separated; empty means simulated',
    details:
      'What the agent does with its tasks: built-ins (`simulated`, `researcher`, `coder`, `tester`, `reviewer`, `llm`) and/or paths of user modules, comma-separated; the first that works for a role runs it. Empty: `simulated`. A missing or broken module stops start-up (exit 2)',
    default: '',
    schema: values.behaviours
  },
  {
    key: 'llmUrl',
    env: 'CONCLAVE_LLM_URL',
    flag: 'llm-url',
    description: 'OpenAI-compatible API base URL for the llm behaviour (Ollama: http://host:11434/v1)',
    details:
      'OpenAI-compatible API base URL for the `llm` behaviour (Ollama: `http://host:11434/v1`; `/chat/completions` is appended)',
    schema: values.httpUrl
  },
  {
    key: 'llmModel',
    env: 'CONCLAVE_LLM_MODEL',
    flag: 'llm-model',
    description: 'Model name the llm behaviour asks for',
    details: 'Model the `llm` behaviour asks for (required with it)',
    schema: values.text
  },
  {
    key: 'llmApiKey',
    env: 'CONCLAVE_LLM_API_KEY',
    flag: 'llm-api-key',
    description: 'Bearer token for the LLM endpoint (none for Ollama)',
    details: 'Bearer token for the LLM endpoint (none for Ollama); shown as `***` by `conclave config`',
    schema: values.text
  },
  {
    key: 'llmTimeoutMs',
    env: 'CONCLAVE_LLM_TIMEOUT_MS',
    flag: 'llm-timeout-ms',
    description: 'An LLM request without an answer by then fails the task',
    default: String(C.DEFAULT_LLM_TIMEOUT_MS),
    schema: values.integer(100, 3_600_000)
  },
  {
    key: 'memoryMaxEpisodes',
    env: 'CONCLAVE_MEMORY_MAX_EPISODES',
    flag: 'memory-max-episodes',
    description: 'Episodes kept per tenant (oldest dropped first)',
    details: 'Episodes kept per tenant (the oldest are dropped first)',
    default: String(C.DEFAULT_MEMORY_MAX_EPISODES),
    schema: values.integer(1, 1_000_000_000)
  },
  {
    key: 'memoryMaxAgeMs',
    env: 'CONCLAVE_MEMORY_MAX_AGE_MS',
    flag: 'memory-max-age-ms',
    description: 'Episodes older than this are dropped (default 30 days)',
    details: 'Episodes older than this (default 30 days) are dropped, and not accepted from peers',
    default: String(C.DEFAULT_MEMORY_MAX_AGE_MS),
    schema: values.integer(60_000, 100 * 365 * 86_400_000)
  },
  {
    key: 'maxTasksPerCouncil',
    env: 'CONCLAVE_MAX_TASKS_PER_COUNCIL',
    flag: 'max-tasks-per-council',
    description: 'Tasks in flight (queued or running) a council takes through this agent; more answer 429',
    details:
      'Tasks in flight (queued or running) a council takes through this agent; more answer `429` with `Retry-After` (tasks a result starts are never refused)',
    default: String(C.DEFAULT_MAX_TASKS_PER_COUNCIL),
    schema: values.integer(1, 1_000_000)
  },
  {
    key: 'maxTasksPerSubmitter',
    env: 'CONCLAVE_MAX_TASKS_PER_SUBMITTER',
    flag: 'max-tasks-per-submitter',
    description: 'Tasks in flight this agent submits at once, over all its councils; more answer 429',
    details: 'Tasks in flight this agent submits at once, over all its councils; more answer `429`',
    default: String(C.DEFAULT_MAX_TASKS_PER_SUBMITTER),
    schema: values.integer(1, 1_000_000)
  },
  {
    key: 'maxCouncilsPerTenant',
    env: 'CONCLAVE_MAX_COUNCILS_PER_TENANT',
    flag: 'max-councils-per-tenant',
    description: 'Councils open at once (not ended) in a tenant, as this agent sees them; opening more answers 429',
    details:
      'Councils open at once (not ended, singletons aside) in a tenant, as this agent sees them; opening more answers `429`',
    default: String(C.DEFAULT_MAX_COUNCILS_PER_TENANT),
    schema: values.integer(1, 1_000_000)
  },
  {
    key: 'maxCouncils',
    env: 'CONCLAVE_MAX_COUNCILS',
    flag: 'max-councils',
    description: 'Councils open at once (not ended) this agent follows over all its tenants; opening more answers 429',
    details: 'Councils open at once this agent follows over all its tenants; opening more answers `429`',
    default: String(C.DEFAULT_MAX_COUNCILS),
    schema: values.integer(1, 1_000_000)
  },
  {
    key: 'maxEventClients',
    env: 'CONCLAVE_MAX_EVENT_CLIENTS',
    flag: 'max-event-clients',
    description: 'Clients of GET /v1/events at once; more answer 429',
    details: 'Clients of `GET /v1/events` at once; more answer `429`',
    default: String(C.DEFAULT_MAX_EVENT_CLIENTS),
    schema: values.integer(1, 100_000)
  },
  {
    key: 'maxMemoryQueries',
    env: 'CONCLAVE_MAX_MEMORY_QUERIES',
    flag: 'max-memory-queries',
    description: 'GET /v1/memory answers streaming at once; more answer 429',
    details: '`GET /v1/memory` answers streaming at once; more answer `429`',
    default: String(C.DEFAULT_MAX_MEMORY_QUERIES),
    schema: values.integer(1, 10_000)
  },
  {
    key: 'taskInputRetentionMs',
    env: 'CONCLAVE_TASK_INPUT_RETENTION_MS',
    flag: 'task-input-retention-ms',
    description: 'A finished task keeps its input this long, then only its result',
    details: 'A finished task keeps its input this long (10 minutes), then only its result (`input: null`)',
    default: String(C.DEFAULT_TASK_INPUT_RETENTION_MS),
    schema: values.integer(0, 30 * 86_400_000)
  },
  {
    key: 'logLevel',
    env: 'CONCLAVE_LOG_LEVEL',
    flag: 'log-level',
    description: 'fatal, error, warn, info, debug, trace or silent',
    details: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`',
    default: C.DEFAULT_LOG_LEVEL,
    schema: values.logLevel
  }
]
