import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Connection, ConnectionGater, PeerId } from '@libp2p/interface'
import { Agent } from '../agent/index.js'
import { loadConfig, type AgentConfig } from '../config/index.js'
import { silentLogger, type Logger } from '../logger/index.js'
import { loadOrCreateIdentity } from '../node/index.js'
import {
  createTenant,
  DEFAULT_TENANT,
  issueKeyring,
  rotateTenant,
  TenantKeyring,
  type TenantFile,
  type TenantState
} from '../tenancy/index.js'
import { SimError } from './errors.js'

export interface SimInit {
  /** Number of agents. */
  agents: number
  /**
   * Discover each other with mDNS only (no bootstrap). Off by default: sim agents bootstrap
   * from the first agent over loopback, which needs no multicast.
   *
   * @default false
   */
  mdns?: boolean
  /**
   * mDNS service tag (give each test its own).
   *
   * @default '_conclave._udp.local'
   */
  mdnsServiceTag?: string
  /**
   * Host the agents' HTTP APIs bind to.
   *
   * @default '127.0.0.1'
   */
  httpHost?: string
  /**
   * HTTP port of the first agent; the others count up from it. 0 picks free ports.
   *
   * @default 0
   */
  httpBasePort?: number
  /**
   * Settings applied to every agent (timings, connection cap, …).
   *
   * @default {}
   */
  overrides?: Partial<AgentConfig>
  /**
   * Settings of agent `i` on top of `overrides` (e.g. singletons only some agents contend for).
   *
   * @default none
   */
  overridesFor?: (index: number) => Partial<AgentConfig>
  /**
   * Roles of agent `i`.
   *
   * @default cycles tpm, senior-software-architect, coder, tester, reviewer
   */
  roles?: (index: number) => string[]
  /**
   * Folder for the agents' data dirs; a temporary one (removed on stop) when not given.
   *
   * @default a new temporary folder
   */
  dataDir?: string
  /**
   * Structured logger (each agent logs with its name).
   *
   * @default silent
   */
  logger?: Logger
  /**
   * Tenants the agents are spread over (agent `i` joins `tenants[i % n]`), each with an authority
   * made in memory that issues every agent its credential. `open` runs all agents without
   * credentials in the open `default` tenant.
   *
   * @default ['demo']
   */
  tenants?: string[] | 'open'
  /**
   * Tenants of agent `i`, when agents belong to several (overrides the spread of `tenants`).
   *
   * @default one tenant each
   */
  tenantsOf?: (index: number) => string[]
  /**
   * Tenant authorities to issue credentials from, instead of making new ones: sims in several
   * processes then form one mesh in one tenant (benchmarks' worker layout).
   *
   * @default new authorities for `tenants`
   */
  authorities?: Map<string, TenantFile>
  /**
   * Multiaddrs of running agents elsewhere (another process's sim) every agent bootstraps to,
   * instead of to this sim's first agent. As with replicas in production, every agent then joins
   * through the same peers and learns the whole mesh from them; bootstrapping to a local agent
   * too made each process's agents fill their dial caps with each other first (measured with the
   * fan-out benchmark: one process's agents formed a gossip island reached only through gossip
   * rounds, and 5% of deliveries took about a second).
   *
   * @default []
   */
  seeds?: string[]
  /**
   * Index of this sim's first agent, so names and roles continue across sims in several processes.
   *
   * @default 0
   */
  firstIndex?: number
  /** Called as agents start. */
  onAgentStarted?: (agent: Agent, index: number) => void
}

const DEMO_ROLES = ['tpm', 'senior-software-architect', 'coder', 'tester', 'reviewer']
/**
 * Sim agents share one process's CPU, so they run lighter than production agents: every
 * connection costs ~27 ms of CPU to set up here. Dial cap 6 vs 8 at N=34, three runs each: full
 * view median 8.4 s vs 15.2 s. One event loop for all agents stalls for hundreds of milliseconds
 * under load, hence the longer ping timeout. Failure detection is the production one: probe
 * rounds, heartbeats only as the backstop.
 */
export const SIM_DEFAULTS: Partial<AgentConfig> = {
  maxConnections: 6,
  pingTimeoutMs: 2_000
}
const START_CONCURRENCY = 8

