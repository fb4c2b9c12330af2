import { setTimeout as delay } from 'node:timers/promises'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { createApiApp, startHttpServer, type ApiSource, type HttpServer } from '../api/index.js'
import type { AgentConfig } from '../config/index.js'
import { silentLogger, type Logger } from '../logger/index.js'
import { Membership } from '../membership/index.js'
import { AgentMetrics, Registry } from '../metrics/index.js'
import { createConclaveNode, loadOrCreateIdentity, type ConclaveLibp2p } from '../node/index.js'
import { Councils } from '../council/index.js'
import { DEFAULT_TENANT, loadTenants, saveState, Tenancy, type TenantKeyring } from '../tenancy/index.js'
import { LEAVE_FLUSH_MS } from './constants.js'

export interface AgentOptions {
  /**
   * Structured logger for the agent and its libp2p node.
   *
   * @default silent
   */
  logger?: Logger
  /**
   * Identity to use instead of the key in the data dir.
   *
   * @default the key in `config.dataDir` (created on first start)
   */
  privateKey?: PrivateKey
  /**
   * Tenants the agent belongs to, instead of those of `config.credentials` (sim makes them in memory).
   *
   * @default loaded from `config.credentials`, else the open 'default' tenant
   */
  keyrings?: TenantKeyring[]
  /**
   * Decides which peers may connect (the sim cuts partitions with it).
   *
   * @default allow every peer
   */
  connectionGater?: ConnectionGater
  /**
   * Collect process metrics (CPU, memory, event loop). Off when many agents share a process.
   *
   * @default true
   */
  collectDefaultMetrics?: boolean
}

/** A running agent: libp2p node, membership and HTTP API. */
export class Agent {
  readonly config: AgentConfig
  readonly node: ConclaveLibp2p
  readonly tenancy: Tenancy
  readonly membership: Membership
  readonly councils: Councils
  readonly metrics: AgentMetrics
  private readonly http: HttpServer
  private readonly log: Logger
  private stopping?: Promise<void>

  private constructor (config: AgentConfig, node: ConclaveLibp2p, tenancy: Tenancy, membership: Membership, councils: Councils, metrics: AgentMetrics, http: HttpServer, log: Logger) {
    this.config = config
    this.node = node
    this.tenancy = tenancy
    this.membership = membership
    this.councils = councils
    this.metrics = metrics
    this.http = http
    this.log = log
  }

  get peerId (): string { return this.node.peerId.toString() }
  /** Base URL of the HTTP API. */
  get url (): string { return this.http.url }

