import { writeFile } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { Access, loadOrCreateOperatorToken } from '../access/index.js'
import { bindHttpServer, createApiApp, type ApiSource, type HttpServer } from '../api/index.js'
import type { AgentConfig } from '../config/index.js'
import { silentLogger, type Logger } from '../logger/index.js'
import { EventLog } from '../events/index.js'
import { Membership, type GossipRecorder } from '../membership/index.js'
import { AgentMetrics, Registry } from '../metrics/index.js'
import {
  createConclaveNode,
  GossipTraffic,
  identityPath,
  loadOrCreateIdentity,
  type ConclaveLibp2p
} from '../node/index.js'
import { councilDefaults, Councils, fileCouncilStore } from '../council/index.js'
import { DEFAULT_TENANT, loadTenants, saveState, Tenancy, type TenantKeyring } from '../tenancy/index.js'
import { join } from 'node:path'
import { EpisodeStore, Memory, MEMORY } from '../memory/index.js'
import { sqliteTaskStore, Tasks, type TaskStore } from '../task/index.js'
import { TASKS_FILE } from '../task/constants.js'
import { BehaviourSet, loadBehaviours, type Behaviour } from '../behaviour/index.js'
import { LEAVE_FLUSH_MS } from './constants.js'
import { DataDirInUseError } from './errors.js'
import { GOSSIP_SILENCE_MS, gossipCutOff } from './readiness.js'
import { keepPrivate, makeDirectory } from '../util/fs.js'
import { lockDirectory, type DirLock } from '../util/lock.js'
import { watchLoopStalls, type LoopStalls } from '../util/loop-stalls.js'

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
  /**
   * What the agent does with its tasks, instead of `config.behaviour` (`createAgent` passes them).
   *
   * @default loaded from `config.behaviour`
   */
  behaviours?: Behaviour[]
  /**
   * How often a random tenant member is asked for missing episodes.
   *
   * @default 30000
   */
  antiEntropyIntervalMs?: number
}

/** The services of a running agent, in start order. */
interface Services {
  node: ConclaveLibp2p
  tenancy: Tenancy
  membership: Membership
  councils: Councils
  memory: Memory
  tasks: Tasks
  store: EpisodeStore
  taskStore: TaskStore
}

/** What the agent holds of its process and host: the API server, its data dir lock, its loop. */
interface Host {
  http: HttpServer
  access: Access
  lock: DirLock
  /** Last evidence that gossip works (a message in, a subscribed peer), and when the agent started (readiness). */
  gossipIn: { at: number; startedAt: number }
  loopStalls: LoopStalls
}

/** What the HTTP API reads from a running agent. */
function apiSource(agent: Agent, events: EventLog): ApiSource {
  return {
    self: () => agent.self(),
    peers: () => agent.membership.peers(),
    connectedPeers: () => new Set(agent.node.getConnections().map(c => c.remotePeer.toString())),
    notReadyReason: () => agent.notReadyReason(),
    councils: () => agent.councils,
    tasks: () => agent.tasks,
    memory: () => agent.memory,
    events: () => events,
    applyState: async (tenant, state) => {
      const result = await agent.tenancy.applyState(tenant, state, true)
      return typeof result === 'string' ? result : 'adopted'
    },
    metrics: async () => ({
      contentType: agent.metrics.registry.contentType,
      body: await agent.metrics.registry.metrics()
    })
  }
}

/** A running agent: libp2p node, membership and HTTP API. */
export class Agent {
  readonly config: AgentConfig
  readonly node: ConclaveLibp2p
  readonly tenancy: Tenancy
  readonly membership: Membership
  readonly councils: Councils
  readonly memory: Memory
  readonly tasks: Tasks
  readonly metrics: AgentMetrics
  private readonly store: EpisodeStore
  private readonly taskStore: TaskStore
  private readonly host: Host
  private readonly log: Logger
  private stopping?: Promise<void>

  private constructor(config: AgentConfig, services: Services, metrics: AgentMetrics, host: Host, log: Logger) {
    this.config = config
    this.node = services.node
    this.tenancy = services.tenancy
    this.membership = services.membership
    this.councils = services.councils
    this.memory = services.memory
    this.tasks = services.tasks
    this.store = services.store
    this.taskStore = services.taskStore
    this.metrics = metrics
    this.host = host
    this.log = log
  }

