import { pino } from 'pino'
import type { Agent } from '../agent/index.js'
import type { Logger } from '../logger/index.js'
import type { TaskView } from '../task/index.js'
import { topicFor } from '../tenancy/index.js'
import { percentile } from '../util/stats.js'
import { Sim } from './sim.js'
import { until } from './until.js'
import { SimError } from './errors.js'

export const FEDERATION_TENANT = 'test-collaboration'
export const OTHER_TENANT = 'different-tenant'
const COLLAB_ROLES = ['researcher', 'coder', 'tester', 'reviewer']

export interface FederationInit {
  /**
   * Collaboration loops (researcher → coder → tester → reviewer) to run.
   *
   * @default 10
   */
  iterations?: number
  /**
   * HTTP port of agent-0 (the others count up); 0 picks free ports.
   *
   * @default 0
   */
  httpBasePort?: number
  /**
   * Called with a line of progress.
   *
   * @default silent
   */
  progress?: (line: string) => void
  /**
   * Also log to this logger (the scenario captures warnings and errors itself).
   *
   * @default none
   */
  logger?: Logger
  /**
   * Called with the running sim before it stops (a test inspects traffic and APIs there).
   *
   * @default none
   */
  inspect?: (sim: Sim, councils: { collaboration: string; other: string }) => Promise<void>
}

export interface FederationAgentReport {
  name: string
  tenant: string
  role: string
  peerId: string
  /** Tasks this agent ran to a result (done, as it knows them). */
  tasksCompleted: number
  /** Episodes of its tenant in its memory at the end. */
  episodes: number
}

export interface FederationReport {
  iterations: number
  /** From the first agent starting until every agent sees all its tenant peers alive. */
  discoveryMs: number
  agents: FederationAgentReport[]
  /** Distinct episodes recorded, per tenant. */
  episodesByTenant: Record<string, number>
  episodesTotal: number
  /** Episode recorded → present at every member of its tenant. */
  replication: { samples: number; p50Ms: number; p95Ms: number; maxMs: number }
  /** Anything of one tenant visible to an agent of the other (must be empty). */
  crossTenant: string[]
  /** Warnings and errors the agents logged. */
  logProblems: string[]
  /** Agents that stopped gracefully, of all. */
  shutdown: { graceful: number; of: number }
  durationMs: number
}

/** Capture warnings and errors as JSON lines (and forward them to `also`). */
function capturingLogger(lines: string[], also?: Logger): Logger {
  return pino(
    { level: 'warn' },
    {
      write(line: string) {
        lines.push(line.trim())
        if (also !== undefined) also.warn({ captured: JSON.parse(line) as unknown }, 'agent log')
      }
    }
  )
}

async function waitTask(
  agent: Agent,
  council: string,
  id: string,
  timeoutMs: number,
  peers: Agent[]
): Promise<TaskView> {
  return await until(
    () => {
      const t = agent.tasks.get(council, id)
      return t !== undefined && (t.state === 'done' || t.state === 'failed') ? t : undefined
    },
    timeoutMs,
    () =>
      `task ${id} at ${agent.config.name}: ${agent.tasks.get(council, id)?.state ?? 'unknown'}\n${taskDiagnosis(peers, council, id)}`
  )
}

/** The task and its council as each agent sees them: what a stalled chain is diagnosed from. */
function taskDiagnosis(agents: Agent[], council: string, id: string): string {
  const short = (peer: string | null | undefined): string =>
    peer === undefined || peer === null ? '-' : peer.slice(-5)
  return agents
    .map(a => {
      const v = a.councils.get(council)
      const t = a.tasks.get(council, id)
      const seen =
        v === undefined
          ? 'council unknown'
          : `${v.state}@${v.epoch} coordinator=${short(v.coordinator)} roster=[${v.roster.map(s => `${s.role}=${short(s.peerId)}`).join(',')}]`
      const topic = topicFor(v?.tenant ?? '')
      const gossip = `connected=[${a.node
        .getConnections()
        .map(c => short(c.remotePeer.toString()))
        .join(',')}] task subscribers=[${a.node.services.pubsub
        .getSubscribers(topic)
        .map(p => short(p.toString()))
        .join(',')}]`
      return `${a.config.name}(${short(a.peerId)}) ${seen}; task ${t === undefined ? 'unknown' : `${t.role} ${t.state} holder=${short(t.holder)}`}; ${gossip}`
    })
    .join('\n')
}

/** Run one chain of tasks from `first` to its end; resolves to the tasks in order. */
async function runChain(
  agent: Agent,
  council: string,
  role: string,
  input: unknown,
  peers: Agent[]
): Promise<TaskView[]> {
  const chain: TaskView[] = []
  let { taskId } = await agent.tasks.submit(council, { role, input, timeoutMs: 30_000 })
  while (true) {
    const task = await waitTask(agent, council, taskId, 35_000, peers)
    chain.push(task)
    if (task.state === 'failed') throw new SimError(`task ${task.id} (${task.role}) failed: ${task.error ?? ''}`)
    if (task.next === undefined) return chain
    taskId = task.next
  }
}