  /**
   * Start an agent. The HTTP port is bound first so that a port in use fails before the node
   * joins the mesh. Start-up errors: `HttpListenError`, `ListenError`, `IdentityError`,
   * `CredentialError`.
   */
  static async start (config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const logger = options.logger ?? silentLogger()
    const tenants = options.keyrings?.map(r => r.tenant) ?? [DEFAULT_TENANT]
    // Contending for a singleton is holding its role: announced, and granted by the credential.
    const roles = [...new Set([...config.roles, ...config.singletons])]
    const metrics = new AgentMetrics(new Registry())
    const holder: { agent?: Agent } = {}
    const source: ApiSource = {
      self: () => holder.agent?.self() ?? { peerId: '', name: config.name, roles: config.roles, tenant: tenants[0] ?? DEFAULT_TENANT, tenants, addrs: [] },
      peers: () => holder.agent?.membership.peers() ?? [],
      notReadyReason: () => holder.agent === undefined ? 'starting' : holder.agent.notReadyReason(),
      councils: () => holder.agent?.councils,
      applyState: async (tenant, state) => {
        if (holder.agent === undefined) return 'starting'
        const result = await holder.agent.tenancy.applyState(tenant, state, true)
        return typeof result === 'string' ? result : 'adopted'
      },
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() })
    }
    const http = await startHttpServer(createApiApp(source), config.http.host, config.http.port)
    try {
      const privateKey = options.privateKey ?? await loadOrCreateIdentity(config.dataDir)
      const keyrings = options.keyrings ?? await loadTenants({
        credentials: config.credentials,
        peerId: peerIdFromPrivateKey(privateKey).toString(),
        requireTenant: config.requireTenant,
        roles,
        dataDir: config.dataDir
      })
      const node = await createConclaveNode({
        privateKey,
        listen: config.listen,
        announce: config.announce,
        bootstrap: config.bootstrap,
        dnsPeers: config.dnsPeers,
        dnsServers: config.dnsServers,
        dnsIntervalMs: config.dnsIntervalMs,
        mdns: config.mdns,
        mdnsServiceTag: config.mdnsServiceTag,
        maxConnections: config.maxConnections,
        metricsRegistry: metrics.registry,
        collectDefaultMetrics: options.collectDefaultMetrics ?? true,
        ...(options.connectionGater !== undefined ? { connectionGater: options.connectionGater } : {}),
        logger
      })
      const holderOfMembership: { membership?: Membership } = {}
      const tenancy = new Tenancy({ peerId: node.peerId, pubsub: node.services.pubsub }, {
        keyrings,
        clockSkewMs: config.clockSkewMs,
        logger,
        recorder: metrics,
        onState: (tenant, state) => {
          saveState(config.dataDir, tenant, state).catch((err: Error) => { logger.error({ tenant, err: err.message }, 'could not save tenant state') })
        },
        onEpochMismatch: peer => { void holderOfMembership.membership?.sync(peerIdFromString(peer)) }
      })
      await tenancy.start()
      const membership = new Membership({
        node,
        privateKey,
        pubsub: node.services.pubsub,
        tenancy,
        ping: node.services.ping,
        learnPeer: (peerId, addrs) => {
          void node.peerStore.merge(peerId, { multiaddrs: addrs })
            .then(() => { node.services.dialer.consider(peerId) })
            .catch(() => {})
        }
      }, {
        name: config.name,
        roles,
        heartbeatMs: config.heartbeatMs,
        heartbeatBudget: config.heartbeatBudget,
        suspectMissed: config.suspectMissed,
        deadAfterMs: config.deadAfterMs,
        pingTimeoutMs: config.pingTimeoutMs,
        logger,
        recorder: metrics
      })
      metrics.attach({
        members: () => membership.peers().map(p => ({ tenant: p.tenant, state: p.state })),
        connections: () => node.getConnections().length
      })
      holderOfMembership.membership = membership
      await membership.start()
      const councils = new Councils({ peerId: node.peerId, privateKey, tenancy, membership }, { roles: config.roles, singletons: config.singletons, name: config.name, logger })
      await councils.start()
      const agent = new Agent(config, node, tenancy, membership, councils, metrics, http, logger)
      holder.agent = agent
      logger.info({ peerId: agent.peerId, name: config.name, addrs: node.getMultiaddrs().map(String), api: http.url, tenants: tenancy.tenants }, 'agent started')
      return agent
    } catch (err) {
      await http.close()
      throw err
    }
  }

  self (): ReturnType<ApiSource['self']> {
    const tenants = this.membership.tenantIds
    return {
      peerId: this.peerId,
      name: this.config.name,
      roles: this.config.roles,
      tenant: tenants[0] ?? DEFAULT_TENANT,
      tenants,
      addrs: this.node.getMultiaddrs().map(String)
    }
  }

  /** undefined when the agent is connected and subscribed; otherwise why not. */
  notReadyReason (): string | undefined {
    if (this.stopping !== undefined) return 'stopping'
    if (this.node.getConnections().length === 0) return 'no peers connected'
    const subscribed = this.node.services.pubsub.getTopics()
    const missing = this.membership.topics.filter(t => !subscribed.includes(t))
    if (missing.length > 0) return `not subscribed to ${missing.join(', ')}`
    return undefined
  }

  /**
   * Leave gracefully: announce `left` to the tenant, close every connection, stop the API.
   * Safe to call more than once.
   */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ peerId: this.peerId }, 'agent leaving')
      await this.councils.resignAll()
      await this.membership.leave()
      await delay(LEAVE_FLUSH_MS)
      await this.councils.stop()
      await this.membership.stop()
      await this.tenancy.stop()
      await this.node.stop()
      await this.http.close()
      this.log.info({ peerId: this.peerId }, 'agent stopped')
    })()
    return this.stopping
  }

  /** Stop without announcing leave: peers must detect the failure (tests of crash handling). */
  async crash (): Promise<void> {
    this.stopping ??= (async () => {
      await this.councils.stop()
      await this.membership.stop()
      await this.tenancy.stop()
      await this.node.stop()
      await this.http.close()
    })()
    return this.stopping
  }
}
