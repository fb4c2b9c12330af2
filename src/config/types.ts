import type { LogLevel } from '../logger/index.js'
import type { HostPort } from './values.js'

/** The resolved agent configuration: flags over environment over defaults. */
export interface AgentConfig {
  name: string
  listen: string[]
  announce: string[]
  http: HostPort
  /** A fixed operator token (a secret); unset: `<dataDir>/api.token`, created on first start. */
  apiToken?: string
  /** Host names the API answers to besides IP addresses, localhost and the machine's name. */
  httpHosts: string[]
  /** Serve `/metrics` without a token. */
  metricsPublic: boolean
  dataDir: string
  /** A fixed identity key file (a mounted secret); unset: `<dataDir>/identity.key`, created on first start. */
  identity?: string
  bootstrap: string[]
  dnsPeers: HostPort[]
  dnsServers: string[]
  dnsIntervalMs: number
  mdns: boolean
  mdnsServiceTag: string
  roles: string[]
  singletons: string[]
  maxConnections: number
  releaseSeeds: boolean
  seedReleaseAfterMs: number
  heartbeatMs: number
  heartbeatBudget: number
  suspectMissed: number
  deadAfterMs: number
  pingTimeoutMs: number
  probeIntervalMs: number
  indirectProbes: number
  credentials: string[]
  requireTenant: boolean
  clockSkewMs: number
  behaviour: string[]
  llmUrl?: string
  llmModel?: string
  llmApiKey?: string
  llmTimeoutMs: number
  memoryMaxEpisodes: number
  memoryMaxAgeMs: number
  maxTasksPerCouncil: number
  maxTasksPerSubmitter: number
  maxCouncilsPerTenant: number
  maxCouncils: number
  maxEventClients: number
  maxMemoryQueries: number
  taskInputRetentionMs: number
  logLevel: LogLevel
}