async function get(agent: Agent, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.apiToken}` } })
  return { status: res.status, text: await res.text() }
}

/** Look through every API of each agent for data of the other tenant. */
async function crossTenantProblems(sim: Sim, councils: Record<string, string>): Promise<string[]> {
  const problems: string[] = []
  for (const agent of sim.running) {
    const own = agent.tenancy.tenants[0] as string
    const foreign = own === FEDERATION_TENANT ? OTHER_TENANT : FEDERATION_TENANT
    const foreignCouncil = councils[foreign] as string
    const foreignPeers = new Set(sim.running.filter(a => a.tenancy.tenants.includes(foreign)).map(a => a.peerId))
    const name = agent.config.name
    if (agent.memory.query({ limit: 10_000 }).some(e => e.tenant !== own)) {
      problems.push(`${name}: memory holds episodes of ${foreign}`)
    }
    if (agent.councils.get(foreignCouncil) !== undefined) {
      problems.push(`${name}: knows council ${foreignCouncil} of ${foreign}`)
    }
    if (agent.membership.peers().some(p => p.tenant !== own || foreignPeers.has(p.peerId))) {
      problems.push(`${name}: membership shows members of ${foreign}`)
    }
    const memory = await get(agent, '/v1/memory?limit=10000')
    if (memory.text.includes(foreign) || [...foreignPeers].some(p => memory.text.includes(p))) {
      problems.push(`${name}: GET /v1/memory shows ${foreign} data`)
    }
    const listed = await get(agent, '/v1/councils')
    if (listed.text.includes(foreignCouncil)) problems.push(`${name}: GET /v1/councils lists ${foreignCouncil}`)
    const tasks = await get(agent, `/v1/councils/${foreignCouncil}/tasks`)
    if (tasks.status !== 404) {
      problems.push(`${name}: GET /v1/councils/${foreignCouncil}/tasks answered ${tasks.status}`)
    }
    const peers = await get(agent, '/v1/peers')
    if ([...foreignPeers].some(p => peers.text.includes(p))) {
      problems.push(`${name}: GET /v1/peers lists members of ${foreign}`)
    }
    const stats = await get(agent, '/v1/memory/stats')
    if (stats.text.includes(foreign)) problems.push(`${name}: GET /v1/memory/stats mentions ${foreign}`)
  }
  return problems
}

/**
 * The federation scenario: researcher, coder, tester and reviewer in tenant
 * `test-collaboration` run collaboration loops in one council, while one agent of
 * `different-tenant` works alone in its own. Every episode must reach every member of its
 * tenant and nothing may cross tenants. Resolves to the measured report; `federationProblems`
 * says what misses the issue's bar.
 */
export async function runFederation(init: FederationInit = {}): Promise<FederationReport> {
  const iterations = init.iterations ?? 10
  const progress = init.progress ?? (() => {})
  const lines: string[] = []
  const t0 = Date.now()
  const arrivals = new Map<string, Map<string, number>>()
  const sim = await Sim.start({
    agents: 5,
    httpBasePort: init.httpBasePort ?? 0,
    tenants: [FEDERATION_TENANT, OTHER_TENANT],
    tenantsOf: i => [i < 4 ? FEDERATION_TENANT : OTHER_TENANT],
    roles: i => [i < 4 ? (COLLAB_ROLES[i] as string) : 'researcher'],
    logger: capturingLogger(lines, init.logger),
    onAgentStarted: agent => {
      agent.memory.onEpisode(e => {
        const seen = arrivals.get(e.id) ?? new Map<string, number>()
        seen.set(agent.peerId, Date.now())
        arrivals.set(e.id, seen)
      })
    }
  })
  let stopped = false
  try {
    const agents = sim.agents
    await until(
      () => sim.convergedCount() === agents.length,
      30_000,
      () => `${sim.convergedCount()}/5 agents see their tenant peers`
    )
    const discoveryMs = Date.now() - t0
    progress(`discovery: all 5 agents see their tenant peers after ${discoveryMs} ms`)

    const collab = agents.slice(0, 4)
    const other = agents[4] as Agent
    const opener = agents[0] as Agent
    const collabCouncil = await opener.councils.open({
      project: 'federation',
      coreRoles: COLLAB_ROLES,
      tenant: FEDERATION_TENANT
    })
    const otherCouncil = await other.councils.open({
      project: 'solo-research',
      coreRoles: ['researcher'],
      tenant: OTHER_TENANT
    })
    await until(
      () =>
        collab.every(a => a.councils.get(collabCouncil)?.state === 'active') &&
        other.councils.get(otherCouncil)?.state === 'active',
      20_000,
      () =>
        `councils: ${collab.map(a => a.councils.get(collabCouncil)?.state ?? 'none').join(',')} / ${other.councils.get(otherCouncil)?.state ?? 'none'}`
    )
    progress(`councils active: ${collabCouncil} (${FEDERATION_TENANT}), ${otherCouncil} (${OTHER_TENANT})`)

    const collabLoop = (async () => {
      for (let i = 0; i < iterations; i++) {
        const chain = await runChain(opener, collabCouncil, 'researcher', { iteration: i, chain: true }, collab)
        progress(`${FEDERATION_TENANT} iteration ${i + 1}/${iterations}: ${chain.map(t => t.role).join(' → ')}`)
      }
    })()
    const otherLoop = (async () => {
      for (let i = 0; i < iterations; i++) await runChain(other, otherCouncil, 'researcher', { iteration: i }, [other])
      progress(`${OTHER_TENANT}: ${iterations} research tasks done`)
    })()
    await Promise.all([collabLoop, otherLoop])

    const expected = new Map(
      agents.map(a => [
        a.peerId,
        a.tenancy.tenants[0] === FEDERATION_TENANT ? iterations * COLLAB_ROLES.length : iterations
      ])
    )
    await until(
      () => agents.every(a => a.memory.store.count(a.tenancy.tenants[0] as string) >= (expected.get(a.peerId) ?? 0)),
      20_000,
      () =>
        `episodes: ${agents.map(a => `${a.config.name}=${a.memory.store.count(a.tenancy.tenants[0] as string)}`).join(' ')}`
    )

    const episodesByTenant: Record<string, number> = {}
    for (const tenant of [FEDERATION_TENANT, OTHER_TENANT]) {
      const holder = agents.find(a => a.tenancy.tenants.includes(tenant)) as Agent
      episodesByTenant[tenant] = holder.memory.store.count(tenant)
    }
    const latencies: number[] = []
    for (const e of opener.memory.query({ tenant: FEDERATION_TENANT, limit: 10_000 })) {
      const seen = arrivals.get(e.id)
      if (seen === undefined || seen.size < collab.length) continue
      const times = [...seen.values()]
      latencies.push(Math.max(...times) - Math.min(...times))
    }
    const report: Omit<FederationReport, 'shutdown' | 'durationMs' | 'logProblems'> = {
      iterations,
      discoveryMs,
      agents: agents.map(a => {
        const council = a === other ? otherCouncil : collabCouncil
        return {
          name: a.config.name,
          tenant: a.tenancy.tenants[0] as string,
          role: a.config.roles[0] as string,
          peerId: a.peerId,
          tasksCompleted: a.tasks.list(council).filter(t => t.state === 'done' && t.holder === a.peerId).length,
          episodes: a.memory.store.count(a.tenancy.tenants[0] as string)
        }
      }),
      episodesByTenant,
      episodesTotal: Object.values(episodesByTenant).reduce((a, b) => a + b, 0),
      replication: {
        samples: latencies.length,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        maxMs: Math.max(...latencies)
      },
      crossTenant: await crossTenantProblems(sim, { [FEDERATION_TENANT]: collabCouncil, [OTHER_TENANT]: otherCouncil })
    }
    await init.inspect?.(sim, { collaboration: collabCouncil, other: otherCouncil })
    const results = await Promise.allSettled(
      sim.running.map(async a => {
        await sim.stopAgent(a)
      })
    )
    stopped = true
    await sim.stop()
    return {
      ...report,
      logProblems: lines,
      shutdown: { graceful: results.filter(r => r.status === 'fulfilled').length, of: agents.length },
      durationMs: Date.now() - t0
    }
  } finally {
    if (!stopped) await sim.stop()
  }
}

/** What a federation report misses of the issue's bar (empty when it passes). */
export function federationProblems(r: FederationReport): string[] {
  const problems: string[] = []
  if (r.discoveryMs > 10_000) problems.push(`discovery took ${r.discoveryMs} ms (> 10 s)`)
  for (const a of r.agents) {
    if (a.tasksCompleted < 10) problems.push(`${a.name} completed ${a.tasksCompleted} tasks (< 10)`)
  }
  if (r.episodesTotal < 50) problems.push(`${r.episodesTotal} episodes in total (< 50)`)
  for (const a of r.agents) {
    const floor = a.tenant === FEDERATION_TENANT ? 40 : 10
    if (a.episodes < floor) problems.push(`${a.name} holds ${a.episodes} episodes of ${a.tenant} (< ${floor})`)
  }
  problems.push(...r.crossTenant)
  if (!(r.replication.p95Ms < 100)) problems.push(`replication p95 ${r.replication.p95Ms} ms (≥ 100 ms)`)
  problems.push(...r.logProblems.map(l => `log: ${l}`))
  if (r.shutdown.graceful !== r.shutdown.of) {
    problems.push(`${r.shutdown.of - r.shutdown.graceful} agents did not stop gracefully`)
  }
  return problems
}