/** One key for the link between two peers, whichever dials. */
function linkKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`
}

/** N agents in one process on loopback: for demos, tests and benchmarks. */
export class Sim {
  readonly agents: Agent[] = []
  /** The in-memory authority of each tenant (to rotate keys and revoke members in tests). */
  readonly authorities = new Map<string, TenantFile>()
  private readonly keyrings: TenantKeyring[][] = []
  /** Side of each agent (peer id → 0 or 1) while the network is partitioned. */
  private sides?: Map<string, number>
  /** Per agent, removes its listener that closes connections opened across the partition. */
  private readonly partitionWatch = new Map<Agent, () => void>()
  private readonly ownDataDir: boolean
  private readonly dataDir: string
  private readonly init: SimInit

  private constructor(init: SimInit, dataDir: string, ownDataDir: boolean) {
    this.init = init
    this.dataDir = dataDir
    this.ownDataDir = ownDataDir
  }

  static async start(init: SimInit): Promise<Sim> {
    const own = init.dataDir === undefined
    const dataDir = init.dataDir ?? (await mkdtemp(join(tmpdir(), 'conclave-sim-')))
    const sim = new Sim(init, dataDir, own)
    try {
      if (init.authorities !== undefined) {
        for (const [tenant, file] of init.authorities) sim.authorities.set(tenant, file)
      } else if (init.tenants !== 'open') {
        for (const tenant of init.tenants ?? ['demo']) sim.authorities.set(tenant, await createTenant(tenant))
      }
      await sim.add(init.agents)
    } catch (err) {
      await sim.stop()
      throw err
    }
    return sim
  }

  /** The config agent `index` runs with. */
  configFor(index: number, bootstrap: string[]): AgentConfig {
    const base = loadConfig({ env: {} }).config
    const httpBase = this.init.httpBasePort ?? 0
    const seeds = this.init.seeds ?? []
    index += this.init.firstIndex ?? 0
    return {
      ...base,
      name: `agent-${index}`,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      http: { host: this.init.httpHost ?? '127.0.0.1', port: httpBase === 0 ? 0 : httpBase + index },
      dataDir: join(this.dataDir, `agent-${index}`),
      bootstrap: this.init.mdns === true ? [] : seeds.length > 0 ? seeds : bootstrap,
      mdns: this.init.mdns ?? false,
      mdnsServiceTag: this.init.mdnsServiceTag ?? base.mdnsServiceTag,
      roles: this.init.roles?.(index) ?? [DEMO_ROLES[index % DEMO_ROLES.length] as string],
      logLevel: 'info',
      ...SIM_DEFAULTS,
      ...this.init.overrides,
      ...this.init.overridesFor?.(index)
    }
  }

  /** Start `count` more agents (the first one started is everyone's bootstrap peer). */
  async add(count: number): Promise<Agent[]> {
    const started: Agent[] = []
    const startOne = async (index: number): Promise<void> => {
      const seed = this.agents[0]
      const bootstrap = seed === undefined ? [] : [seed.node.getMultiaddrs()[0]?.toString() ?? '']
      const config = this.configFor(
        index,
        bootstrap.filter(a => a !== '')
      )
      const logger = (this.init.logger ?? silentLogger()).child({ agent: config.name })
      const privateKey = await loadOrCreateIdentity(config.dataDir)
      this.keyrings[index] = await this.issue(index, peerIdFromPrivateKey(privateKey).toString(), [
        ...config.roles,
        ...config.singletons
      ])
      const agent = await Agent.start(config, {
        logger,
        collectDefaultMetrics: false,
        privateKey,
        keyrings: this.keyrings[index],
        connectionGater: this.gaterFor(peerIdFromPrivateKey(privateKey).toString())
      })
      this.agents[index] = agent
      started.push(agent)
      this.init.onAgentStarted?.(agent, index)
    }
    let next = this.agents.length
    const end = next + count
    if (next === 0 && end > 0) await startOne(next++)
    while (next < end) {
      const batch: Array<Promise<void>> = []
      for (let i = 0; i < START_CONCURRENCY && next < end; i++) batch.push(startOne(next++))
      await Promise.all(batch)
    }
    return started
  }

  /** Tenants agent `index` belongs to. */
  tenantsOf(index: number): string[] {
    if (this.authorities.size === 0) return [DEFAULT_TENANT]
    if (this.init.tenantsOf !== undefined) return this.init.tenantsOf(index)
    const tenants = [...this.authorities.keys()]
    return [tenants[index % tenants.length] as string]
  }

  /** Credentials for agent `index`, issued in memory by each of its tenants' authorities. */
  private async issue(index: number, peerId: string, roles: string[]): Promise<TenantKeyring[]> {
    if (this.authorities.size === 0) return [TenantKeyring.open(DEFAULT_TENANT, peerId)]
    const rings: TenantKeyring[] = []
    for (const tenant of this.tenantsOf(index)) {
      const authority = this.authorities.get(tenant)
      if (authority === undefined) throw new SimError(`agent ${index} is given unknown tenant ${tenant}`)
      const { file, keyring } = await issueKeyring(authority, peerId, roles)
      this.authorities.set(tenant, file)
      rings.push(keyring)
    }
    return rings
  }

  /**
   * Rotate a tenant's group key, revoking `revoke`; returns the signed state, for a test to hand
   * to an agent (as an operator would through `POST /v1/tenants/:tenant/state`).
   */
  async rotate(tenant: string, revoke: string[] = []): Promise<TenantState> {
    const authority = this.authorities.get(tenant)
    if (authority === undefined) throw new SimError(`no tenant ${tenant}`)
    const { file, state } = await rotateTenant(authority, revoke)
    this.authorities.set(tenant, file)
    return state
  }

  /** Start agent `index` again after a stop or crash, with its data dir and credentials. */
  async restart(index: number): Promise<Agent> {
    const previous = this.agents[index]
    if (previous === undefined) throw new SimError(`no agent ${index}`)
    // Agents listen on port 0, so agent 0 (everyone's bootstrap) may itself have come back on a
    // new port: a restarted agent also dials a few running agents, as DNS or mDNS would give it
    // current addresses in a deployment.
    const seeds = this.running
      .filter(a => a !== previous)
      .slice(0, 3)
      .flatMap(a => a.node.getMultiaddrs().map(String))
    const config = { ...previous.config, bootstrap: [...new Set([...previous.config.bootstrap, ...seeds])] }
    const privateKey = await loadOrCreateIdentity(config.dataDir)
    const logger = (this.init.logger ?? silentLogger()).child({ agent: config.name })
    this.hung.delete(previous.peerId)
    const agent = await Agent.start(config, {
      logger,
      collectDefaultMetrics: false,
      privateKey,
      keyrings:
        this.keyrings[index] ?? (await this.issue(index, previous.peerId, [...config.roles, ...config.singletons])),
      connectionGater: this.gaterFor(previous.peerId)
    })
    this.agents[index] = agent
    return agent
  }

  /**
   * Make every dial between `a` and `b` (either way) take `delayMs` longer, as to a process too
   * busy to accept it sooner; 0 ends it. Connections already open are left alone.
   */
  slowLink(a: Agent, b: Agent, delayMs: number): void {
    if (delayMs > 0) this.slowLinks.set(linkKey(a.peerId, b.peerId), delayMs)
    else this.slowLinks.delete(linkKey(a.peerId, b.peerId))
  }

  /** Whether the partition, while there is one, separates agents `a` and `b`. */
  private isCut(a: string, b: string): boolean {
    return this.sides !== undefined && this.sides.get(a) !== this.sides.get(b)
  }

  /**
   * A gater that refuses connections across the partition, while there is one, holds dials to a
   * hung agent until they time out, and holds those over a slow link for its delay.
   */
  private gaterFor(self: string): ConnectionGater {
    const cut = (peer: PeerId): boolean => this.isCut(self, peer.toString())
    // Checked again once a connection is upgraded: a dial that was past encryption when the cut
    // was made would otherwise open a connection across it after `partition` closed the others.
    return {
      denyDialPeer: async peer => {
        if (this.hung.has(peer.toString())) return await new Promise<boolean>(() => {})
        const delayMs = this.slowLinks.get(linkKey(self, peer.toString()))
        if (delayMs !== undefined) await delay(delayMs)
        return cut(peer)
      },
      denyInboundEncryptedConnection: async peer => cut(peer),
      denyOutboundEncryptedConnection: async peer => cut(peer),
      denyInboundUpgradedConnection: async peer => cut(peer),
      denyOutboundUpgradedConnection: async peer => cut(peer)
    }
  }

  /** Cut the network between `side` and every other agent: connections close, new ones are refused. */
  async partition(side: Agent[]): Promise<void> {
    const one = new Set(side.map(a => a.peerId))
    this.sides = new Map(this.agents.map(a => [a.peerId, one.has(a.peerId) ? 1 : 0]))
    const across = (a: Agent, c: Connection): boolean => this.isCut(a.peerId, c.remotePeer.toString())
    // A connection that passed the gater just before the cut opens after it: closed as it opens.
    for (const a of this.running) {
      if (this.partitionWatch.has(a)) continue
      const watch = (evt: CustomEvent<Connection>): void => {
        if (across(a, evt.detail)) void evt.detail.close().catch(() => {})
      }
      a.node.addEventListener('connection:open', watch)
      this.partitionWatch.set(a, () => {
        a.node.removeEventListener('connection:open', watch)
      })
    }
    await Promise.allSettled(
      this.running.flatMap(a =>
        a.node
          .getConnections()
          .filter(c => across(a, c))
          .map(async c => {
            await c.close()
          })
      )
    )
  }

  /** Remove the partition; each agent dials one agent of the other side, as a retrying dialer would. */
  async heal(): Promise<void> {
    const sides = this.sides
    this.sides = undefined
    for (const unwatch of this.partitionWatch.values()) unwatch()
    this.partitionWatch.clear()
    if (sides === undefined) return
    const running = this.running
    await Promise.allSettled(
      running.map(async a => {
        const others = running.filter(b => sides.get(b.peerId) !== sides.get(a.peerId))
        const pick = others[Math.floor(Math.random() * others.length)]
        if (pick !== undefined) await a.node.dial(pick.node.getMultiaddrs())
      })
    )
  }

  /** Running agents (crashed or stopped ones are skipped). */
  get running(): Agent[] {
    return this.agents.filter(a => a !== undefined && this.stopped.has(a) === false)
  }

  private readonly stopped = new Set<Agent>()
  /** Delay of the dials between two agents (see `slowLink`), by `linkKey`. */
  private readonly slowLinks = new Map<string, number>()
  /** Peer ids of hung agents (see `hangAgent`): the gaters hold dials to them. */
  private readonly hung = new Set<string>()

  /** How many running agents see every other running agent of each of their tenants `alive`. */
  convergedCount(): number {
    const running = this.running
    return running.filter(a => {
      const alive = new Set(
        a.membership
          .peers()
          .filter(p => p.state === 'alive')
          .map(p => `${p.tenant}/${p.peerId}`)
      )
      for (const tenant of a.tenancy.tenants) {
        for (const other of running) {
          if (other !== a && other.tenancy.tenants.includes(tenant) && !alive.has(`${tenant}/${other.peerId}`)) {
            return false
          }
        }
      }
      return true
    }).length
  }

  /** Stop one agent gracefully (announces leave). */
  async stopAgent(agent: Agent): Promise<void> {
    this.stopped.add(agent)
    await agent.stop()
  }

  /**
   * Stop one agent as a host that vanished (a frozen process, a pulled cable): no leave
   * announcement, its connections close, and dials to it time out instead of being refused.
   * A restart ends it.
   */
  async hangAgent(agent: Agent): Promise<void> {
    this.hung.add(agent.peerId)
    await this.crashAgent(agent)
  }

  /** Stop one agent without a leave announcement. */
  async crashAgent(agent: Agent): Promise<void> {
    this.stopped.add(agent)
    await agent.crash()
  }

  async stop(): Promise<void> {
    await Promise.allSettled(
      this.agents
        .filter(a => a !== undefined && !this.stopped.has(a))
        .map(async a => {
          this.stopped.add(a)
          await a.stop()
        })
    )
    if (this.ownDataDir) await rm(this.dataDir, { recursive: true, force: true })
  }
}
