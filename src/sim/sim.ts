import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from '../agent/index.js'
import { loadConfig, type AgentConfig } from '../config/index.js'
import { silentLogger, type Logger } from '../logger/index.js'

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
  /** Called as agents start. */
  onAgentStarted?: (agent: Agent, index: number) => void
}

const DEMO_ROLES = ['tpm', 'senior-software-architect', 'coder', 'tester', 'reviewer']
/**
 * Sim agents share one process's CPU, so they run lighter than production agents: every
 * connection costs ~27 ms of CPU to set up here, and every heartbeat is processed by every agent.
 * Dial cap 6 vs 8 at N=34, three runs each: full view median 8.4 s vs 15.2 s.
 */
export const SIM_DEFAULTS: Partial<AgentConfig> = { maxConnections: 6, heartbeatBudget: 5, pingTimeoutMs: 2_000 }
const START_CONCURRENCY = 8

/** N agents in one process on loopback: for demos, tests and benchmarks. */
export class Sim {
  readonly agents: Agent[] = []
  private readonly ownDataDir: boolean
  private readonly dataDir: string
  private readonly init: SimInit

  private constructor (init: SimInit, dataDir: string, ownDataDir: boolean) {
    this.init = init
    this.dataDir = dataDir
    this.ownDataDir = ownDataDir
  }

  static async start (init: SimInit): Promise<Sim> {
    const own = init.dataDir === undefined
    const dataDir = init.dataDir ?? await mkdtemp(join(tmpdir(), 'conclave-sim-'))
    const sim = new Sim(init, dataDir, own)
    try {
      await sim.add(init.agents)
    } catch (err) {
      await sim.stop()
      throw err
    }
    return sim
  }

  /** The config agent `index` runs with. */
  configFor (index: number, bootstrap: string[]): AgentConfig {
    const base = loadConfig({ env: {} }).config
    const httpBase = this.init.httpBasePort ?? 0
    return {
      ...base,
      name: `agent-${index}`,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      http: { host: this.init.httpHost ?? '127.0.0.1', port: httpBase === 0 ? 0 : httpBase + index },
      dataDir: join(this.dataDir, `agent-${index}`),
      bootstrap: this.init.mdns === true ? [] : bootstrap,
      mdns: this.init.mdns ?? false,
      mdnsServiceTag: this.init.mdnsServiceTag ?? base.mdnsServiceTag,
      roles: this.init.roles?.(index) ?? [DEMO_ROLES[index % DEMO_ROLES.length] as string],
      logLevel: 'info',
      ...SIM_DEFAULTS,
      ...this.init.overrides
    }
  }

  /** Start `count` more agents (the first one started is everyone's bootstrap peer). */
  async add (count: number): Promise<Agent[]> {
    const started: Agent[] = []
    const startOne = async (index: number): Promise<void> => {
      const seed = this.agents[0]
      const bootstrap = seed === undefined ? [] : [seed.node.getMultiaddrs()[0]?.toString() ?? '']
      const config = this.configFor(index, bootstrap.filter(a => a !== ''))
      const logger = (this.init.logger ?? silentLogger()).child({ agent: config.name })
      const agent = await Agent.start(config, { logger, collectDefaultMetrics: false })
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

  /** Running agents (crashed or stopped ones are skipped). */
  get running (): Agent[] {
    return this.agents.filter(a => a !== undefined && this.stopped.has(a) === false)
  }

  private readonly stopped = new Set<Agent>()

  /** How many running agents see every other running agent `alive`. */
  convergedCount (): number {
    const running = this.running
    const ids = new Set(running.map(a => a.peerId))
    return running.filter(a => {
      const alive = new Set(a.membership.peers().filter(p => p.state === 'alive').map(p => p.peerId))
      for (const id of ids) if (id !== a.peerId && !alive.has(id)) return false
      return true
    }).length
  }

  /** Stop one agent gracefully (announces leave). */
  async stopAgent (agent: Agent): Promise<void> {
    this.stopped.add(agent)
    await agent.stop()
  }

  /** Stop one agent without a leave announcement. */
  async crashAgent (agent: Agent): Promise<void> {
    this.stopped.add(agent)
    await agent.crash()
  }

  async stop (): Promise<void> {
    await Promise.allSettled(this.agents.filter(a => a !== undefined && !this.stopped.has(a)).map(async a => {
      this.stopped.add(a)
      await a.stop()
    }))
    if (this.ownDataDir) await rm(this.dataDir, { recursive: true, force: true })
  }
}