  get peerId(): string {
    return this.node.peerId.toString()
  }
  /** Base URL of the HTTP API. */
  get url(): string {
    return this.host.http.url
  }
  /** The operator token: admin on every tenant of this agent (`<data dir>/api.token` unless configured). */
  get apiToken(): string {
    return this.host.access.operatorToken
  }

  /** A dashboard address that signs a browser in once, without copying a token. */
  loginUrl(): string {
    return `${this.host.http.url}/#login=${this.host.access.loginCode()}`
  }

  /**
   * Start an agent. The HTTP port is bound first so that a port in use fails before the node
   * joins the mesh. Start-up errors: `HttpListenError`, `ListenError`, `IdentityError`,
   * `CredentialError`.
   */
  static async start(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const logger = options.logger ?? silentLogger()
    // Contending for a singleton is holding its role: announced, and granted by the credential.
    const roles = [...new Set([...config.roles, ...config.singletons])]
    const metrics = new AgentMetrics(new Registry())
    const events = new EventLog()
    const gossipIn = { at: 0, startedAt: Date.now() }
    // Rejections are counted, and streamed to operators (GET /v1/events).
    const recorder: GossipRecorder = {
      messageIn: (channel, sentAt) => {
        gossipIn.at = Date.now()
        metrics.messageIn(channel, sentAt)
      },
      messageOut: channel => {
        metrics.messageOut(channel)
      },
      rejected: (channel, reason) => {
        metrics.rejected(channel, reason)
        events.emit('rejected', { channel, reason })
      }
    }
    // Behaviours load first: a missing or broken module stops start-up before anything listens.
    const behaviours =
      options.behaviours !== undefined ? new BehaviourSet(options.behaviours) : await loadBehaviours(config)
    // One agent per data dir: the lock is held until the agent stops or the process dies.
    let lock: DirLock
    try {
      await makeDirectory(config.dataDir)
      lock = lockDirectory(config.dataDir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirInUseError(config.dataDir, { cause: err })
      throw err
    }
    // Sampled for the stall gauge (membership's prober shares the same sampler).
    const loopStalls = watchLoopStalls()
    let http: HttpServer
    try {
      http = await bindHttpServer(config.http.host, config.http.port)
    } catch (err) {
      lock.release()
      loopStalls.release()
      throw err
    }
    let store: EpisodeStore | undefined
    let taskStore: TaskStore | undefined
    try {
      const operator =
        config.apiToken !== undefined
          ? { token: config.apiToken, narrowed: false }
          : await loadOrCreateOperatorToken(config.dataDir)
      if (operator.narrowed) {
        logger.warn({ dataDir: config.dataDir }, 'api.token was readable by others: its mode is now 0600')
      }
      const privateKey = options.privateKey ?? (await loadOrCreateIdentity(config.dataDir, config.identity))
      // Secrets and state readable by others are narrowed to the owner, with a warning.
      // A new episode database starts as an empty file of mode 0600, which SQLite takes as new.
      await writeFile(join(config.dataDir, MEMORY.MEMORY_FILE), '', { mode: 0o600, flag: 'wx' }).catch(() => {})
      for (const path of [
        ...(options.privateKey === undefined ? [config.identity ?? identityPath(config.dataDir)] : []),
        join(config.dataDir, MEMORY.MEMORY_FILE)
      ]) {
        const loose = await keepPrivate(path).catch(() => undefined)
        if (loose !== undefined) {
          logger.warn(
            { path, mode: loose.toString(8) },
            'file was readable by others: its mode is now 0600 (unless the file system is read-only)'
          )
        }
      }
      const keyrings =
        options.keyrings ??
        (await loadTenants({
          credentials: config.credentials,
          peerId: peerIdFromPrivateKey(privateKey).toString(),
          requireTenant: config.requireTenant,
          roles,
          dataDir: config.dataDir
        }))
      const gossipTraffic = new GossipTraffic()
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
        releaseSeeds: config.releaseSeeds,
        seedReleaseAfterMs: config.seedReleaseAfterMs,
        metricsRegistry: metrics.registry,
        gossipTraffic,
        collectDefaultMetrics: options.collectDefaultMetrics ?? true,
        ...(options.connectionGater !== undefined ? { connectionGater: options.connectionGater } : {}),
        logger
      })
      const tenancy = new Tenancy(
        { peerId: node.peerId, pubsub: node.services.pubsub },
        {
          keyrings,
          clockSkewMs: config.clockSkewMs,
          logger,
          recorder,
          onState: (tenant, state) => {
            saveState(config.dataDir, tenant, state).catch((err: Error) => {
              logger.error({ tenant, err: err.message }, 'could not save tenant state')
            })
          }
        }
      )
      await tenancy.start()
      const membership = new Membership(
        {
          node,
          privateKey,
          pubsub: node.services.pubsub,
          tenancy,
          ping: node.services.probes,
          learnPeer: (peerId, addrs) => {
            void node.peerStore
              .merge(peerId, { multiaddrs: addrs })
              .then(() => {
                node.services.dialer.consider(peerId)
              })
              .catch(() => {})
          },
          releasedOnPurpose: peerId => node.services.seeds.releasedOnPurpose(peerId)
        },
        {
          name: config.name,
          roles,
          heartbeatMs: config.heartbeatMs,
          heartbeatBudget: config.heartbeatBudget,
          suspectMissed: config.suspectMissed,
          deadAfterMs: config.deadAfterMs,
          pingTimeoutMs: config.pingTimeoutMs,
          probeIntervalMs: config.probeIntervalMs,
          indirectProbes: config.indirectProbes,
          logger,
          recorder
        }
      )
      tenancy.onEpochMismatch(peer => {
        void membership.sync(peerIdFromString(peer))
      })
      await membership.start()
      const councils = new Councils(
        { peerId: node.peerId, privateKey, tenancy, membership, node },
        {
          roles: config.roles,
          singletons: config.singletons,
          name: config.name,
          logger,
          store: fileCouncilStore(join(config.dataDir, councilDefaults.COUNCILS_FILE), logger),
          maxOpenPerTenant: config.maxCouncilsPerTenant,
          maxOpen: config.maxCouncils
        }
      )
      await councils.start()
      // Refusals are counted; a conflict (another episode under the same id) is also logged, once.
      const conflicts = new Set<string>()
      store = EpisodeStore.open(join(config.dataDir, MEMORY.MEMORY_FILE), {
        maxEpisodes: config.memoryMaxEpisodes,
        maxAgeMs: config.memoryMaxAgeMs,
        onRefused: (episode, reason) => {
          metrics.episodeRefused(episode.tenant, reason)
          const key = `${episode.tenant}/${episode.id}`
          if (reason !== 'conflict' || conflicts.has(key) || conflicts.size >= MEMORY.MAX_LOGGED_CONFLICTS) return
          conflicts.add(key)
          logger.warn(
            { tenant: episode.tenant, id: episode.id, origin: episode.origin, seq: episode.seq },
            'episode refused: another episode holds its id'
          )
        }
      })
      const memory = new Memory(
        { peerId: node.peerId, tenancy, membership, node, store },
        {
          logger,
          ...(options.antiEntropyIntervalMs !== undefined
            ? { antiEntropyIntervalMs: options.antiEntropyIntervalMs }
            : {})
        }
      )
      await memory.start()
      taskStore = sqliteTaskStore(join(config.dataDir, TASKS_FILE), logger)
      const tasks = new Tasks(
        { peerId: node.peerId, tenancy, councils, memory, behaviours },
        {
          logger,
          store: taskStore,
          maxPerCouncil: config.maxTasksPerCouncil,
          maxPerSubmitter: config.maxTasksPerSubmitter,
          inputRetentionMs: config.taskInputRetentionMs
        }
      )
      await tasks.start()
      membership.onChange(change => {
        events.emit('member', {
          tenant: change.tenant,
          peerId: change.peerId,
          name: change.member.record.name,
          state: change.state,
          previous: change.previous ?? null,
          reason: change.reason
        })
      })
      councils.onChange(view => {
        metrics.council(view)
        events.emit('council', { ...view })
      })
      memory.onEpisode((episode, from) => {
        if (from === 'gossip' || from === 'pull') metrics.episode(episode.tenant, episode.ts, from)
      })
      // Gauges read these at scrape time; until here a scrape reports none.
      metrics.attach({
        members: () => membership.peers().map(p => ({ tenant: p.tenant, state: p.state })),
        connections: () => node.getConnections().length,
        councils: () => councils.all().map(c => ({ tenant: c.tenant, state: c.state })),
        tasks: () => tasks.all().map(t => ({ tenant: t.tenant, state: t.state })),
        loopStallMs: () => loopStalls.longestSince(performance.now() - 60_000),
        gossipTraffic: () => gossipTraffic.read(),
        membershipTraffic: () => membership.traffic
      })
      tasks.onChange(task => {
        events.emit('task', {
          id: task.id,
          council: task.council,
          tenant: task.tenant,
          role: task.role,
          state: task.state,
          holder: task.holder,
          epoch: task.epoch,
          attempts: task.attempts,
          ...(task.error !== undefined ? { error: task.error } : {})
        })
      })
      const access = new Access({ operatorToken: operator.token, keyring: tenant => tenancy.keyring(tenant) })
      const agent = new Agent(
        config,
        { node, tenancy, membership, councils, memory, tasks, store, taskStore },
        metrics,
        { http, access, lock, gossipIn, loopStalls },
        logger
      )
      // Last in the start order: the API serves a built agent, and answered 503 until now.
      http.serve(
        createApiApp(apiSource(agent, events), {
          access,
          hosts: config.httpHosts,
          metricsPublic: config.metricsPublic,
          maxEventClients: config.maxEventClients,
          maxMemoryQueries: config.maxMemoryQueries,
          onError: err => {
            logger.error({ err: err.message, stack: err.stack }, 'HTTP request failed')
          }
        })
      )
      logger.info(
        {
          peerId: agent.peerId,
          name: config.name,
          addrs: node.getMultiaddrs().map(String),
          api: http.url,
          tenants: tenancy.tenants
        },
        'agent started'
      )
      return agent
    } catch (err) {
      store?.close()
      taskStore?.close()
      await http.close()
      lock.release()
      loopStalls.release()
      throw err
    }
  }

  self(): ReturnType<ApiSource['self']> {
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
  notReadyReason(): string | undefined {
    if (this.stopping !== undefined) return 'stopping'
    if (this.node.getConnections().length === 0) return 'no peers connected'
    const subscribed = this.node.services.pubsub.getTopics()
    const missing = this.membership.topics.filter(t => !subscribed.includes(t))
    if (missing.length > 0) return `not subscribed to ${missing.join(', ')}`
    const pubsub = this.node.services.pubsub
    if (this.membership.topics.every(t => pubsub.getSubscribers(t).length > 0)) this.host.gossipIn.at = Date.now()
    return gossipCutOff(
      {
        lastEvidenceAt: this.host.gossipIn.at,
        startedAt: this.host.gossipIn.startedAt,
        alivePeers: this.membership.peers().filter(p => p.state === 'alive').length
      },
      Date.now(),
      Math.max(GOSSIP_SILENCE_MS, 3 * this.config.heartbeatMs)
    )
  }

  /**
   * Leave gracefully: announce `left` to the tenant, close every connection, stop the API.
   * Safe to call more than once.
   */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ peerId: this.peerId }, 'agent leaving')
      await this.tasks.stop()
      await this.councils.resignAll()
      await this.membership.leave()
      await delay(LEAVE_FLUSH_MS)
      await this.shutdown()
      this.log.info({ peerId: this.peerId }, 'agent stopped')
    })()
    return this.stopping
  }

  /** Stop without announcing leave: peers must detect the failure (tests of crash handling). */
  async crash(): Promise<void> {
    this.stopping ??= (async () => {
      await this.tasks.stop()
      await this.shutdown()
    })()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    await this.memory.stop()
    await this.councils.stop()
    await this.membership.stop()
    await this.tenancy.stop()
    await this.node.stop()
    this.store.close()
    this.taskStore.close()
    await this.host.http.close()
    this.host.lock.release()
    this.host.loopStalls.release()
  }
}
